import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CidrSet, parseFormat, SilenceWatch, SourceRegistry, TokenBucket } from './policy';

const defaults = { timezone: 'Asia/Ho_Chi_Minh', silentAfterMs: 900_000 };

describe('CidrSet', () => {
  const { set, errors } = CidrSet.parse(['10.1.0.0/16', '192.0.2.7', '2001:db8::/32', '::1/128']);

  it('parses IPv4 and IPv6 entries', () => expect(errors).toEqual([]));

  it.each([
    ['10.1.200.3', true],
    ['10.2.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::ffff:10.1.0.9', true], // an IPv4 sender on a dual-stack socket
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['not an ip', false],
  ])('%s → %s', (ip, expected) => expect(set.has(ip)).toBe(expected));

  it('lets everyone in when empty, and reports bad entries', () => {
    expect(CidrSet.ANY.has('203.0.113.1')).toBe(true);
    expect(CidrSet.parse(['10.0.0.0/33', 'host.example', '1.2.3.4/8']).errors).toHaveLength(2);
  });
});

describe('parseFormat', () => {
  it.each([
    ['auto', 'auto'],
    ['rfc5424', 'envelope'],
    ['rfc3164', 'envelope'],
    ['cef', 'decoder'],
    ['cisco_asa', 'decoder'],
  ])('%s is a %s pin', (name, kind) => expect(parseFormat(name)?.kind).toBe(kind));
  it('refuses unknown names', () => expect(parseFormat('json')).toBeUndefined());
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate (UDP drops the rest)', () => {
    const b = new TokenBucket({ perSecond: 10, burst: 3 }, 0);
    expect([1, 2, 3, 4].map(() => b.tryTake(0))).toEqual([true, true, true, false]);
    expect(b.tryTake(50)).toBe(false); // half a token
    expect(b.tryTake(100)).toBe(true);
    expect(b.tryTake(100)).toBe(false);
  });

  it('runs into debt for TCP and says how long to pause', () => {
    const b = new TokenBucket({ perSecond: 100, burst: 10 }, 0);
    expect(b.take(10, 0)).toBe(true);
    expect(b.take(40, 0)).toBe(false);
    expect(b.waitMs(0)).toBe(400);
    expect(b.waitMs(400)).toBe(0);
    expect(b.take(1, 1000)).toBe(true);
  });
});

describe('SourceRegistry', () => {
  const yaml = `
sources:
  - name: dc-core
    cidrs: [10.0.0.0/8]
    rate_limit: { per_second: 500, burst: 1000 }
  - name: hk-fw1
    cidrs: [10.10.0.1, 2001:db8::1]
    timezone: Europe/Berlin
    format: cisco_asa
    silent_after_seconds: 60
  - name: unlimited
    cidrs: [10.20.0.0/16]
    rate_limit: null
`;
  const { registry, errors } = SourceRegistry.fromYaml(yaml, 'sources.yml', {
    ...defaults,
    rateLimit: { perSecond: 50, burst: 100 },
  });

  it('loads without errors', () => expect(errors).toEqual([]));

  it('picks the most specific entry, and defaults for unknown senders', () => {
    expect(registry.lookup('10.10.0.1')).toMatchObject({
      name: 'hk-fw1',
      registered: true,
      timezone: 'Europe/Berlin',
      silentAfterMs: 60_000,
      format: { kind: 'decoder' },
      rateLimit: { perSecond: 50, burst: 100 },
    });
    expect(registry.lookup('2001:db8::1').name).toBe('hk-fw1');
    expect(registry.lookup('10.9.9.9')).toMatchObject({
      name: 'dc-core',
      timezone: 'Asia/Ho_Chi_Minh',
      rateLimit: { perSecond: 500, burst: 1000 },
    });
    expect(registry.lookup('10.20.1.1').rateLimit).toBeUndefined();
    expect(registry.lookup('198.51.100.4')).toMatchObject({
      name: '198.51.100.4',
      registered: false,
      timezone: 'Asia/Ho_Chi_Minh',
    });
  });

  it('reports every problem of a bad file', () => {
    const bad = `
sources:
  - name: a
    cidrs: [10.0.0.0/40]
    timezone: Mars/Olympus
    format: xml
    rate_limit: { per_second: 0 }
    silent_after_seconds: -1
    colour: red
  - name: a
    cidrs: []
  - cidrs: [10.0.0.1]
`;
    const r = SourceRegistry.fromYaml(bad, 'bad.yml', defaults);
    const text = r.errors.join('\n');
    for (const expected of [
      '10.0.0.0/40',
      'timezone',
      'format',
      'rate_limit',
      'silent_after_seconds',
      'unknown key colour',
      'duplicate name a',
      'cidrs must list',
      'name must match',
    ])
      expect(text).toContain(expected);
    expect(SourceRegistry.fromYaml('nope: 1', 'x.yml', defaults).errors[0]).toContain('sources:');
  });
});

describe('SilenceWatch', () => {
  const quiet = { name: 'quiet', registered: true, timezone: 'UTC', silentAfterMs: 1000 };
  const never = { name: 'never', registered: true, timezone: 'UTC', silentAfterMs: 0 };

  it('reports a registered source silent once, and its return', () => {
    const w = new SilenceWatch([quiet, never], 0);
    expect(w.check(999)).toEqual([]);
    expect(w.check(1000).map((s) => s.policy.name)).toEqual(['quiet']);
    expect(w.check(5000)).toEqual([]); // once per silence
    expect(w.silentNames).toEqual(['quiet']);
    expect(w.seen(quiet, 6000)).toBe(true);
    expect(w.silentNames).toEqual([]);
    expect(w.check(6500)).toEqual([]);
    expect(w.check(7000)).toHaveLength(1);
  });

  it('watches an unregistered sender only once heard, within a bound', () => {
    const w = new SilenceWatch([], 0, 1);
    const a = { name: '192.0.2.1', registered: false, timezone: 'UTC', silentAfterMs: 100 };
    const b = { ...a, name: '192.0.2.2' };
    expect(w.check(10_000)).toEqual([]);
    w.seen(a, 10_000);
    w.seen(b, 10_000);
    expect(w.trackedNames).toEqual(['192.0.2.1']);
    expect(w.check(10_100)).toHaveLength(1);
  });
});

describe('deploy/sources.example.yml', () => {
  it('is a valid source registry', () => {
    const file = path.resolve(__dirname, '../../../../../deploy/sources.example.yml');
    const { registry, errors } = SourceRegistry.fromYaml(readFileSync(file, 'utf8'), file, defaults);
    expect(errors).toEqual([]);
    expect(registry.registered.length).toBeGreaterThan(0);
  });
});
