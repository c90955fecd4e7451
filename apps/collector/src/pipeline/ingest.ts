import { type BusNames, type JetStreamPublisher } from '@citysoc/bus';
import { type EcsEvent } from '@citysoc/ecs';
import { attachUnits, UnitRegistry } from '@citysoc/enrich';
import { type ComponentMetrics } from '@citysoc/observability';
import { type FrameError, normalizeIp } from '@citysoc/syslog';
import { type SourceMonitor } from '../sources/syslog/monitor';
import { type DrillMarker } from './drill-marker';
import { type FormatPin, type SourcePolicy, SourceRegistry } from '../sources/syslog/policy';
import { type BatchItem, batchMessage, type BatchLimits, type BatchOutcome, EventBatcher } from './batcher';
import { OccurrenceCounter } from './occurrences';
import { formatName, type GroupContext, type PooledResult } from './parse-job';
import { type ParsePool } from './parse-pool';
import { parseWith } from './parse-with';

/** One event per message: what the collector did before batching (tests that count messages use it). */
export const UNBATCHED: BatchLimits = { events: 1, ms: 0, bytes: 512 * 1024 };

const NO_ERRORS: readonly FrameError[] = [];

/** Events of one read that could not be stored, with the first cause. */
type Failed = { count: number; reason?: unknown } | undefined;

/** Frames accepted but not stored: neither in JetStream nor in the dead letters. */
export class IngestFailure extends Error {
  constructor(
    readonly count: number,
    readonly first: unknown,
  ) {
    super(`${count} accepted frame(s) could not be stored: ${String(first)}`);
  }

  static throwIfAny(this: void, outcomes: readonly Failed[]): void {
    let count = 0;
    let cause: unknown;
    for (const o of outcomes)
      if (o) {
        count += o.count;
        cause ??= o.reason;
      }
    if (count > 0) throw new IngestFailure(count, cause);
  }
}

/** A dead letter's publish as a failure count (it is the frame's last resort). */
function settled(p: Promise<unknown>): Promise<Failed> {
  return p.then(
    () => undefined,
    (reason: unknown) => ({ count: 1, reason }),
  );
}

/** How many of the events at `positions` of a batch were not stored. */
function failuresIn(done: Promise<BatchOutcome>, positions: readonly number[]): Promise<Failed> {
  return done.then(
    (outcomes) => {
      if (!outcomes) return undefined;
      let count = 0;
      let reason: unknown;
      for (const i of positions) {
        const o = outcomes[i];
        if (o?.status === 'rejected') {
          count++;
          reason ??= o.reason;
        }
      }
      return count > 0 ? { count, reason } : undefined;
    },
    (reason: unknown) => ({ count: positions.length, reason }),
  );
}

/** What dead-lettering an event of a refused batch needs. */
interface Origin {
  raw: Buffer;
  meta: FrameMeta;
  /** A run of events from a parse thread (one item, several events): each one's bytes and id. */
  run?: { raws: readonly Buffer[]; ids: readonly string[] };
}

export interface FrameMeta {
  senderIp: string;
  senderPort: number;
  transport: 'udp' | 'tcp' | 'tls';
  inputName: string;
  receivedAt: Date;
  /** The listener's pinned format; a source's own pin wins. */
  format?: FormatPin;
  /** TLS: SHA-256 of the client certificate the connection presented (64 lowercase hex), for drill marking. */
  peerCertSha256?: string;
}

/** The failures of several waits as one. */
function sumFailed(outcomes: readonly Failed[]): Failed {
  let count = 0;
  let reason: unknown;
  for (const o of outcomes)
    if (o) {
      count += o.count;
      reason ??= o.reason;
    }
  return count > 0 ? { count, reason } : undefined;
}

type Sender = { transport: FrameMeta['transport']; address: string; port?: number; certSha256?: string };

/**
 * One frame in → one ECS event on EVENTS, or one dead letter with the raw bytes and a reason. Events are
 * batched per subject (events.syslog.<transport>) into JSON-array messages: one JetStream ack per batch
 * instead of per line is what lets the collector keep up with rsyslog. The promise of `accept` resolves
 * only when JetStream has stored the event's batch (or its dead letter), which is what callers count for
 * backpressure. A batch JetStream refuses is dead-lettered event by event, each with its raw bytes.
 */
export class SyslogIngest {
  private readonly occurrences: OccurrenceCounter;
  /** Drill attribution (issue 9); set by the collector once the drill-runs bucket is loaded. */
  drills?: DrillMarker;
  private readonly batcher: EventBatcher<Origin>;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly names: BusNames,
    private readonly metrics: ComponentMetrics,
    timezone: string,
    private readonly units: UnitRegistry = UnitRegistry.empty(),
    /** Per-source time zone, format and limits; senders not in it get `timezone` and auto-detection. */
    readonly sources: SourceRegistry = SourceRegistry.empty({ timezone, silentAfterMs: 0 }),
    private readonly monitor?: SourceMonitor,
    worker = 0,
    private readonly batch: BatchLimits = UNBATCHED,
    /** Parse threads (CITYSOC_SYSLOG_PARSE_THREADS); without them frames are parsed on this thread. */
    private readonly pool?: ParsePool,
  ) {
    this.occurrences = new OccurrenceCounter(undefined, worker);
    this.batcher = new EventBatcher<Origin>(batch, (subject, items) => this.publishBatch(subject, items));
  }

  /** Publishes the batches still filling (shutdown); resolves when every batch in flight is settled. */
  flush(): Promise<void> {
    return this.batcher.flushAll();
  }

  /** The policy for a sender; sources use it for rate limits before calling accept. */
  policyFor(senderIp: string): SourcePolicy {
    return this.sources.lookup(normalizeIp(senderIp));
  }

  /** One frame; resolves when it is stored (or dead-lettered). */
  accept(raw: Buffer, meta: FrameMeta): Promise<void> {
    return this.acceptAll([raw], NO_ERRORS, meta);
  }

  /**
   * The frames (and framing errors) one read produced, all from one sender: each becomes an event in a batch
   * or a dead letter. Resolves when every one is stored or dead-lettered; rejects with an IngestFailure
   * counting those that could not be stored at all. Per-read rather than per-frame bookkeeping (one policy
   * lookup, one metric update, one promise per batch touched) is what keeps the per-message cost down to
   * parsing and serializing.
   */
  acceptAll(frames: readonly Buffer[], errors: readonly FrameError[], meta: FrameMeta): Promise<void> {
    try {
      return this.ingestRead(frames, errors, meta);
    } catch (err) {
      // Callers (socket handlers) get every failure as a rejection, as they did when accept was async.
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private ingestRead(
    frames: readonly Buffer[],
    errors: readonly FrameError[],
    meta: FrameMeta,
  ): Promise<void> {
    const n = frames.length + errors.length;
    if (n === 0) return Promise.resolve();
    const component = meta.inputName;
    const senderIp = normalizeIp(meta.senderIp);
    const origin: FrameMeta = senderIp === meta.senderIp ? meta : { ...meta, senderIp };
    const policy = this.sources.lookup(senderIp);
    this.metrics.received.inc({ component }, n);
    const sender = {
      transport: meta.transport,
      address: senderIp,
      port: meta.senderPort,
      ...(meta.peerCertSha256 ? { certSha256: meta.peerCertSha256 } : {}),
    };
    // One sender per read, so one drill attribution: the silence watch must know whether the last frame
    // (parsed or not) was a drill's, or a finished drill would later raise a real "source went silent".
    // (The parse threads need it too: a drill sender's events are marked here.)
    const drillRun = this.monitor || this.pool ? this.drills?.runOf(sender, meta.receivedAt) : undefined;
    this.monitor?.seen(policy, senderIp, drillRun);
    const waits: Array<Promise<Failed>> = [];
    if (frames.length > 0) {
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      this.metrics.receivedBytes.inc({ component }, bytes);
      const subject = this.names.eventsSubject('syslog', meta.transport);
      const format = policy.format ?? meta.format;
      if (this.pool)
        waits.push(this.viaPool(this.pool, frames, policy, sender, subject, format, drillRun, origin));
      else this.inProcess(frames, policy, sender, subject, format, origin, waits);
    }
    for (const err of errors) {
      const id = this.occurrences.idFor(senderIp, err.raw);
      waits.push(settled(this.deadLetter(err.raw, err.code, err.reason, origin, id)));
    }
    return Promise.all(waits).then(IngestFailure.throwIfAny);
  }

  /** Parse → ECS → JSON on this thread (no parse threads configured), into `waits`. */
  private inProcess(
    frames: readonly Buffer[],
    policy: SourcePolicy,
    sender: Sender,
    subject: string,
    format: FormatPin | undefined,
    origin: FrameMeta,
    waits: Array<Promise<Failed>>,
  ): void {
    const meta = origin;
    const senderIp = origin.senderIp;
    // The batches this read's events went to, with their positions: usually one or two.
    let batch: Promise<BatchOutcome> | undefined;
    let positions: number[] = [];
    for (const raw of frames) {
      const id = this.occurrences.idFor(senderIp, raw);
      let json: string;
      try {
        const result = parseWith(format, raw, {
          senderIp,
          senderPort: meta.senderPort,
          receivedAt: meta.receivedAt,
          eventId: id,
          inputName: meta.inputName,
          transport: meta.transport,
          timezone: policy.timezone,
        });
        if (!result.ok) {
          waits.push(settled(this.deadLetter(raw, result.code, result.reason, origin, id)));
          continue;
        }
        json = this.finish(result.event, policy, senderIp, sender, meta);
      } catch (err) {
        // A parser or enrichment bug must not lose the frame: it is kept with its raw bytes for a replay.
        const reason = `collector failed on this frame: ${err instanceof Error ? err.message : String(err)}`;
        waits.push(settled(this.deadLetter(raw, 'internal_error', reason, origin, id)));
        continue;
      }
      const t = this.batcher.enqueue(subject, { id, json, origin: { raw, meta: origin } });
      if (t.done !== batch) {
        if (batch) waits.push(failuresIn(batch, positions));
        batch = t.done;
        positions = [];
      }
      positions.push(t.index);
    }
    if (batch) waits.push(failuresIn(batch, positions));
  }

  /** One read's frames through the parse threads: ids here (they are this thread's state), the rest there. */
  private viaPool(
    pool: ParsePool,
    frames: readonly Buffer[],
    policy: SourcePolicy,
    sender: Sender,
    subject: string,
    format: FormatPin | undefined,
    drillRun: string | undefined,
    origin: FrameMeta,
  ): Promise<Failed> {
    const senderIp = origin.senderIp;
    const ids = new Array<string>(frames.length);
    for (let i = 0; i < frames.length; i++) ids[i] = this.occurrences.idFor(senderIp, frames[i]!);
    const name = formatName(format);
    const ctx: GroupContext = {
      senderIp,
      senderPort: origin.senderPort,
      receivedAtMs: origin.receivedAt.getTime(),
      inputName: origin.inputName,
      transport: origin.transport,
      timezone: policy.timezone,
      ...(name !== undefined ? { format: name } : {}),
      ...(policy.registered ? { sourceName: policy.name } : {}),
      markOnMain: drillRun !== undefined,
    };
    return pool
      .submit(frames, ids, ctx)
      .then((r) => this.fromPool(r, frames, ids, policy, sender, subject, origin));
  }

  /** A parse thread's result for one read: dead letters, marked events, runs into batches, in frame order. */
  private fromPool(
    r: PooledResult,
    frames: readonly Buffer[],
    ids: readonly string[],
    policy: SourcePolicy,
    sender: Sender,
    subject: string,
    origin: FrameMeta,
  ): Promise<Failed> {
    const waits: Array<Promise<Failed>> = [];
    if (this.monitor)
      for (let i = 0; i < r.ts.length; i++)
        if (!Number.isNaN(r.ts[i]))
          this.monitor.skewAt(policy, r.ts[i]!, origin.receivedAt, origin.inputName);
    for (const d of r.dead)
      waits.push(settled(this.deadLetter(frames[d.index]!, d.code, d.reason, origin, ids[d.index]!)));
    let batch: Promise<BatchOutcome> | undefined;
    let positions: number[] = [];
    const enqueue = (item: BatchItem<Origin>) => {
      const t = this.batcher.enqueue(subject, item);
      if (t.done !== batch) {
        if (batch) waits.push(failuresIn(batch, positions));
        batch = t.done;
        positions = [];
      }
      positions.push(t.index);
    };
    let o = 0;
    const ownBefore = (index: number) => {
      for (; o < r.own.length && r.own[o]!.index < index; o++) {
        const { index: i, json } = r.own[o]!;
        let marked: string;
        try {
          const event = JSON.parse(json) as EcsEvent;
          marked = JSON.stringify(this.drills?.mark(event, sender, origin.receivedAt) ?? event);
        } catch (err) {
          const reason = `collector failed on this frame: ${err instanceof Error ? err.message : String(err)}`;
          waits.push(settled(this.deadLetter(frames[i]!, 'internal_error', reason, origin, ids[i]!)));
          continue;
        }
        enqueue({ id: ids[i]!, json: marked, origin: { raw: frames[i]!, meta: origin } });
      }
    };
    for (const run of r.runs) {
      ownBefore(run.first);
      const utf8 = r.utf8.subarray(run.start, run.end);
      if (run.count === 1)
        enqueue({ id: ids[run.first]!, json: '', utf8, origin: { raw: frames[run.first]!, meta: origin } });
      else {
        const raws = frames.slice(run.first, run.first + run.count);
        const runIds = ids.slice(run.first, run.first + run.count);
        enqueue({
          // Hashed into the batch's message id like single events' ids (batchMessage joins them by \n).
          id: runIds.join('\n'),
          json: '',
          utf8,
          events: run.count,
          origin: { raw: raws[0]!, meta: origin, run: { raws, ids: runIds } },
        });
      }
    }
    ownBefore(Number.POSITIVE_INFINITY);
    if (batch) waits.push(failuresIn(batch, positions));
    return Promise.all(waits).then(sumFailed);
  }

  /** Source name, units, skew and drill marking of a parsed event, serialized. */
  private finish(
    parsed: EcsEvent,
    policy: SourcePolicy,
    senderIp: string,
    sender: Sender,
    meta: FrameMeta,
  ): string {
    this.monitor?.skewOf(policy, parsed, meta.receivedAt, meta.inputName);
    if (policy.registered) (parsed.citysoc ??= {}).source_name = policy.name;
    attachUnits(parsed, this.units, senderIp);
    const event = this.drills?.mark(parsed, sender, meta.receivedAt) ?? parsed;
    return JSON.stringify(event);
  }

  private async publishBatch(
    subject: string,
    items: ReadonlyArray<BatchItem<Origin>>,
  ): Promise<BatchOutcome> {
    try {
      await this.publisher.publish(batchMessage(subject, items));
    } catch (err) {
      // Retries are the publisher's (unbounded in the collector); what reaches here was refused for good
      // (e.g. larger than the server's max_payload) or the publisher closed. Every event goes to the dead
      // letters with its raw bytes, one message per frame, so a replay rebuilds each of them.
      const reason = `batch of ${items.length} events refused by JetStream: ${err instanceof Error ? err.message : String(err)}`;
      const letters: Array<Promise<void>> = [];
      for (const i of items) {
        const run = i.origin.run;
        if (!run) letters.push(this.deadLetter(i.origin.raw, 'publish_failed', reason, i.origin.meta, i.id));
        else
          for (let k = 0; k < run.raws.length; k++)
            letters.push(this.deadLetter(run.raws[k]!, 'publish_failed', reason, i.origin.meta, run.ids[k]!));
      }
      // One outcome per item (what the batcher's positions address): a run failed if any of its letters did.
      const settledAll = await Promise.allSettled(letters);
      let at = 0;
      return items.map((i): PromiseSettledResult<void> => {
        const n = i.origin.run?.raws.length ?? 1;
        const bad = settledAll.slice(at, (at += n)).find((x) => x.status === 'rejected');
        return bad ?? { status: 'fulfilled', value: undefined };
      });
    }
    const now = Date.now();
    // Counted per run of one listener (a batch normally holds one): a labelled inc per event was not free.
    let component = items[0]!.origin.meta.inputName;
    let run = 0;
    for (const i of items) {
      const c = i.origin.meta.inputName;
      if (c !== component) {
        this.metrics.sent.inc({ component }, run);
        component = c;
        run = 0;
      }
      const n = i.events ?? 1;
      run += n;
      const latency = (now - i.origin.meta.receivedAt.getTime()) / 1000;
      for (let k = 0; k < n; k++) this.metrics.latency.observe({ component }, latency);
    }
    this.metrics.sent.inc({ component }, run);
  }

  /** A frame the framer refused (too large, bad octet count): dead-lettered with its bytes. */
  rejectFrame(err: FrameError, meta: FrameMeta): Promise<void> {
    return this.acceptAll([], [err], meta);
  }

  private async deadLetter(
    raw: Buffer,
    code: string,
    reason: string,
    meta: FrameMeta,
    id: string,
  ): Promise<void> {
    this.metrics.discarded.inc({ component: meta.inputName, reason: code });
    await this.publisher.publish({
      subject: this.names.deadletterSubject('collector', code),
      data: raw,
      msgId: `dl-${id}`,
      headers: {
        'Citysoc-Reason': code,
        'Citysoc-Detail': reason.slice(0, 1000),
        'Citysoc-Sender': `${meta.senderIp}:${meta.senderPort}`,
        'Citysoc-Input': meta.inputName,
        'Citysoc-Received-At': meta.receivedAt.toISOString(),
        // What a replay after a parser fix needs to rebuild the exact event (same id, same context).
        'Citysoc-Event-Id': id,
        'Citysoc-Transport': meta.transport,
      },
    });
  }
}
