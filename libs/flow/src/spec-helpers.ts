/** Builders for hand-made NetFlow/IPFIX packets in specs. Test support only; not exported by the library. */

export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
export function ip(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}
export function cat(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

/** A flowset / set: id, length, body, padded to 4 bytes as exporters do. */
export function set(id: number, ...body: Buffer[]): Buffer {
  let b = Buffer.concat(body);
  if (b.length % 4 !== 0) b = Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
  return cat(u16(id), u16(b.length + 4), b);
}

export interface V5Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
}

export function v5(seq: number, unixSecs: number, uptime: number, flows: V5Flow[], sampling = 0): Buffer {
  const head = cat(
    u16(5),
    u16(flows.length),
    u32(uptime),
    u32(unixSecs),
    u32(0),
    u32(seq),
    u8(1),
    u8(2),
    u16(sampling),
  );
  const recs = flows.map((f) =>
    cat(
      ip(f.src),
      ip(f.dst),
      ip('0.0.0.0'),
      u16(3),
      u16(4),
      u32(f.packets),
      u32(f.bytes),
      u32(f.first),
      u32(f.last),
      u16(f.sport),
      u16(f.dport),
      u8(0),
      u8(0x12),
      u8(f.proto),
      u8(0),
      u16(0),
      u16(0),
      u8(24),
      u8(16),
      u16(0),
    ),
  );
  return cat(head, ...recs);
}

export function v9(
  seq: number,
  unixSecs: number,
  uptime: number,
  sourceId: number,
  ...sets: Buffer[]
): Buffer {
  return cat(u16(9), u16(sets.length), u32(uptime), u32(unixSecs), u32(seq), u32(sourceId), ...sets);
}

export function ipfix(seq: number, exportSecs: number, domain: number, ...sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return cat(u16(10), u16(16 + body.length), u32(exportSecs), u32(seq), u32(domain), body);
}

/** IPFIX field specifier; with a PEN the enterprise bit is set. */
export function spec(id: number, length: number, pen?: number): Buffer {
  return pen === undefined ? cat(u16(id), u16(length)) : cat(u16(id | 0x8000), u16(length), u32(pen));
}

/** IPFIX variable-length encoding (RFC 7011 §7): one length byte, or 255 + two. */
export function varlen(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return b.length < 255 ? cat(u8(b.length), b) : cat(u8(255), u16(b.length), b);
}
