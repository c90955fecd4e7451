/**
 * TCP/TLS stream framing (RFC 6587): octet counting (`MSG-LEN SP SYSLOG-MSG`) and non-transparent framing
 * (LF, CRLF or NUL trailer), decided per frame from its first bytes and remembered per connection.
 */

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

export interface FrameError {
  code: 'frame_too_large' | 'invalid_octet_count' | 'truncated';
  reason: string;
  /** The offending bytes, at most maxFrameBytes of them (plus the octet-count header). */
  raw: Buffer;
}

export interface FramerOptions {
  maxFrameBytes: number;
  /**
   * Some senders (syslog-ng's loggen, a few appliances) omit the trailer and rely on TCP segment boundaries,
   * which the stream does not keep. When true (the default), a non-transparent frame also ends where a new
   * syslog header (`<PRI>` followed by an RFC 5424 version, a BSD month or an ISO date) begins.
   */
  splitOnHeader?: boolean;
}

export interface FramerOutput {
  frames: Buffer[];
  errors: FrameError[];
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
const LT = 0x3c;
const GT = 0x3e;

const MODE_UNKNOWN = 0;
const MODE_LF = 1;
const MODE_OCTET = 2;

// octetHeader() results; a value >= 0 is the index where the counted bytes start.
const NEED_MORE = -1;
const NOT_OCTET = -2;
const INVALID_COUNT = -3;
const TRUNCATED = -4;

/** The largest count we parse; more digits than this cannot be a frame length any receiver accepts. */
const MAX_COUNT_DIGITS = 9;

const MONTH_KEYS = new Set(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map(
    (m) => (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
  ),
);

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

/**
 * Whether a syslog header starts at `c` (a `<`): 1 yes, 0 no, -1 cannot tell before more bytes arrive.
 * Deliberately narrow so that a `<` inside ordinary message text is almost never taken for a new message.
 */
function headerAt(buf: Buffer, c: number, len: number): number {
  let i = c + 1;
  let pri = 0;
  while (i < len && isDigit(buf[i]) && i - c <= 4) {
    pri = pri * 10 + (buf[i]! - 0x30);
    i++;
  }
  if (i >= len) return -1;
  const nd = i - c - 1;
  if (nd === 0 || nd > 3 || buf[i] !== GT || pri > 191 || (nd > 1 && buf[c + 1] === 0x30)) return 0;
  i++;
  if (i >= len) return -1;
  const b = buf[i]!;
  if (isDigit(b)) {
    let j = i;
    while (j < len && isDigit(buf[j]) && j - i < 5) j++;
    if (j >= len) return -1;
    const nv = j - i;
    if (nv <= 3 && buf[j] === SP && b !== 0x30) {
      if (j + 1 >= len) return -1;
      const x = buf[j + 1]!;
      return x === 0x2d || isDigit(x) ? 1 : 0;
    }
    if (nv === 4 && buf[j] === 0x2d) {
      if (j + 6 >= len) return -1;
      const sep = buf[j + 6]!;
      return isDigit(buf[j + 1]) &&
        isDigit(buf[j + 2]) &&
        buf[j + 3] === 0x2d &&
        isDigit(buf[j + 4]) &&
        isDigit(buf[j + 5]) &&
        (sep === 0x54 || sep === SP)
        ? 1
        : 0;
    }
    return 0;
  }
  if (i + 3 >= len) return -1;
  const key = ((b | 0x20) << 16) | ((buf[i + 1]! | 0x20) << 8) | (buf[i + 2]! | 0x20);
  return MONTH_KEYS.has(key) && buf[i + 3] === SP ? 1 : 0;
}

export class SyslogFramer {
  private readonly max: number;
  private readonly splitOnHeader: boolean;
  private mode = MODE_UNKNOWN;

  // Bytes not yet framed, in a growable buffer: [head, tail) of store.
  private store: Buffer = Buffer.alloc(0);
  private head = 0;
  private tail = 0;
  // How far past the pending frame's first byte we already know there is no trailer / no header start, so
  // a frame arriving one byte at a time is scanned once, not once per byte.
  private termScanned = 0;
  private headScanned = 0;

  // Next known position of LF, NUL and '<' in the buffer being processed (absolute index; len = none).
  private nextLf = -1;
  private nextNul = -1;
  private nextLt = -1;

  /** Bytes of an oversized octet-counted frame still to be dropped. */
  private skip = 0;
  /** Dropping up to the next trailer (LF frame over the limit, or resync after an invalid count). */
  private dropping = false;
  /** Error reported once the drop ends, collecting its raw bytes meanwhile; null when already reported. */
  private dropError: FrameError | null = null;
  private dropParts: Buffer[] = [];
  private dropSize = 0;
  private count = 0;

  constructor(opts: Partial<FramerOptions> = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${max}`);
    this.max = max;
    this.splitOnHeader = opts.splitOnHeader ?? true;
  }

  /**
   * Feeds bytes read from the connection. Returned frames exclude the trailer; they may share memory with
   * `chunk`, which must therefore not be reused by the caller afterwards.
   */
  push(chunk: Buffer): FramerOutput {
    const out: FramerOutput = { frames: [], errors: [] };
    if (chunk.length === 0) return out;
    if (this.tail === this.head) {
      const pos = this.process(chunk, 0, chunk.length, false, out, false);
      if (pos < chunk.length) this.keep(chunk, pos);
    } else {
      this.append(chunk);
      const pos = this.process(this.store, this.head, this.tail, true, out, false);
      this.consumeTo(pos);
    }
    return out;
  }

  /** The connection closed: flush what is left (an unterminated line is a frame; a partial count is not). */
  end(): FramerOutput {
    const out: FramerOutput = { frames: [], errors: [] };
    if (this.tail > this.head) this.process(this.store, this.head, this.tail, true, out, true);
    if (this.skip > 0 || this.dropping) this.finishDrop(out);
    this.skip = 0;
    this.dropping = false;
    this.head = this.tail = 0;
    this.termScanned = this.headScanned = 0;
    this.mode = MODE_UNKNOWN;
    return out;
  }

  private consumeTo(pos: number): void {
    this.head = pos;
    if (pos >= this.tail) this.head = this.tail = 0;
  }

  private keep(chunk: Buffer, pos: number): void {
    const n = chunk.length - pos;
    if (this.store.length < n) this.store = Buffer.allocUnsafe(Math.max(n * 2, 4096));
    chunk.copy(this.store, 0, pos);
    this.head = 0;
    this.tail = n;
  }

  private append(chunk: Buffer): void {
    const pending = this.tail - this.head;
    const need = pending + chunk.length;
    if (this.store.length - this.tail < chunk.length) {
      if (this.store.length >= need && this.head > 0) {
        this.store.copy(this.store, 0, this.head, this.tail);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(need * 2, 4096));
        this.store.copy(grown, 0, this.head, this.tail);
        this.store = grown;
      }
      this.head = 0;
      this.tail = pending;
    }
    chunk.copy(this.store, this.tail);
    this.tail += chunk.length;
  }

  private emit(view: Buffer, a: number, b: number, copy: boolean, out: FramerOutput): void {
    out.frames.push(copy ? Buffer.from(view.subarray(a, b)) : view.subarray(a, b));
  }

  private collect(view: Buffer, a: number, b: number): void {
    if (this.dropError === null) return;
    const take = Math.min(b - a, this.max - this.dropSize + 16);
    if (take <= 0) return;
    this.dropParts.push(Buffer.from(view.subarray(a, a + take)));
    this.dropSize += take;
  }

  private startDrop(error: FrameError | null): void {
    this.dropError = error;
    this.dropParts = [];
    this.dropSize = 0;
  }

  private finishDrop(out: FramerOutput): void {
    if (this.dropError !== null) {
      this.dropError.raw = Buffer.concat(this.dropParts);
      out.errors.push(this.dropError);
    }
    this.dropError = null;
    this.dropParts = [];
    this.dropSize = 0;
  }

  private findTerm(view: Buffer, from: number, len: number): number {
    if (this.nextLf < from) {
      const i = view.indexOf(LF, from);
      this.nextLf = i < 0 ? len : i;
    }
    if (this.nextNul < from) {
      const i = view.indexOf(NUL, from);
      this.nextNul = i < 0 ? len : i;
    }
    const t = Math.min(this.nextLf, this.nextNul);
    return t >= len ? -1 : t;
  }

  private process(
    buf: Buffer,
    pos: number,
    len: number,
    copy: boolean,
    out: FramerOutput,
    ending: boolean,
  ): number {
    // Bounded view: the store holds stale bytes past `len` that searches must not see.
    const view = buf.length === len ? buf : buf.subarray(0, len);
    this.nextLf = this.nextNul = this.nextLt = -1;
    while (pos < len) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, len - pos);
        this.collect(view, pos, pos + take);
        pos += take;
        this.skip -= take;
        if (this.skip === 0) this.finishDrop(out);
        continue;
      }
      if (this.dropping) {
        const t = this.findTerm(view, pos, len);
        if (t < 0) {
          this.collect(view, pos, len);
          pos = len;
          break;
        }
        this.collect(view, pos, t);
        pos = t + 1;
        this.dropping = false;
        this.finishDrop(out);
        continue;
      }
      const b = view[pos]!;
      if (b === LF || b === CR || b === NUL) {
        pos++;
        continue;
      }
      if (isDigit(b)) {
        const r = this.octetHeader(view, pos, len, ending);
        if (r === NEED_MORE) break;
        if (r === TRUNCATED) {
          out.errors.push({
            code: 'truncated',
            reason: 'connection closed inside an octet-count header',
            raw: Buffer.from(view.subarray(pos, len)),
          });
          pos = len;
          continue;
        }
        if (r === INVALID_COUNT) {
          const header = view.subarray(pos, Math.min(len, pos + 12)).toString('latin1');
          this.startDrop({
            code: 'invalid_octet_count',
            reason: `"${header}…" does not start with a valid RFC 6587 MSG-LEN; skipped to the next LF`,
            raw: Buffer.alloc(0),
          });
          this.dropping = true;
          continue;
        }
        if (r >= 0) {
          pos = this.octetFrame(view, pos, r, len, copy, out, ending);
          if (pos < 0) {
            pos = -pos - 1;
            break;
          }
          continue;
        }
      }
      const next = this.lfFrame(view, pos, len, copy, out, ending);
      if (next < 0) break;
      pos = next;
    }
    return pos;
  }

  /** Reads `MSG-LEN SP` at pos; see the result constants. Sets this.count. */
  private octetHeader(view: Buffer, pos: number, len: number, ending: boolean): number {
    const octet = this.mode === MODE_OCTET;
    let i = pos;
    let count = 0;
    while (i < len && isDigit(view[i]) && i - pos <= MAX_COUNT_DIGITS) {
      count = count * 10 + (view[i]! - 0x30);
      i++;
    }
    if (i >= len) {
      if (!ending) return NEED_MORE;
      return octet ? TRUNCATED : NOT_OCTET;
    }
    if (view[i] !== SP) return octet ? INVALID_COUNT : NOT_OCTET;
    // Outside an octet-counted session a leading number is only a count when a `<PRI>` follows, so that a
    // newline-framed line like `12 packets dropped` stays a line.
    if (!octet) {
      if (i + 1 >= len) return ending ? NOT_OCTET : NEED_MORE;
      if (view[i + 1] !== LT) return NOT_OCTET;
    }
    if (i - pos > MAX_COUNT_DIGITS || view[pos] === 0x30) return INVALID_COUNT;
    this.count = count;
    return i + 1;
  }

  /** Returns the next position, or -(pos + 1) when waiting for more bytes. */
  private octetFrame(
    view: Buffer,
    pos: number,
    dataStart: number,
    len: number,
    copy: boolean,
    out: FramerOutput,
    ending: boolean,
  ): number {
    const count = this.count;
    this.mode = MODE_OCTET;
    if (count > this.max) {
      this.startDrop({
        code: 'frame_too_large',
        reason: `octet-counted frame of ${count} bytes exceeds the ${this.max}-byte limit; skipped`,
        raw: Buffer.alloc(0),
      });
      this.collect(view, pos, dataStart);
      this.skip = count;
      return dataStart;
    }
    if (len - dataStart < count) {
      if (!ending) return -(pos + 1);
      out.errors.push({
        code: 'truncated',
        reason: `connection closed after ${len - dataStart} of ${count} counted bytes`,
        raw: Buffer.from(view.subarray(pos, len)),
      });
      return len;
    }
    this.emit(view, dataStart, dataStart + count, copy, out);
    this.termScanned = this.headScanned = 0;
    return dataStart + count;
  }

  /** Non-transparent frame from pos; returns the next position, or -1 when waiting for more bytes. */
  private lfFrame(
    view: Buffer,
    pos: number,
    len: number,
    copy: boolean,
    out: FramerOutput,
    ending: boolean,
  ): number {
    const t = this.findTerm(view, pos + this.termScanned, len);
    const limit = t < 0 ? len : t;
    if (this.splitOnHeader) {
      let c = pos + Math.max(1, this.headScanned);
      for (;;) {
        if (this.nextLt < c) {
          const i = view.indexOf(LT, c);
          this.nextLt = i < 0 ? len : i;
        }
        c = this.nextLt;
        if (c >= limit) {
          this.headScanned = limit - pos;
          break;
        }
        // A trailer ends the frame anyway, so a header cut by it is no header; only an open tail can wait.
        const h = headerAt(view, c, limit);
        if (h === 1) {
          this.frameOrError(view, pos, c, copy, out);
          return c;
        }
        if (h === -1 && t < 0 && !ending) {
          this.headScanned = c - pos;
          this.termScanned = len - pos;
          return -1;
        }
        c++;
      }
    }
    if (t < 0) {
      this.termScanned = len - pos;
      if (len - pos > this.max) {
        out.errors.push({
          code: 'frame_too_large',
          reason: `line exceeds the ${this.max}-byte limit without a trailer; dropped up to the next LF`,
          raw: Buffer.from(view.subarray(pos, pos + this.max)),
        });
        this.startDrop(null);
        this.dropping = true;
        this.termScanned = this.headScanned = 0;
        return len;
      }
      if (!ending) return -1;
      let e = len;
      while (e > pos && view[e - 1] === CR) e--;
      this.frameOrError(view, pos, e, copy, out);
      return len;
    }
    let e = t;
    while (e > pos && view[e - 1] === CR) e--;
    this.frameOrError(view, pos, e, copy, out);
    return t + 1;
  }

  private frameOrError(view: Buffer, a: number, b: number, copy: boolean, out: FramerOutput): void {
    this.termScanned = this.headScanned = 0;
    this.mode = MODE_LF;
    if (b - a > this.max) {
      out.errors.push({
        code: 'frame_too_large',
        reason: `line of ${b - a} bytes exceeds the ${this.max}-byte limit`,
        raw: Buffer.from(view.subarray(a, a + this.max)),
      });
    } else if (b > a) {
      this.emit(view, a, b, copy, out);
    }
  }
}
