import { buildIncidentBundle } from './bundle';
import { type IncidentReportInput } from './minimise';
import { type PrivacyPolicy } from './policy';
import { REPORTER, alert, event, incident, reportInput } from './testing/fixtures';
import { type StixBundle } from './types';

const KEY = 'test-pseudonym-key-0123456789';

function bundleOf(input: IncidentReportInput, policy: Partial<PrivacyPolicy>): StixBundle {
  const r = buildIncidentBundle(input, policy, { reporter: REPORTER });
  if (!r.report) throw new Error('expected a bundle');
  return r.bundle;
}

/** The whole serialized bundle, as it would go on the wire. */
const wire = (b: StixBundle): string => JSON.stringify(b);

/** Everything in the fixture that is personal, internal or a raw payload. */
const SECRETS = [
  '10.20.1.15',
  '10.20.0.5',
  'web-hn-01',
  'tranthib',
  'Nguyen Van Minh',
  'minh.nv@city.example',
  'Le Thi Hoa',
  'Failed password',
  'sshd[811]',
  'grouping',
  'token=abc',
  'Pham Quoc Bao',
  '10.20.9.9',
  'Tran Van Cuong',
];

describe('privacy minimisation', () => {
  const policies: Array<[string, Partial<PrivacyPolicy>]> = [
    ['drop internal', { documentationRangesInternal: false }],
    [
      'pseudonymise internal',
      { documentationRangesInternal: false, internalAddresses: 'pseudonymise', pseudonymKey: KEY },
    ],
    ['TLP:GREEN', { documentationRangesInternal: false, tlp: 'green', pseudonymKey: KEY }],
  ];

  it.each(policies)('%s: nothing internal, personal or raw leaves', (_n, policy) => {
    const out = wire(bundleOf(reportInput(), policy));
    for (const s of SECRETS)
      expect({ secret: s, found: out.toLowerCase().includes(s.toLowerCase()) }).toEqual({
        secret: s,
        found: false,
      });
    // The public attacker addresses do leave: minimisation must not empty the report.
    expect(out).toContain('203.0.113.45');
  });

  it('drop mode leaves no trace of internal hosts; pseudonymise mode leaves stable keyed pseudonyms', () => {
    const dropped = wire(bundleOf(reportInput(), policies[0]![1]));
    expect(dropped).not.toMatch(/\b(?:int|host)-[0-9a-f]{12}\b/);
    expect(dropped).toContain('[internal address]');
    const a = wire(bundleOf(reportInput(), policies[1]![1]));
    const b = wire(bundleOf(reportInput(), policies[1]![1]));
    const other = wire(bundleOf(reportInput(), { ...policies[1]![1], pseudonymKey: `${KEY}-other` }));
    const pseudonyms = a.match(/\bint-[0-9a-f]{12}\b/g) ?? [];
    expect(pseudonyms.length).toBeGreaterThan(0);
    expect(b).toBe(a);
    for (const p of pseudonyms) expect(other).not.toContain(p);
  });

  const internal = [
    ['RFC 1918 10/8', '10.1.2.3'],
    ['RFC 1918 172.16/12', '172.16.5.4'],
    ['RFC 1918 192.168/16', '192.168.1.1'],
    ['loopback', '127.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['link-local', '169.254.1.1'],
    ['IPv6 link-local', 'fe80::1'],
    ['ULA', 'fd12:3456::1'],
    ['CGNAT', '100.64.3.2'],
    ['documentation (default policy)', '192.0.2.10'],
    ['IPv6 documentation (default policy)', '2001:db8::5'],
    ['IPv4-mapped private', '::ffff:10.9.8.7'],
    ['multicast', '239.1.1.1'],
  ] as const;

  it.each(internal)('%s address %s: never an indicator, never in any text', (_n, addr) => {
    const ev = event({
      source: { ip: addr },
      destination: { ip: '8.8.8.8' },
      host: {},
      related: {},
      citysoc: {},
    });
    const input = reportInput({
      incident: incident({ title: `Brute force from ${addr}`, entity: `source.ip:${addr}` }),
      alerts: [alert(ev)],
      form03: { summary: `Source ${addr} hit the portal; also saw 10.99.1.1 and fd00::99` },
      sigmaRules: {},
    });
    for (const policy of [{}, { internalAddresses: 'pseudonymise', pseudonymKey: KEY }] as const) {
      const b = bundleOf(input, policy);
      const out = wire(b);
      const mapped = addr.replace(/^::ffff:/, '');
      expect(out).not.toContain(mapped);
      expect(out).not.toContain('10.99.1.1');
      expect(out).not.toContain('fd00::99');
      const patterns = b.objects.filter((o) => o.type === 'indicator').map((o) => o['pattern']);
      expect(patterns).toEqual(["[ipv4-addr:value = '8.8.8.8']"]);
    }
  });

  it.each([
    ['public IPv4', '8.8.4.4', "[ipv4-addr:value = '8.8.4.4']"],
    ['public IPv6', '2606:4700::1111', "[ipv6-addr:value = '2606:4700::1111']"],
  ])('%s %s becomes an indicator', (_n, addr, pattern) => {
    const ev = event({ source: { ip: addr }, host: {}, related: {} });
    const b = bundleOf(reportInput({ alerts: [alert(ev)], sigmaRules: {} }), {});
    expect(b.objects.filter((o) => o.type === 'indicator').map((o) => o['pattern'])).toContain(pattern);
  });

  it('a public address owned by a city unit is observed but is not an indicator', () => {
    const ev = event({
      source: { ip: '8.8.4.4' },
      destination: { ip: '1.1.1.1' },
      citysoc: { destination_unit: { id: 'u1', name: 'Portal', path: ['u1'], criticality: 'medium' } },
    });
    const b = bundleOf(reportInput({ alerts: [alert(ev)], sigmaRules: {} }), {});
    const patterns = b.objects.filter((o) => o.type === 'indicator').map((o) => o['pattern']);
    expect(patterns).toEqual(["[ipv4-addr:value = '8.8.4.4']"]);
    expect(b.objects.some((o) => o.type === 'ipv4-addr' && o['value'] === '1.1.1.1')).toBe(true);
  });

  it.each([
    ['internal suffix', 'db.corp.city.local', false, false],
    ['single label', 'fileserver', false, false],
    ['own public suffix', 'portal.city.gov.vn', true, false],
    ['foreign public domain', 'evil.example.org', true, true],
  ])('domain, %s (%s): on the wire %s, indicator %s', (_n, domain, onWire, indicator) => {
    const ev = event({ destination: { ip: '8.8.8.8', domain }, host: {}, related: {} });
    const input = reportInput({
      alerts: [alert(ev)],
      sigmaRules: {},
      form03: { summary: `Lookups of ${domain}` },
    });
    const b = bundleOf(input, { ownDomainSuffixes: ['city.gov.vn'] });
    expect(wire(b).includes(domain)).toBe(onWire);
    const patterns = b.objects.filter((o) => o.type === 'indicator').map((o) => String(o['pattern']));
    expect(patterns.some((p) => p.includes(domain))).toBe(indicator);
  });

  it('user names leave only when the policy allows, personal names only when that is allowed too', () => {
    const users = wire(bundleOf(reportInput(), { documentationRangesInternal: false, allowUserNames: true }));
    expect(users).toContain('tranthib');
    expect(users).not.toContain('Nguyen Van Minh');
    expect(users).not.toContain('Le Thi Hoa');
    expect(users).not.toContain('minh.nv@city.example');
    const authors = wire(
      bundleOf(reportInput(), { documentationRangesInternal: false, allowPersonalNames: true }),
    );
    expect(authors).toContain('Nguyen Van Minh');
    expect(authors).not.toContain('tranthib');
  });

  it('unit names are replaced by pseudonyms at TLP:GREEN', () => {
    const amber = wire(bundleOf(reportInput(), { documentationRangesInternal: false }));
    const green = wire(
      bundleOf(reportInput(), { documentationRangesInternal: false, tlp: 'green', pseudonymKey: KEY }),
    );
    expect(amber).toContain('Department of Finance');
    expect(green).not.toContain('Department of Finance');
    expect(green).toMatch(/"name":"unit-[0-9a-f]{8}"/);
  });

  it('refuses to pseudonymise without a configured key', () => {
    expect(() => bundleOf(reportInput(), { internalAddresses: 'pseudonymise' })).toThrow(/pseudonymKey/);
  });
});
