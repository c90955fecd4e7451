import { categoryFromTags } from './categorize';
import { iocsFromIndicator } from './iocs';
import { type StixObject } from './types';

const ind = (pattern: string, over: Partial<StixObject> = {}): StixObject => ({
  type: 'indicator',
  id: 'indicator--00000000-0000-4000-8000-000000000001',
  pattern_type: 'stix',
  pattern,
  ...over,
});

describe('IOCs from national indicators', () => {
  it.each([
    ["[ipv4-addr:value = '185.220.101.4']", [['ipv4-addr', '185.220.101.4']], 0],
    ["[ipv6-addr:value = '2a00:1450:4001::200E']", [['ipv6-addr', '2a00:1450:4001::200e']], 0],
    ["[domain-name:value = 'Evil.Example.COM']", [['domain-name', 'evil.example.com']], 0],
    [
      "[file:hashes.'SHA-256' = '" + 'AB'.repeat(32) + "' OR file:hashes.MD5 = '" + 'cd'.repeat(16) + "']",
      [
        ['sha256', 'ab'.repeat(32)],
        ['md5', 'cd'.repeat(16)],
      ],
      0,
    ],
    ["[ipv4-addr:value = '10.1.2.3']", [], 1],
    ["[ipv4-addr:value = '198.51.100.0/24']", [], 1],
    ["[url:value MATCHES '^https://x']", [], 1],
    ['[network-traffic:dst_port = 22]', [], 1],
  ] as const)('%s', (pattern, expected, skipped) => {
    const r = iocsFromIndicator(ind(pattern), '2026-11-27T00:00:00.000Z');
    expect(r.iocs.map((i) => [i.type, i.value])).toEqual(expected);
    expect(r.skipped).toBe(skipped);
  });

  it('ignores expired, revoked and non-STIX indicators', () => {
    const now = '2026-11-27T00:00:00.000Z';
    const p = "[ipv4-addr:value = '185.220.101.4']";
    expect(iocsFromIndicator(ind(p, { valid_until: '2026-11-26T00:00:00Z' }), now).iocs).toEqual([]);
    expect(iocsFromIndicator(ind(p, { revoked: true }), now).iocs).toEqual([]);
    expect(iocsFromIndicator(ind('title: x', { pattern_type: 'sigma' }), now).iocs).toEqual([]);
    expect(iocsFromIndicator(ind(p, { valid_until: '2027-01-01T00:00:00Z' }), now).iocs[0]?.validUntil).toBe(
      '2027-01-01T00:00:00.000Z',
    );
  });
});

describe('RSIT category from Sigma tags', () => {
  it.each([
    [['attack.credential-access', 'attack.t1110'], 'intrusion-attempts:brute-force'],
    [['attack.t1110.001'], 'intrusion-attempts:brute-force'],
    [['attack.t1078.003'], 'intrusions:unprivileged-account-compromise'],
    [['attack.t1136.001'], 'intrusions:system-compromise'],
    [['attack.t1566.002'], 'fraud:phishing'],
    [['rsit.availability.ddos', 'attack.t1110'], 'availability:ddos'],
    [['rsit.availability.nonsense'], 'other:undetermined'],
    [['attack.persistence'], 'other:undetermined'],
    [[], 'other:undetermined'],
  ])('%j → %s', (tags, cat) => {
    expect(categoryFromTags(tags)).toBe(cat);
  });
});
