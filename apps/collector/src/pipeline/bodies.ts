import { type BatchItem, type BodyAssembler, type BuiltBody } from './batcher';

/** Node's Buffer has it on its prototype (what `write` calls for UTF-8); @types/node leaves it out. */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

type Bytes = Buffer & Utf8Writer;

const OPEN = 0x5b; // [
const COMMA = 0x2c;
const CLOSE = 0x5d; // ]

/** Spare body buffers kept for reuse. */
const MAX_FREE = 8;
/** Bodies with holders tracked; past it the oldest is forgotten (left to the GC, never reused). */
const MAX_TRACKED = 64;

/** One batch's JSON array as it is built: '[' at 0, the batch's items from 1, commas between. */
interface Body {
  buf: Bytes;
  /** End of the last item placed (1 while none is). */
  end: number;
  /** Where the next run is written: past the placed items and the runs written ahead of their turn. */
  tail: number;
  /** The items placed, for the fallback (`scattered`). */
  views: Uint8Array[];
  /** An item could not be placed in line: the body is concatenated from `views` when it closes. */
  scattered: boolean;
  /** Holders: the batch (from its first item until its publish settled) and each run written not yet placed. */
  refs: number;
  /** Bytes of runs its items read where they were written (`scattered`), held until the batch is done. */
  kept?: Uint8Array[];
  /** Its publish failed: a copy may still sit in nats.js's outbound buffer, so it is never reused. */
  spoilt?: boolean;
}

/**
 * Message bodies built in place: a run is written (`put`) where its batch will hold it, right after the
 * runs before it, so the batch's JSON array needs neither a copy of its runs nor a fresh half-megabyte
 * buffer (page faults on fresh buffers and the copy were a third of the render-to-body CPU). Body buffers
 * are recycled once their publish settled: nats.js reads the payload until it flushed it to the socket,
 * and a retried publish sends it again.
 *
 * The writer guesses the batcher's cut: the body's capacity is the batch byte limit, so a run that does
 * not fit behind the runs before it is one the batcher will start a new batch with, and it is written at
 * the start of the subject's next body. Whenever the guess is wrong (a run added out of order, by a timer
 * flush in between, or bytes from a decoding worker) the run is copied into place, or, with runs written
 * ahead of it in the way, the batch is concatenated from its items when it closes, as before.
 */
export class MessageBodies implements BodyAssembler {
  private readonly open = new Map<string, Body>();
  /** A subject's next body, begun by a run that did not fit the open one. */
  private readonly ahead = new Map<string, Body>();
  /** Bodies with holders, by their ArrayBuffer. */
  private readonly held = new Map<ArrayBufferLike, Body>();
  private readonly free: Bytes[] = [];

  /** `capacity`: the batch byte limit (what the batcher checks a batch's JSON against). */
  constructor(
    private readonly capacity: number,
    /** Where runs too big for any body go. */
    private readonly spill: { put(run: string): Uint8Array; release(view: Uint8Array): void },
  ) {}

  /** Writes one run (documents joined by commas) where the subject's batch will take it in place. */
  put(subject: string, run: string): Uint8Array {
    const next = this.ahead.get(subject);
    if (next) return this.write(next, run) ?? this.spill.put(run);
    const cur = this.body(subject);
    const view = this.write(cur, run);
    if (view) return view;
    if (cur.tail === 1) return this.spill.put(run);
    const b = this.fresh();
    this.ahead.set(subject, b);
    return this.write(b, run) ?? this.spill.put(run);
  }

  add(subject: string, item: BatchItem<unknown>): void {
    const b = this.body(subject);
    const bytes = item.utf8 ?? Buffer.from(item.json);
    const at = b.views.length === 0 ? 1 : b.end + 1;
    const owner = this.held.get(bytes.buffer);
    if (!b.scattered && owner === b && bytes.byteOffset - b.buf.byteOffset === at) {
      if (at > 1) b.buf[b.end] = COMMA;
      b.end = at + bytes.length;
      b.views.push(bytes);
      this.drop(b);
      return;
    }
    if (b.scattered || b.tail !== b.end || at + bytes.length >= b.buf.length) {
      // Runs written ahead are in the way (or the item is too big): the array is concatenated at close,
      // and the item's bytes stay held until its batch is done.
      b.scattered = true;
      b.views.push(bytes);
      (b.kept ??= []).push(bytes);
      return;
    }
    if (at > 1) b.buf[b.end] = COMMA;
    b.buf.set(bytes, at);
    b.end = b.tail = at + bytes.length;
    // The item reads its bytes where they are now (`batchMessage` of a lone event): the old ones may be reused.
    const moved = b.buf.subarray(at, b.end);
    if (item.utf8) item.utf8 = moved;
    b.views.push(moved);
    this.unhold(bytes);
  }

  close(subject: string): BuiltBody | undefined {
    const b = this.open.get(subject);
    if (!b) return undefined;
    this.open.delete(subject);
    const next = this.ahead.get(subject);
    if (next) {
      this.ahead.delete(subject);
      this.open.set(subject, next);
    }
    let data: Buffer | undefined;
    if (b.scattered) data = concatJson(b.views);
    else if (b.views.length > 0) {
      b.buf[b.end] = CLOSE;
      data = b.buf.subarray(0, b.end + 1);
    }
    if (!data) {
      this.drop(b);
      return undefined;
    }
    let released = false;
    return {
      data,
      release: (reusable = true) => {
        if (released) return;
        released = true;
        // Items keep reading the bytes of other runs until their batch is done.
        if (b.kept) for (const v of b.kept) this.unhold(v);
        b.kept = undefined;
        if (!reusable) b.spoilt = true;
        this.drop(b);
      },
    };
  }

  /** Bytes of a run written earlier are no longer read. */
  private unhold(bytes: Uint8Array): void {
    const owner = this.held.get(bytes.buffer);
    if (owner) this.drop(owner);
    else this.spill.release(bytes);
  }

  /** Writes `run` at the body's tail if it fits (a byte kept for the closing bracket); holds the body. */
  private write(b: Body, run: string): Uint8Array | undefined {
    if (b.scattered) return undefined;
    const at = b.tail === 1 ? 1 : b.tail + 1;
    const room = b.buf.length - 1 - at;
    // Characters are a lower bound of the bytes.
    if (run.length > room) return undefined;
    const n = b.buf.utf8Write(run, at, room);
    // utf8Write stops short of a character that does not fit, i.e. within 4 bytes of the end.
    if (n > room - 4 && n !== Buffer.byteLength(run)) return undefined;
    b.tail = at + n;
    this.hold(b);
    return b.buf.subarray(at, b.tail);
  }

  /** The subject's open body (held by its batch). */
  private body(subject: string): Body {
    let b = this.open.get(subject);
    if (!b) {
      b = this.fresh();
      this.open.set(subject, b);
    }
    return b;
  }

  /** A new body, held once (by its batch). */
  private fresh(): Body {
    const buf = this.free.pop() ?? (Buffer.allocUnsafeSlow(this.capacity) as Bytes);
    buf[0] = OPEN;
    const b: Body = { buf, end: 1, tail: 1, views: [], scattered: false, refs: 0 };
    this.hold(b);
    return b;
  }

  private hold(b: Body): void {
    if (b.refs++ > 0) return;
    if (this.held.size >= MAX_TRACKED) {
      const oldest = this.held.keys().next().value;
      if (oldest !== undefined) this.held.delete(oldest);
    }
    this.held.set(b.buf.buffer, b);
  }

  private drop(b: Body): void {
    if (--b.refs > 0) return;
    // Forgotten meanwhile (MAX_TRACKED): someone may still read it; left to the GC.
    if (this.held.get(b.buf.buffer) !== b) return;
    this.held.delete(b.buf.buffer);
    if (!b.spoilt && this.free.length < MAX_FREE) this.free.push(b.buf);
  }
}

/** The JSON array of byte items. */
function concatJson(items: readonly Uint8Array[]): Buffer {
  let n = 1;
  for (const i of items) n += i.length + 1;
  const out = Buffer.allocUnsafe(n);
  out[0] = OPEN;
  let at = 1;
  items.forEach((i, k) => {
    if (k > 0) out[at++] = COMMA;
    out.set(i, at);
    at += i.length;
  });
  out[at] = CLOSE;
  return out;
}
