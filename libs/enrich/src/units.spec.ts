import { readFileSync } from 'node:fs';
import path from 'node:path';
import { attachUnits } from './enrich';
import { parseIp } from './ip';
import { UnitRegistry } from './units';

const example = readFileSync(path.resolve(__dirname, '../../../deploy/units.example.yml'), 'utf8');

describe('UnitRegistry', () => {
  const { registry, errors } = UnitRegistry.fromYaml(example, 'units.example.yml');

  it('loads the example registry without errors', () => {
    expect(errors).toEqual([]);
    expect(registry.size).toBe(8);
  });

  it.each([
    [
      'a ward address goes to the ward, not its district',
      '10.10.1.23',
      'hoan-kiem.trang-tien',
      ['hanoi', 'hoan-kiem', 'hoan-kiem.trang-tien'],
    ],
    [
      'an address in the district outside any ward goes to the district',
      '10.10.9.9',
      'hoan-kiem',
      ['hanoi', 'hoan-kiem'],
    ],
    ['a commune in a rural district', '10.20.5.7', 'ba-vi.tan-linh', ['hanoi', 'ba-vi', 'ba-vi.tan-linh']],
    [
      'an IPv6 ward address',
      '2001:db8:10:1::42',
      'hoan-kiem.trang-tien',
      ['hanoi', 'hoan-kiem', 'hoan-kiem.trang-tien'],
    ],
    ['an IPv6 district address', '2001:db8:10:ff::1', 'hoan-kiem', ['hanoi', 'hoan-kiem']],
    ['an IPv4-mapped IPv6 address counts as IPv4', '::ffff:10.0.3.4', 'ttdl', ['hanoi', 'ttdl']],
  ])('%s', (_n, ip, id, p) => {
    const u = registry.lookup(ip);
    expect(u?.id).toBe(id);
    expect(u?.path).toEqual(p);
    // The same unit for the address as a uint32, as the flow decoder keeps it.
    if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) {
      const n = ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
      expect(registry.lookupV4(n)).toBe(u);
    }
  });

  it.each([
    ['an outside address', '203.0.113.9'],
    ['not an address', 'web-01'],
    ['nothing', undefined],
  ])('finds no unit for %s', (_n, ip) => {
    expect(registry.lookup(ip)).toBeUndefined();
  });

  it('finds no unit for an IPv4 number outside every unit or not an address', () => {
    expect(registry.lookupV4(0xcb007109)).toBeUndefined();
    expect(registry.lookupV4(-1)).toBeUndefined();
    expect(registry.lookupV4(2 ** 32)).toBeUndefined();
  });

  it('inherits criticality from the parent', () => {
    expect(registry.lookup('10.10.2.1')?.criticality).toBe('high');
    expect(registry.lookup('10.0.0.1')?.criticality).toBe('critical');
    expect(registry.lookup('10.20.5.1')?.criticality).toBe('low');
  });

  it('reports every problem and keeps the valid units', () => {
    const bad = UnitRegistry.fromYaml(
      `units:
  - { id: a, name: A, cidrs: [10.0.0.0/33, 10.9.0.0/16] }
  - { id: b, name: B, parent: missing }
  - { id: c, name: C, criticality: extreme }
  - { name: no-id }
  - { id: d, name: D, parent: e }
  - { id: e, name: E, parent: d }`,
      'bad.yml',
    );
    const messages = bad.errors.map((e) => e.message).join('\n');
    expect(messages).toMatch(/invalid CIDR 10\.0\.0\.0\/33/);
    expect(messages).toMatch(/unknown parent missing/);
    expect(messages).toMatch(/criticality must be one of/);
    expect(messages).toMatch(/id and name are required/);
    expect(messages).toMatch(/parent cycle/);
    expect(bad.registry.lookup('10.9.1.1')?.id).toBe('a');
  });
});

describe('parseIp', () => {
  it.each([
    ['10.1.2.3', 4, 0x0a010203n],
    ['::1', 6, 1n],
    ['2001:db8::', 6, 0x20010db8n << 96n],
    ['::ffff:1.2.3.4', 4, 0x01020304n],
    ['fe80::1%eth0', 6, (0xfe80n << 112n) | 1n],
  ])('%s', (ip, family, value) => {
    expect(parseIp(ip)).toEqual({ family, value });
  });
  it('rejects what is not an address', () => expect(parseIp('10.1.2')).toBeUndefined());
});

describe('attachUnits', () => {
  const { registry } = UnitRegistry.fromYaml(example, 'units.example.yml');
  it('attributes the sender, the source and the destination', () => {
    const e = attachUnits(
      {
        '@timestamp': 'x',
        event: { id: 'e', created: 'x' },
        source: { ip: '10.10.1.5' },
        destination: { ip: '10.0.0.8' },
      },
      registry,
      '10.20.5.1',
    );
    expect(e.citysoc?.unit?.id).toBe('ba-vi.tan-linh');
    expect(e.citysoc?.source_unit?.id).toBe('hoan-kiem.trang-tien');
    expect(e.citysoc?.destination_unit?.name).toBe('Trung tâm dữ liệu thành phố');
  });
});
