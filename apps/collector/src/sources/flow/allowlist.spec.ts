import { ExporterAllowlist, exporterAddress } from './allowlist';

describe('exporter allowlist', () => {
  const list = new ExporterAllowlist(['10.20.0.0/16', '192.0.2.7', '2001:db8:1::/48']);

  it.each([
    ['10.20.3.4', true],
    ['::ffff:10.20.3.4', true],
    ['10.21.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['2001:db8:1:ffff::1', true],
    ['2001:db8:2::1', false],
    ['not an address', false],
  ])('%s → %s', (addr, ok) => {
    expect(list.allows(addr)).toBe(ok);
  });

  it('admits everyone when empty', () => {
    const open = new ExporterAllowlist([]);
    expect(open.open).toBe(true);
    expect(open.allows('203.0.113.1')).toBe(true);
  });

  it('rejects a malformed CIDR at construction', () => {
    expect(() => new ExporterAllowlist(['10.0.0.0/33'])).toThrow(/not a CIDR/);
  });

  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['FE80::1%eth0', 'fe80::1'],
    ['2001:db8::1', '2001:db8::1'],
  ])('normalises %s to %s', (a, b) => {
    expect(exporterAddress(a)).toBe(b);
  });
});
