/** Node's Buffer has it on its prototype (what `write` calls for UTF-8); @types/node leaves it out. */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

/**
 * A growable buffer JSON text is written into as UTF-8, piece by piece: the flow writer puts a document's
 * bytes here instead of building a string (a rope of dozens of pieces per record, which joining and
 * encoding flattened again). Writes past the end are dropped but still counted in `pos`, so a caller
 * checks `overflowed` once per document and writes it again after `grow`.
 */
export class JsonBytes {
  buf: Buffer & Utf8Writer;
  pos = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(size) as Buffer & Utf8Writer;
  }

  get overflowed(): boolean {
    return this.pos > this.buf.length;
  }

  /** A buffer of at least twice the size, the bytes before `keep` kept. */
  grow(keep: number): void {
    const next = Buffer.allocUnsafeSlow(this.buf.length * 2) as Buffer & Utf8Writer;
    this.buf.copy(next, 0, 0, keep);
    this.buf = next;
  }

  /** Grows until `n` more bytes fit. */
  room(n: number): void {
    while (this.buf.length - this.pos < n) this.grow(this.pos);
  }

  /** `text`, growing until it fits. */
  textWhole(s: string): void {
    const start = this.pos;
    this.text(s);
    while (this.overflowed) {
      this.grow(start);
      this.pos = start;
      this.text(s);
    }
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Any string, as UTF-8; a plain loop while it is ASCII (most are: keys, addresses, times, ids). */
  raw(s: string): void {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.pos = start;
        this.text(s);
        return;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** A string that may well hold non-ASCII characters (unit names), through Buffer's UTF-8 encoder. */
  text(s: string): void {
    const room = this.buf.length - this.pos;
    // UTF-8 takes at most 3 bytes per UTF-16 unit; short of that room, count it as overflowing.
    if (s.length * 3 > room) this.pos += s.length * 3 + 1;
    else this.pos += this.buf.utf8Write(s, this.pos, room);
  }

  /** A number exactly as JSON.stringify writes it. */
  num(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) {
      const b = this.buf;
      let len = 1;
      for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
      let p = this.pos + len;
      this.pos = p;
      let t = n;
      while (t >= 10) {
        const q = Math.floor(t / 10);
        b[--p] = 48 + (t - q * 10);
        t = q;
      }
      b[--p] = 48 + t;
      return;
    }
    this.raw(Number.isFinite(n) ? String(n) : 'null');
  }
}
