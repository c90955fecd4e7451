import {
  DurableConsumer,
  type Bus,
  ensureConsumer,
  isNotFound,
  isRevisionConflict,
  KvBlobError,
  KvBlobStore,
  type Logger,
  openKv,
} from '@citysoc/bus';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { type CorrelationState } from '@citysoc/sigma';
import { type KV, nanos, RetentionPolicy, StorageType } from 'nats';
import { CountedSeqs } from './counted';
import { AlertOutbox } from './outbox';
import { type CorrelationStats, type Correlator, type DetectionEngine } from './engine';

/** FNV-1a (32 bit) of a route key, mod the partition count: stable across processes and versions. */
export function partitionOf(routeKey: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < routeKey.length; i++) {
    h ^= routeKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/** A partition's persisted state: the CORRELATE sequences it counted and the windows they built. */
export interface PartitionState {
  counted: CountedSeqs;
  state: CorrelationState;
  /** Alerts saved with the windows that fired them, published after the save (a write-ahead outbox). */
  pending: Alert[];
}

/**
 * Reads a partition's saved state, the current form (`correlatedUpTo` + `correlatedRanges`, as CountedSeqs
 * writes it), the per-sequence form (`correlatedAbove`) or the earliest single watermark (`upTo`), which reads
 * as a floor with nothing above it.
 */
export function parsePartitionState(text: string): PartitionState {
  const parsed = JSON.parse(text) as {
    upTo?: number;
    correlatedUpTo?: number;
    correlatedAbove?: number[];
    correlatedRanges?: [number, number][];
    state: CorrelationState;
    pending?: Alert[];
  };
  return {
    counted: CountedSeqs.fromJSON({ ...parsed, correlatedUpTo: parsed.correlatedUpTo ?? parsed.upTo ?? 0 }),
    state: parsed.state,
    pending: Array.isArray(parsed.pending) ? parsed.pending : [],
  };
}

export function serializePartitionState(
  counted: CountedSeqs,
  state: CorrelationState,
  pending: readonly Alert[] = [],
): Buffer {
  return Buffer.from(JSON.stringify({ ...counted.toJSON(), state, pending }));
}

/**
 * One batch of a partition's records: each record whose CORRELATE sequence the state has not counted is
 * observed; returns the alerts and the counted set including the batch (to persist with the new windows).
 * Which sequences were counted is a set, not a watermark: a new owner (or a restarted one) gets new
 * records at once but the previous owner's unacked ones only when their ack wait runs out, after newer
 * ones, and a watermark would skip them uncounted.
 */
export function observeBatch(
  counted: CountedSeqs,
  records: readonly CorrelateRecord[],
  seqs: readonly number[],
  observe: (r: CorrelateRecord) => Alert[],
): { alerts: Alert[]; counted: CountedSeqs } {
  const alerts: Alert[] = [];
  records.forEach((r, i) => {
    const seq = seqs[i] ?? 0;
    if (counted.has(seq)) return; // counted before a crash or a move
    alerts.push(...observe(r));
  });
  return { alerts, counted: counted.with(seqs) };
}

/** What stage 1 hands a partition owner: the event, the rules it matched, for the owner's correlations. */
export interface CorrelateRecord {
  event: EcsEvent;
  matched: string[];
}

export interface PartitionOptions {
  partitions: number;
  /** This replica's id (unique among the running replicas). */
  instance: string;
  /** A lease not renewed within this time lapses and another replica may take the partition. */
  leaseMs: number;
  /** Durable base name (the detector's), for consumer and bucket names. */
  durable: string;
  replicas: number;
  batchSize: number;
  logger: Logger;
  /** The running engine (a hot reload replaces it). */
  engine: () => DetectionEngine;
  publishAlerts: (alerts: Alert[]) => Promise<void>;
  onDeadLettered?: (reason: string) => void;
  /** A partition's saved state could not be read back; its windows restarted empty (logged as an error). */
  onStateError?: () => void;
}

interface Owned {
  p: number;
  leaseRevision: number;
  consumer: DurableConsumer<CorrelateRecord>;
  correlator: Correlator;
  /** Engine the correlator was built from, so a reload rebuilds it. */
  builtFrom: DetectionEngine;
  /** CORRELATE sequences counted into the state; their redeliveries are skipped. */
  counted: CountedSeqs;
  /** KV revision of the partition's state manifest as this owner last read or wrote it (the fence). */
  stateRevision: number;
  /** The state as last persisted (`serializePartitionState`): a failed batch rolls back to it. */
  persisted: Buffer;
  /** Alerts saved with the state and not yet published (retried before the next batch). */
  outbox: AlertOutbox;
  lock: Promise<unknown>;
}

/**
 * Correlation partitioning across detector replicas. Stage 1 (shared durable on EVENTS) publishes each
 * correlation-relevant match to `correlate.<p>`, p = hash(group key) mod P. Each partition has one durable
 * consumer and one owner at a time: a lease in a KV bucket whose entries lapse after `leaseMs` unless
 * renewed. The owner keeps the partition's windows and writes them with the stream sequence they cover to
 * KV, compare-and-set on the state key's revision, so a replica that lost its lease can never write over
 * the new owner's state (no double counting), and a new owner resumes from that state and the partition's
 * unacked records (no lost window).
 */
export class PartitionedCorrelation {
  private leases!: KV;
  private states!: KvBlobStore;
  private readonly owned = new Map<number, Owned>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();

  constructor(
    private readonly bus: Bus,
    private readonly o: PartitionOptions,
  ) {}

  get stream(): string {
    return `${this.bus.names.durable('CORRELATE')}`;
  }

  subject(p: number): string {
    return `${this.bus.names.durable('correlate')}.${p}`;
  }

  async start(): Promise<void> {
    const cfg = {
      name: this.stream,
      subjects: [`${this.bus.names.durable('correlate')}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: this.o.replicas,
      max_age: nanos(7 * 24 * 3600_000),
      duplicate_window: nanos(10 * 60_000),
    };
    try {
      await this.bus.jsm.streams.info(this.stream);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.bus.jsm.streams.add(cfg);
    }
    this.leases = await openKv(this.bus, `${this.o.durable}-leases`, this.o.replicas, {
      ttl: this.o.leaseMs,
    });
    this.states = new KvBlobStore(
      await openKv(this.bus, `${this.o.durable}-partitions`, this.o.replicas),
      this.bus.jsm,
      { onCleanupError: (e) => this.warn('purging replaced state chunks', e) },
    );
    await this.tick();
    this.timer = setInterval(
      () => {
        this.ticking = this.ticking
          .then(() => this.tick())
          .catch((e: unknown) => this.warn('lease round', e));
      },
      Math.max(50, Math.floor(this.o.leaseMs / 3)),
    );
  }

  /** Stage 1: route one event's matches to the partitions of the groups it updates. */
  records(event: EcsEvent, matched: string[]): { subject: string; data: Buffer; msgId: string }[] {
    const keys = this.o.engine().routeKeys(event, matched);
    const parts = new Set(keys.map((k) => partitionOf(k, this.o.partitions)));
    const data = Buffer.from(JSON.stringify({ event, matched } satisfies CorrelateRecord));
    return [...parts].map((p) => ({ subject: this.subject(p), data, msgId: `${event.event.id}.${p}` }));
  }

  /** Correlation statistics of every partition this replica owns. */
  correlationStats(): CorrelationStats[] {
    return [...this.owned.values()].map((own) => own.correlator.stats());
  }

  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  private warn(what: string, e: unknown): void {
    this.o.logger.warn(`correlation partitions: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }

  /** One lease round: heartbeat, renew, release above the fair share, take free partitions up to it. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.leases.put(`replica.${this.o.instance}`, Buffer.from(String(Date.now())));
    const live = new Set<string>();
    for await (const k of await this.leases.keys('replica.*')) live.add(k);
    const quota = Math.ceil(this.o.partitions / Math.max(1, live.size));
    for (const own of [...this.owned.values()]) {
      try {
        own.leaseRevision = await this.leases.update(
          `p.${own.p}`,
          Buffer.from(this.o.instance),
          own.leaseRevision,
        );
      } catch (e) {
        this.warn(`lease of partition ${own.p} lost`, e);
        await this.drop(own, false);
      }
    }
    const extra = this.owned.size - quota;
    if (extra > 0) {
      for (const own of [...this.owned.values()].slice(-extra)) await this.drop(own, true);
    }
    for (let p = 0; p < this.o.partitions && this.owned.size < quota && !this.stopped; p++) {
      if (this.owned.has(p)) continue;
      let rev: number;
      try {
        rev = await this.leases.create(`p.${p}`, Buffer.from(this.o.instance));
      } catch {
        continue; // held by another replica
      }
      try {
        await this.acquire(p, rev);
      } catch (e) {
        this.warn(`taking partition ${p}`, e);
        await this.leases.delete(`p.${p}`).catch(() => undefined);
      }
    }
  }

  private async acquire(p: number, leaseRevision: number): Promise<void> {
    const engine = this.o.engine();
    const correlator = engine.newCorrelator();
    let counted = CountedSeqs.of();
    let stateRevision = 0;
    let persisted: Buffer | undefined;
    let pending: Alert[] = [];
    try {
      const saved = await this.states.read(`p${p}`);
      if (saved) {
        stateRevision = saved.revision;
        if (saved.data.length > 0) {
          const parsed = parsePartitionState(saved.data.toString('utf8'));
          correlator.restore(parsed.state);
          counted = parsed.counted;
          pending = parsed.pending;
          persisted = saved.data;
        }
      }
    } catch (e) {
      // Detection goes on with empty windows for this partition (see docs/detection.md); the manifest's
      // revision stays the fence, so our next write replaces the unreadable state.
      if (e instanceof KvBlobError ? e.revision === 0 : !(e instanceof SyntaxError)) throw e;
      if (e instanceof KvBlobError) stateRevision = e.revision;
      correlator.restore(engine.newCorrelator().snapshot());
      counted = CountedSeqs.of();
      this.o.onStateError?.();
      this.o.logger.error(
        `correlation partition ${p}: state ${(e as Error).message}; its windows restart empty`,
      );
    }
    await this.states.sweep(`p${p}`).catch((e: unknown) => this.warn(`sweeping partition ${p} state`, e));
    persisted ??= serializePartitionState(counted, correlator.snapshot());
    const spec = {
      stream: this.stream,
      durable: this.bus.names.durable(`${this.o.durable}-correlate-${p}`),
      filterSubject: this.subject(p),
      ackWaitMs: Math.max(1000, this.o.leaseMs),
      retryMaxMs: this.bus.timing.retryMaxMs,
    };
    await this.bus.startStep(`declaring the ${spec.durable} consumer`, () =>
      ensureConsumer(this.bus.jsm, spec),
    );
    const own: Owned = {
      p,
      leaseRevision,
      correlator,
      builtFrom: engine,
      counted,
      stateRevision,
      persisted,
      outbox: new AlertOutbox((alerts) => this.o.publishAlerts(alerts)),
      lock: Promise.resolve(),
      consumer: undefined as unknown as DurableConsumer<CorrelateRecord>,
    };
    // Alerts the previous owner saved but may not have published: published before this owner's first batch.
    own.outbox.restore(pending);
    own.consumer = new DurableConsumer<CorrelateRecord>(
      {
        js: this.bus.js,
        spec,
        batchSize: this.o.batchSize,
        deadletter: {
          publisher: this.bus.publisher,
          subject: (reason) => this.bus.names.deadletterSubject('detector', reason),
        },
        logger: this.o.logger,
        ...(this.o.onDeadLettered ? { onDeadLettered: this.o.onDeadLettered } : {}),
      },
      {
        decode: (msg) => JSON.parse(Buffer.from(msg.data).toString('utf8')) as CorrelateRecord,
        handle: (items) =>
          this.handle(
            own,
            items.map((i) => i.value),
            items.map((i) => i.msg.seq),
          ),
      },
    );
    this.owned.set(p, own);
    own.consumer.start();
    this.o.logger.log(
      `correlation partition ${p} taken (state up to CORRELATE #${counted.floor}, ${counted.size} above)`,
    );
  }

  private async handle(own: Owned, records: CorrelateRecord[], seqs: number[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.owned.get(own.p) !== own) throw new Error(`partition ${own.p} is no longer ours`);
      const engine = this.o.engine();
      if (own.builtFrom !== engine) {
        // A reload: the same windows under the new rules (a changed correlation starts afresh).
        const next = engine.newCorrelator();
        next.restore(own.correlator.snapshot());
        own.correlator = next;
        own.builtFrom = engine;
      }
      // What the previous batch (or the previous owner) saved but did not publish goes first.
      await own.outbox.flush();
      const now = new Date();
      const owns = (key: string): boolean => partitionOf(key, this.o.partitions) === own.p;
      let fired: Alert[] = [];
      try {
        const { alerts, counted } = observeBatch(own.counted, records, seqs, (r) =>
          own.correlator.observe(r.event, r.matched, now, owns),
        );
        // Saved before anything is published (write-ahead): a failed save publishes nothing, so the retry
        // fires for the first time; a crash after it leaves the alerts in the state for the next owner.
        // Compare-and-set: fails if another replica wrote this partition's state since we read it.
        const value = serializePartitionState(counted, own.correlator.snapshot(), alerts);
        own.stateRevision = await this.states.write(`p${own.p}`, value, own.stateRevision);
        own.persisted = value;
        own.counted = counted;
        fired = alerts;
      } catch (e) {
        // Back to the persisted windows (what the acked records built): the retry counts this batch once.
        own.correlator.restore(parsePartitionState(own.persisted.toString('utf8')).state);
        if (isRevisionConflict(e)) {
          // Another replica owns this partition now: stop at once; our unacked records go back to it.
          this.warn(`partition ${own.p} taken over by another replica`, e);
          setImmediate(() => void this.drop(own, false));
        }
        throw e;
      }
      await own.outbox.commit(fired);
    };
    const next = own.lock.then(run, run);
    own.lock = next.catch(() => undefined);
    return next;
  }

  private async drop(own: Owned, release: boolean): Promise<void> {
    if (this.owned.get(own.p) !== own) return;
    this.owned.delete(own.p);
    await own.consumer.stop();
    await own.lock;
    if (release) await this.leases.delete(`p.${own.p}`).catch(() => undefined);
    this.o.logger.log(`correlation partition ${own.p} ${release ? 'released' : 'dropped'}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking.catch(() => undefined);
    for (const own of [...this.owned.values()]) await this.drop(own, true);
    await this.leases?.delete(`replica.${this.o.instance}`).catch(() => undefined);
  }
}
