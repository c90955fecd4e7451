import { decodeDatagram } from './decode';
import { dataOnlyDomain } from './route';
import { cat, ip, ipfix, set, spec, u16, u32, u8, v5 } from './spec-helpers';
import { MemoryTemplateCache } from './templates';

const EXP = '192.0.2.1';
const ctx = { exporter: EXP, receivedAt: new Date('2026-11-27T12:00:00Z') };
const tpl = set(2, u16(256), u16(3), spec(8, 4), spec(12, 4), spec(4, 1));
const optTpl = set(3, u16(257), u16(2), u16(1), spec(149, 4), spec(34, 4));
const rec = cat(ip('10.0.0.1'), ip('10.0.0.2'), u8(6));

describe('dataOnlyDomain', () => {
  it('sends template sets, unknown templates and options data to the authoritative cache', () => {
    const cache = new MemoryTemplateCache();
    expect(dataOnlyDomain(ipfix(1, 1, 7, tpl), EXP, cache)).toBeUndefined();
    expect(dataOnlyDomain(ipfix(1, 1, 7, set(256, rec)), EXP, cache)).toBeUndefined();
    decodeDatagram(ipfix(1, 1, 7, tpl, optTpl), ctx, cache);
    expect(dataOnlyDomain(ipfix(2, 1, 7, set(256, rec, rec)), EXP, cache)).toBe(7);
    // Another exporter or domain has no such template.
    expect(dataOnlyDomain(ipfix(2, 1, 7, set(256, rec)), '192.0.2.2', cache)).toBeUndefined();
    expect(dataOnlyDomain(ipfix(2, 1, 8, set(256, rec)), EXP, cache)).toBeUndefined();
    expect(dataOnlyDomain(ipfix(2, 1, 7, set(257, u32(7), u32(100))), EXP, cache)).toBeUndefined();
    expect(dataOnlyDomain(ipfix(2, 1, 7, set(256, rec), tpl), EXP, cache)).toBeUndefined();
  });

  it('refuses what is not framed exactly (truncated, glued, bad set length)', () => {
    const cache = new MemoryTemplateCache();
    decodeDatagram(ipfix(1, 1, 7, tpl), ctx, cache);
    const ok = ipfix(2, 1, 7, set(256, rec));
    expect(dataOnlyDomain(ok.subarray(0, ok.length - 1), EXP, cache)).toBeUndefined();
    expect(dataOnlyDomain(Buffer.concat([ok, ok]), EXP, cache)).toBeUndefined();
    const bad = Buffer.from(ok);
    bad.writeUInt16BE(200, 18);
    expect(dataOnlyDomain(bad, EXP, cache)).toBeUndefined();
    expect(dataOnlyDomain(Buffer.alloc(3), EXP, cache)).toBeUndefined();
  });

  it('takes a whole NetFlow v5 message and gives its engine as domain', () => {
    const flow = {
      src: '10.0.0.1',
      dst: '10.0.0.2',
      sport: 1,
      dport: 2,
      proto: 6,
      packets: 1,
      bytes: 1,
      first: 0,
      last: 0,
    };
    const d = v5(1, 1, 1, [flow, flow]);
    d.writeUInt8(3, 20);
    d.writeUInt8(4, 21);
    expect(dataOnlyDomain(d, EXP, new MemoryTemplateCache())).toBe((3 << 8) | 4);
    expect(dataOnlyDomain(d.subarray(0, d.length - 1), EXP, new MemoryTemplateCache())).toBeUndefined();
  });
});
