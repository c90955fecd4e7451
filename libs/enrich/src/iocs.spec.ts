import { IocSet, markIocs } from './iocs';

const set = new IocSet([
  { type: 'ipv4-addr', value: '185.220.101.4', source: 'national:c', indicator_id: 'indicator--1' },
  { type: 'ipv6-addr', value: '2A00:1450:4001:0::200e', source: 'national:c', indicator_id: 'indicator--2' },
  { type: 'domain-name', value: 'evil.example.com.', source: 'national:c', indicator_id: 'indicator--3' },
  { type: 'sha256', value: 'AB'.repeat(32), source: 'national:c', indicator_id: 'indicator--4' },
]);

describe('IocSet', () => {
  it.each([
    ['185.220.101.4', 'indicator--1'],
    ['::ffff:185.220.101.4', 'indicator--1'],
    ['2a00:1450:4001::200E', 'indicator--2'],
    ['185.220.101.5', undefined],
    ['not an ip', undefined],
  ])('ip %s → %s', (ip, id) => {
    expect(set.ip(ip)?.indicator_id).toBe(id);
  });

  it('matches a domain and its subdomains, not a parent or a look-alike', () => {
    expect(set.domain('evil.example.com')?.indicator_id).toBe('indicator--3');
    expect(set.domain('a.b.Evil.Example.com')?.indicator_id).toBe('indicator--3');
    expect(set.domain('example.com')).toBeUndefined();
    expect(set.domain('notevil.example.com')).toBeUndefined();
  });

  it('matches hashes by length and marks event sides', () => {
    expect(set.hash('ab'.repeat(32))?.indicator_id).toBe('indicator--4');
    expect(set.hash('ab'.repeat(20))).toBeUndefined();
    expect(
      set.matchEvent({
        source: { ip: '10.0.0.1' },
        destination: { ip: '185.220.101.4', domain: 'x.evil.example.com' },
      }),
    ).toEqual([
      { field: 'destination.ip', value: '185.220.101.4', source: 'national:c', indicator_id: 'indicator--1' },
      {
        field: 'destination.domain',
        value: 'x.evil.example.com',
        source: 'national:c',
        indicator_id: 'indicator--3',
      },
    ]);
    expect(set.size).toBe(4);
  });
});

describe('markIocs', () => {
  const set = new IocSet([
    { type: 'ipv4-addr', value: '198.51.100.7', source: 'national:c1', indicator_id: 'indicator--a' },
  ]);

  it('adds ECS threat.enrichments and citysoc.ioc, keeping what the event had', () => {
    const e = {
      source: { ip: '10.0.0.1' },
      destination: { ip: '198.51.100.7' },
      threat: { framework: 'MITRE ATT&CK' },
      citysoc: { parser: 'rfc5424' },
    };
    expect(markIocs(e, set)).toHaveLength(1);
    expect(e).toMatchObject({
      threat: {
        framework: 'MITRE ATT&CK',
        enrichments: [
          {
            matched: { atomic: '198.51.100.7', field: 'destination.ip', type: 'indicator_match_rule' },
            indicator: { provider: 'national:c1', reference: 'indicator--a' },
          },
        ],
      },
      citysoc: {
        parser: 'rfc5424',
        ioc: { matched: true, fields: ['destination.ip'], indicators: ['indicator--a'] },
      },
    });
  });

  it('leaves an event without a hit untouched', () => {
    const e = { source: { ip: '10.0.0.1' } };
    expect(markIocs(e, set)).toEqual([]);
    expect(e).toEqual({ source: { ip: '10.0.0.1' } });
  });
});
