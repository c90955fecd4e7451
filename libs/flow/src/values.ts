/** Byte → value conversions shared by every decoder. Buffers are read in network byte order. */

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

const DEC: string[] = [];
for (let i = 0; i < 256; i++) DEC.push(String(i));

const TWO_32 = 4294967296;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970), for IPFIX micro/nanosecond times. */
const NTP_UNIX_OFFSET = 2208988800;

/** Big-endian 16/32-bit reads for offsets the caller has bounds-checked (Buffer#readUInt*BE checks again). */
export function u16(buf: Buffer, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function u32(buf: Buffer, off: number): number {
  return buf[off]! * 16777216 + ((buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!);
}

export function ipv4(buf: Buffer, off: number): string {
  return `${DEC[buf[off]!]}.${DEC[buf[off + 1]!]}.${DEC[buf[off + 2]!]}.${DEC[buf[off + 3]!]}`;
}

/** Dotted quad of an IPv4 address held as a uint32 (`DecodeContext.numericAddresses`). */
export function ipv4Text(n: number): string {
  return `${DEC[n >>> 24]!}.${DEC[(n >>> 16) & 0xff]!}.${DEC[(n >>> 8) & 0xff]!}.${DEC[n & 0xff]!}`;
}

/** A 6-byte MAC address as one number (48 bits: exact in a double), for `numericAddresses`. */
export function macNum(buf: Buffer, off: number): number {
  return ((buf[off]! << 8) | buf[off + 1]!) * TWO_32 + u32(buf, off + 2);
}

/** `mac`'s text (`00:50:56:91:56:86`) of a MAC held as a number (`macNum`). */
export function macText(n: number): string {
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  return `${HEX[hi >>> 8]!}:${HEX[hi & 0xff]!}:${HEX[lo >>> 24]!}:${HEX[(lo >>> 16) & 0xff]!}:${HEX[(lo >>> 8) & 0xff]!}:${HEX[lo & 0xff]!}`;
}

const HEX_UPPER: string[] = HEX.map((h) => h.toUpperCase());

/** ECS form of a MAC held as a number: upper case with dashes (`00-50-56-91-56-86`). */
export function macEcs(n: number): string {
  const hi = Math.floor(n / TWO_32);
  const lo = n - hi * TWO_32;
  return `${HEX_UPPER[hi >>> 8]!}-${HEX_UPPER[hi & 0xff]!}-${HEX_UPPER[lo >>> 24]!}-${HEX_UPPER[(lo >>> 16) & 0xff]!}-${HEX_UPPER[(lo >>> 8) & 0xff]!}-${HEX_UPPER[lo & 0xff]!}`;
}

/** RFC 5952 text form: lower case, longest run of two or more zero groups compressed. */
export function ipv6(buf: Buffer, off: number): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = buf.readUInt16BE(off + i * 2);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4(buf, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16));
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

export function mac(buf: Buffer, off: number): string {
  return `${HEX[buf[off]!]}:${HEX[buf[off + 1]!]}:${HEX[buf[off + 2]!]}:${HEX[buf[off + 3]!]}:${HEX[buf[off + 4]!]}:${HEX[buf[off + 5]!]}`;
}

export function hex(buf: Buffer, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += HEX[buf[off + i]!];
  return s;
}

/** Big-endian unsigned of any length up to 8 bytes (reduced-size encoding, RFC 7011 §6.2). */
export function uint(buf: Buffer, off: number, len: number): number {
  switch (len) {
    case 1:
      return buf[off]!;
    case 2:
      return buf.readUInt16BE(off);
    case 4:
      return buf.readUInt32BE(off);
    case 8:
      // Counters above 2^53 lose precision; no exporter in practice reaches that in a delta.
      return buf.readUInt32BE(off) * TWO_32 + buf.readUInt32BE(off + 4);
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + buf[off + i]!;
      return v;
    }
  }
}

export function int(buf: Buffer, off: number, len: number): number {
  if (len <= 6) return buf.readIntBE(off, len);
  return Number(buf.readBigInt64BE(off));
}

/** Text value: UTF-8 with the NUL padding that fixed-length exporters add removed. */
export function text(buf: Buffer, off: number, len: number): string {
  let end = off + len;
  while (end > off && buf[end - 1] === 0) end--;
  return buf.toString('utf8', off, end);
}

/** Unknown element: what a human reading the exporter's documentation would most likely expect. */
export function auto(buf: Buffer, off: number, len: number): number | string {
  if (len <= 8 && len > 0) return uint(buf, off, len);
  let printable = len > 0;
  let end = off + len;
  while (end > off && buf[end - 1] === 0) end--;
  for (let i = off; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c === 0x7f) {
      printable = false;
      break;
    }
  }
  return printable ? buf.toString('utf8', off, end) : hex(buf, off, len);
}

export function acl(buf: Buffer, off: number, len: number): string {
  if (len !== 12) return hex(buf, off, len);
  return `${hex(buf, off, 4)}-${hex(buf, off + 4, 4)}-${hex(buf, off + 8, 4)}`;
}

/** RFC 7011 §6.1.9/10: NTP timestamp → epoch ms (sub-ms precision dropped). */
export function ntpMs(buf: Buffer, off: number): number {
  const sec = buf.readUInt32BE(off);
  const frac = buf.readUInt32BE(off + 4);
  return (sec - NTP_UNIX_OFFSET) * 1000 + Math.floor((frac / TWO_32) * 1000);
}

const PAD2: string[] = [];
for (let i = 0; i < 100; i++) PAD2.push(String(i).padStart(2, '0'));
const MS3: string[] = [];
for (let i = 0; i < 1000; i++) MS3.push(String(i).padStart(3, '0'));

/**
 * Epoch ms → ISO 8601 UTC with milliseconds, as Date#toISOString but without a Date per call (it ran
 * several times per flow and dominated the ECS mapping). Civil-from-days after H. Hinnant; years outside
 * 0000-9999 fall back to Date.
 */
export function isoTime(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  // A flow carries several times (export, start, end, received) that mostly share their second with the
  // previous flow's: the "YYYY-MM-DDTHH:MM:SS." prefix is remembered per second in a few direct-mapped slots.
  if (Number.isInteger(ms)) {
    const sec = Math.floor(ms / 1000);
    const slot = sec & 7;
    if (ISO_SEC[slot] === sec) return `${ISO_PREFIX[slot]}${MS3[ms - sec * 1000]}Z`;
    const full = isoTimeSlow(ms);
    if (full.length === 24) {
      ISO_SEC[slot] = sec;
      ISO_PREFIX[slot] = full.slice(0, 20);
    }
    return full;
  }
  return isoTimeSlow(ms);
}

const ISO_SEC = new Float64Array(8).fill(NaN);
const ISO_PREFIX: string[] = new Array<string>(8).fill('');

function isoTimeSlow(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rem = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) {
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
  }
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const min = Math.floor(rem / 60_000);
  rem -= min * 60_000;
  const sec = Math.floor(rem / 1000);
  const milli = Math.floor(rem - sec * 1000);
  return `${y < 1000 ? String(y).padStart(4, '0') : y}-${PAD2[m]}-${PAD2[d]}T${PAD2[h]}:${PAD2[min]}:${PAD2[sec]}.${MS3[milli]}Z`;
}
