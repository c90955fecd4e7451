import { type FSWatcher, statSync, watch } from 'node:fs';
import os from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Subscription } from 'nats';
import { Counter, Gauge } from 'prom-client';
import {
  type Bus,
  consumeJson,
  type DurableConsumer,
  expandBatches,
  KvBlobError,
  KvBlobStore,
  openBus,
  openKv,
  RULE_STATS_BUCKET,
  type RuleStatsSnapshot,
  ruleStatsKey,
} from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { IOC_BUCKET, IocWatch, markIocs } from '@citysoc/enrich';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { type detectorSchema } from './config';
import { CountedSeqs } from './counted';
import { AlertOutbox } from './outbox';
import { registerCorrelationMetrics } from './correlation-metrics';
import { type DetectionEngine } from './engine';
import { PartitionedCorrelation } from './partitions';
import { ruleCostRows } from './rule-metrics';
import {
  type LoadedRuleSet,
  loadRuleSet,
  newProblems,
  PipelineError,
  problemLine,
  type ReloadStatus,
  type RuleSource,
} from './rule-set';

export const DETECTOR_CONFIG = Symbol('DETECTOR_CONFIG');
const STATE_KEY = 'state';

export type DetectorConfig = ConfigOf<typeof detectorSchema>;

/** NATS subject of the reload command: a request with an empty body, answered with the ReloadStatus JSON. */
export function reloadSubject(c: Pick<DetectorConfig, 'streamPrefix' | 'durable'>): string {
  return `${c.streamPrefix}detector.${c.durable}.reload`;
}

/** Runs critical sections one after another: a batch and a rule-set swap never interleave. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

@Injectable()
export class DetectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('detector');
  private readonly metrics = new ComponentMetrics('detector');
  private readonly reloads = new Counter({
    name: 'citysoc_detector_rule_reloads_total',
    help: 'Rule set reloads by result (applied, or rejected because a file or rule became broken)',
    labelNames: ['result', 'trigger'],
    registers: [this.metrics.registry],
  });
  private readonly reloadOk = new Gauge({
    name: 'citysoc_detector_rule_reload_ok',
    help: '1 when the last rule reload was applied, 0 when it was rejected (the previous set keeps running)',
    registers: [this.metrics.registry],
  });
  private readonly iocHits = new Counter({
    name: 'citysoc_detector_ioc_matched_events_total',
    help: 'Events whose address or domain is a national IOC (marked in threat.enrichments and citysoc.ioc)',
    registers: [this.metrics.registry],
  });
  private readonly iocCount: Gauge = new Gauge({
    name: 'citysoc_detector_iocs',
    help: 'National IOCs the detector matches events against (KV bucket iocs, filled by the reporter)',
    registers: [this.metrics.registry],
    collect: (): void => this.iocCount.set(this.iocs?.current.size ?? 0),
  });
  private readonly stateErrors = new Counter({
    name: 'citysoc_detector_correlation_state_errors_total',
    help: 'Saved correlation states that could not be read back (missing or corrupt chunk): the windows restarted empty',
    labelNames: ['scope'],
    registers: [this.metrics.registry],
  });
  private bus?: Bus;
  private consumer?: DurableConsumer<EcsEvent | EcsEvent[]>;
  private metricsServer?: { close(): Promise<void> };
  private watchers: FSWatcher[] = [];
  private debounce?: NodeJS.Timeout;
  private reloadSub?: Subscription;
  private readonly lock = new Mutex();
  private iocs?: IocWatch;
  private current!: LoadedRuleSet;
  /** When the running rule set was loaded: its per-rule counters count from then. */
  private statsSince = Date.now();
  private statsTimer?: NodeJS.Timeout;
  private counted = CountedSeqs.of();
  /** Alerts saved with the state (or produced without correlations) and not yet published. */
  private outbox?: AlertOutbox;
  /**
   * The state as last persisted (serialized `{correlatedUpTo, correlatedRanges, state}`), matching what was acked: a
   * failed batch rolls back to it, so a batch snapshots the windows once (to persist), not twice.
   */
  private persisted!: Buffer;
  private partitions?: PartitionedCorrelation;
  private reloadChain: Promise<ReloadStatus> = Promise.resolve(undefined as unknown as ReloadStatus);
  status!: ReloadStatus;

  constructor(@Inject(DETECTOR_CONFIG) private readonly config: DetectorConfig) {}

  /** The running stage-1/stage-2 engine (replaced atomically by a reload). */
  get engine(): DetectionEngine {
    return this.current.engine;
  }

  private get source(): RuleSource {
    return { paths: [this.config.builtinRules, ...this.config.rulePaths], pipeline: this.config.pipeline };
  }

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    // At start a broken pipeline is fatal (nothing sensible to run); a broken rule is quarantined.
    this.current = loadRuleSet(this.source);
    for (const e of this.current.errors) this.logger.warn(`rule quarantined: ${problemLine(e)}`);
    this.status = this.statusOf(true, 'start', []);
    this.reloadOk.set(1);
    const engine = this.current.engine;
    this.logger.log(
      `${engine.active} rules and ${engine.correlations} correlations active from ${this.current.files} files in ${this.source.paths.join(', ')} (pipeline ${this.current.pipeline}); ${engine.notApplicable.length} not applicable to the collected sources; ${this.current.errors.length} quarantined`,
    );
    this.registerRuleMetrics();

    const bus = await openBus(c, 'detector');
    this.bus = bus;
    // Correlation windows in progress survive a restart: their state lives in a KV bucket beside the stream.
    // The bucket is opened even without correlations so that a reload adding one can persist its state.
    const kv = new KvBlobStore(await openKv(bus, `${c.durable}-correlation`, c.natsReplicas), bus.jsm, {
      onCleanupError: (e) => this.logger.warn(`purging replaced correlation state chunks: ${String(e)}`),
    });
    this.outbox = new AlertOutbox((alerts) => this.publishAlerts(bus, alerts));
    await this.restoreState(kv, engine, () => this.ackedUpTo(bus));
    await this.outbox
      .flush()
      .catch((e: unknown) =>
        this.logger.warn(`saved alerts not published yet (retried with the next batch): ${String(e)}`),
      );

    // National IOCs (pulled by the reporter) mark events before the rules see them; rule
    // rules/citysoc/national_ioc.yml turns a mark into an alert.
    this.iocs = await IocWatch.start(await openKv(bus, IOC_BUCKET, c.natsReplicas), (err) =>
      this.logger.warn(`IOC watch: ${err.message}`),
    );

    if (c.correlationPartitions > 0) {
      this.partitions = new PartitionedCorrelation(bus, {
        partitions: c.correlationPartitions,
        instance: c.instance || `${os.hostname()}-${process.pid}`,
        leaseMs: c.leaseMs,
        durable: c.durable,
        replicas: c.natsReplicas,
        batchSize: c.batchSize,
        logger: this.logger,
        engine: () => this.current.engine,
        publishAlerts: (alerts) => this.publishAlerts(bus, alerts),
        onDeadLettered: (reason) => this.metrics.discarded.inc({ component: 'detector', reason }),
        onStateError: () => this.stateErrors.inc({ scope: 'partition' }),
      });
      await this.partitions.start();
    }

    this.reloadSub = bus.nc.subscribe(reloadSubject(c), {
      callback: (err, msg) => {
        if (err) return;
        void this.reload('command').then((st) => msg.respond(Buffer.from(JSON.stringify(st))));
      },
    });
    if (c.watchRules) this.watchRuleFolders();
    if (c.ruleStatsSeconds > 0) await this.publishRuleStats(bus, c.ruleStatsSeconds * 1000);

    // A message is one event or a batch (flow records of one datagram); each record is evaluated as an event.
    this.consumer = await consumeJson<EcsEvent | EcsEvent[]>(
      bus,
      {
        app: 'detector',
        stream: bus.names.eventsStream,
        durable: c.durable,
        // Twice the configured wait: a batch here also waits for the correlation lock.
        ackWaitMs: 2 * bus.timing.ackWaitMs,
        batchSize: c.batchSize,
        logger: this.logger,
        onDeadLettered: (reason) => this.metrics.discarded.inc({ component: 'detector', reason }),
      },
      (messages, messageSeqs) => {
        const { values: events, seqs } = expandBatches(messages, messageSeqs);
        return this.lock.run(() => this.handleBatch(bus, kv, events, seqs));
      },
    );
    if (c.metricsPort >= 0) {
      this.metricsServer = await startMetricsServer(
        this.metrics,
        {
          nats: async () => ({ ok: !bus.nc.isClosed() }),
          // A rejected reload leaves a working detector: reported, not unhealthy.
          rules: async () => ({
            ok: true,
            detail: this.status.ok ? 'last reload applied' : `last reload rejected: ${this.status.errors[0]}`,
          }),
        },
        c.metricsPort,
        c.metricsHost,
      );
    }
    this.logger.log(`detector started; reload command on NATS subject ${reloadSubject(c)}`);
  }

  /**
   * Restores the windows saved by the previous run (chunked, or a legacy single value). A state that cannot
   * be read back is logged, counted and replaced by empty windows: detection goes on (a crash loop would stop
   * every rule, not only the windows in progress); the events acked before are lost to those windows only.
   */
  /** The EVENTS sequence this durable has acked up to (0: none, or no consumer yet). */
  private async ackedUpTo(bus: Bus): Promise<number> {
    return bus.jsm.consumers.info(bus.names.eventsStream, bus.names.durable(this.config.durable)).then(
      (i) => i.ack_floor.stream_seq,
      () => 0,
    );
  }

  /**
   * The saved state; read again for a while when it is missing although this durable has acked events before.
   * Found by the chaos suite: a detector restarted after kill -9 read no state at all (no error, no value),
   * started its windows empty and fired a burst it had already fired, under another window start. A KV
   * stream whose leader lags after a NATS node restart can answer "no message" for a key it will hold; a
   * later read may find it. Still missing after `stateWaitMs`: logged as an error and counted, never silent.
   */
  private async readSavedState(
    kv: KvBlobStore,
    engine: DetectionEngine,
    acked: () => Promise<number>,
  ): Promise<Awaited<ReturnType<KvBlobStore['read']>>> {
    const first = await kv.read(STATE_KEY);
    if (first || engine.correlations === 0 || this.config.stateWaitMs === 0) return first;
    const upTo = await acked();
    if (upTo === 0) return undefined;
    const deadline = Date.now() + this.config.stateWaitMs;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      this.logger.warn(
        `no saved correlation state although durable ${this.config.durable} acked EVENTS up to #${upTo}: reading it again (${attempt})`,
      );
      await new Promise((r) => setTimeout(r, 1000));
      const again = await kv.read(STATE_KEY);
      if (again) return again;
    }
    this.stateErrors.inc({ scope: 'detector' });
    // What the bucket's stream says of itself, for whoever has to find out where the state went.
    const stream = await kv.describe().catch((e: unknown) => `(stream info failed: ${String(e)})`);
    this.logger.error(`correlation state bucket: ${stream}`);
    this.logger.error(
      `no saved correlation state although durable ${this.config.durable} acked EVENTS up to #${upTo} (expected only when correlations were just enabled): correlation windows restart empty, and a window in progress may fire again`,
    );
    return undefined;
  }

  private async restoreState(
    kv: KvBlobStore,
    engine: DetectionEngine,
    acked: () => Promise<number>,
  ): Promise<void> {
    try {
      const saved = await this.readSavedState(kv, engine, acked);
      if (saved && saved.data.length > 0) {
        const parsed = JSON.parse(saved.data.toString('utf8')) as {
          correlatedUpTo: number;
          state: unknown;
          pending?: Alert[];
        };
        engine.restore(parsed.state as Parameters<DetectionEngine['restore']>[0]);
        this.counted = CountedSeqs.fromJSON(parsed);
        // Alerts the previous run saved but may not have published: published again before any new batch.
        this.outbox?.restore(Array.isArray(parsed.pending) ? parsed.pending : []);
        this.persisted = saved.data;
        if (kv.lookupMisses > 0)
          this.logger.warn(
            `correlation state found through a consumer: the stream's last-message lookup missed ${kv.lookupMisses} of its keys`,
          );
        this.logger.log(
          `correlation state restored up to EVENTS #${parsed.correlatedUpTo} (${saved.format}, ${saved.data.length} bytes, KV revision ${saved.revision})`,
        );
      }
    } catch (e) {
      // Anything else (NATS unreachable, a writer racing us) fails the start: nothing is known to be lost.
      if (e instanceof KvBlobError ? e.revision === 0 : !(e instanceof SyntaxError)) throw e;
      const why = e instanceof KvBlobError ? e.message : `is not JSON: ${(e as Error).message}`;
      this.stateErrors.inc({ scope: 'detector' });
      this.logger.error(`correlation state ${why}; correlation windows restart empty`);
      engine.restore(engine.newCorrelator().snapshot());
      this.counted = CountedSeqs.of();
    }
    await kv
      .sweep(STATE_KEY)
      .catch((e: unknown) => this.logger.warn(`correlation state sweep: ${String(e)}`));
    this.persisted ??= this.serialize(this.counted, engine);
  }

  private serialize(counted: CountedSeqs, engine: DetectionEngine, pending: Alert[] = []): Buffer {
    return Buffer.from(JSON.stringify({ ...counted.toJSON(), state: engine.snapshot(), pending }));
  }

  private async handleBatch(bus: Bus, kv: KvBlobStore, events: EcsEvent[], seqs: number[]): Promise<void> {
    // One set per batch: a reload swaps between batches, never inside one.
    const engine = this.current.engine;
    const iocs = this.iocs?.current;
    if (iocs && iocs.size > 0) for (const e of events) if (markIocs(e, iocs).length > 0) this.iocHits.inc();
    const partitions = this.partitions;
    if (partitions) {
      // Correlations run on the partition owners: route the matches there, stored before the ack.
      const out: { subject: string; data: Buffer; msgId: string }[] = [];
      const now = new Date();
      let sent = 0;
      for (const e of events) {
        const r = engine.detectWithMatches(e, now, false);
        sent += r.alerts.length;
        for (const a of r.alerts) out.push(this.alertMessage(bus, a));
        if (engine.correlations > 0 && r.matched.length > 0) out.push(...partitions.records(e, r.matched));
      }
      this.metrics.received.inc({ component: 'detector' }, events.length);
      await bus.publisher.publishAll(out);
      this.metrics.sent.inc({ component: 'detector' }, sent);
      return;
    }
    this.metrics.received.inc({ component: 'detector' }, events.length);
    const now = new Date();
    const alerts: Alert[] = [];
    const counted = this.counted;
    const next = counted.with(seqs);
    // Alerts a previous batch saved but could not publish (the server refused, or we crashed) go first.
    const outbox = this.outbox!;
    await outbox.flush();
    try {
      events.forEach((e, i) => {
        const seq = seqs[i] ?? 0;
        // A redelivered event was already counted by the correlations whose state we restored.
        alerts.push(...engine.detect(e, now, !counted.has(seq)));
      });
      // The windows, the counted sequences and this batch's alerts are saved before any alert is published
      // (a write-ahead outbox): if the save fails, nothing was published and the retry fires the same
      // correlations for the first time; if we crash after it, the restart publishes the saved alerts again
      // (same ids, deduplicated) and skips the events. Publishing first let a failed save or a crash
      // re-fire a correlation from a redelivery whose order differs, under another id (a second alert).
      if (engine.correlations > 0) {
        const value = this.serialize(next, engine, alerts);
        await kv.write(STATE_KEY, value);
        this.persisted = value;
      }
    } catch (err) {
      // Roll the windows back to the persisted state (what the acked events built) so the retry counts this
      // batch once and fires the same correlations again.
      const saved = JSON.parse(this.persisted.toString('utf8')) as { state: unknown };
      engine.restore(saved.state as Parameters<DetectionEngine['restore']>[0]);
      throw err;
    }
    this.counted = next;
    // Saved (or nothing to save): from here a failed publish is retried from the outbox, not recounted.
    await outbox.commit(alerts);
  }

  private alertMessage(bus: Bus, a: Alert): { subject: string; data: Buffer; msgId: string } {
    return {
      subject: bus.names.alertsSubject(a.rule.level),
      data: Buffer.from(JSON.stringify(a)),
      msgId: a.id,
    };
  }

  /** Alerts are stored in ALERTS, deduplicated by their deterministic id. */
  private async publishAlerts(bus: Bus, alerts: Alert[]): Promise<void> {
    await bus.publisher.publishAll(alerts.map((a) => this.alertMessage(bus, a)));
    this.metrics.sent.inc({ component: 'detector' }, alerts.length);
  }

  /** Partitions this replica owns (empty when correlations are not partitioned). */
  ownedPartitions(): number[] {
    return this.partitions?.ownedPartitions() ?? [];
  }

  private statusOf(ok: boolean, trigger: string, errors: string[]): ReloadStatus {
    return {
      ok,
      at: new Date().toISOString(),
      trigger,
      rules: this.current.engine.active,
      correlations: this.current.engine.correlations,
      errors,
      quarantined: this.current.errors.length,
    };
  }

  /**
   * Loads and compiles the rule folders again and swaps the new set in, unless it brings a new problem:
   * then the running set stays and the problem is logged, counted and returned. Reloads run one at a time.
   */
  reload(trigger: string): Promise<ReloadStatus> {
    const run = async (): Promise<ReloadStatus> => {
      let next: LoadedRuleSet;
      try {
        // Compiled while the running set keeps serving batches (the event loop is shared, so a large set
        // delays batches by its compile time; it never mixes two sets inside one batch).
        next = loadRuleSet(this.source);
      } catch (e) {
        const errors = e instanceof PipelineError ? e.errors.map(problemLine) : [String(e)];
        return this.rejected(trigger, errors);
      }
      const fresh = newProblems(this.current.errors, next.errors);
      if (fresh.length > 0) return this.rejected(trigger, fresh.map(problemLine));
      await this.lock.run(() => {
        // Windows in progress carry over; correlations whose content changed start afresh (restore drops them).
        next.engine.restore(this.current.engine.snapshot());
        this.current = next;
        this.statsSince = Date.now();
      });
      this.reloads.inc({ result: 'applied', trigger });
      this.reloadOk.set(1);
      this.status = this.statusOf(true, trigger, next.errors.map(problemLine));
      this.logger.log(
        `rules reloaded (${trigger}): ${next.engine.active} rules, ${next.engine.correlations} correlations, ${next.errors.length} quarantined`,
      );
      return this.status;
    };
    this.reloadChain = this.reloadChain.then(run, run);
    return this.reloadChain;
  }

  private rejected(trigger: string, errors: string[]): ReloadStatus {
    for (const e of errors) this.logger.error(`rule reload rejected, previous rules keep running: ${e}`);
    this.reloads.inc({ result: 'rejected', trigger });
    this.reloadOk.set(0);
    this.status = this.statusOf(false, trigger, errors);
    return this.status;
  }

  private watchRuleFolders(): void {
    const schedule = (): void => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload('watch'), this.config.reloadDebounceMs);
    };
    for (const p of this.source.paths) {
      try {
        const recursive = statSync(p).isDirectory();
        const w = watch(p, { recursive }, schedule);
        w.on('error', (e) => this.logger.warn(`watching ${p} stopped: ${e.message}`));
        this.watchers.push(w);
      } catch (e) {
        this.logger.warn(`cannot watch ${p}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /**
   * Per-rule cost for the console: a snapshot of every rule's counters under this replica's key, every
   * interval (the API sums fresh snapshots of all replicas). A failed put is retried at the next tick.
   */
  private async publishRuleStats(bus: Bus, intervalMs: number): Promise<void> {
    const kv = await openKv(bus, RULE_STATS_BUCKET, this.config.natsReplicas);
    const instance = this.config.instance || `${os.hostname()}-${process.pid}`;
    const put = async () => {
      const stats = this.current.engine.set.stats();
      const snapshot: RuleStatsSnapshot = {
        instance,
        since: new Date(this.statsSince).toISOString(),
        at: new Date().toISOString(),
        interval_ms: intervalMs,
        events: stats.events,
        rules: stats.rules.map((r) => ({
          id: r.id,
          evaluations: r.evaluations,
          matches: r.matches,
          seconds: r.estimatedNs / 1e9,
        })),
      };
      await kv.put(ruleStatsKey(instance), Buffer.from(JSON.stringify(snapshot)));
    };
    await put().catch((e: Error) => this.logger.warn(`rule stats not published: ${e.message}`));
    this.statsTimer = setInterval(() => {
      put().catch((e: Error) => this.logger.warn(`rule stats not published: ${e.message}`));
    }, intervalMs);
    this.statsTimer.unref();
  }

  /** Per-rule cost as gauges read at scrape time from the running set (reset by a reload). */
  private registerRuleMetrics(): void {
    const top = this.config.ruleMetricsTop;
    const running = (): LoadedRuleSet => this.current;
    const gauge = (
      name: string,
      help: string,
      pick: (r: ReturnType<typeof ruleCostRows>[number]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['rule_id'],
        registers: [this.metrics.registry],
        collect() {
          this.reset();
          for (const r of ruleCostRows(running().engine.set.stats(), top))
            this.set({ rule_id: r.id }, pick(r));
        },
      });
    gauge(
      'citysoc_detector_rule_evaluations',
      'Evaluations of a rule since the rule set was loaded (the literal index let the event through)',
      (r) => r.evaluations,
    );
    gauge(
      'citysoc_detector_rule_matches',
      'Matches of a rule since the rule set was loaded',
      (r) => r.matches,
    );
    gauge(
      'citysoc_detector_rule_seconds',
      'Estimated matching time of a rule since the rule set was loaded (sampled evaluations, scaled)',
      (r) => r.seconds,
    );
    registerCorrelationMetrics(
      this.metrics.registry,
      () => [running().engine.correlationStats(), ...(this.partitions?.correlationStats() ?? [])],
      top,
    );
    new Gauge({
      name: 'citysoc_detector_rules_active',
      help: 'Rules and correlations of the running set',
      labelNames: ['kind'],
      registers: [this.metrics.registry],
      collect() {
        this.set({ kind: 'detection' }, running().engine.active);
        this.set({ kind: 'correlation' }, running().engine.correlations);
        this.set({ kind: 'quarantined' }, running().errors.length);
      },
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.statsTimer) clearInterval(this.statsTimer);
    for (const w of this.watchers) w.close();
    if (this.debounce) clearTimeout(this.debounce);
    this.reloadSub?.unsubscribe();
    this.iocs?.stop();
    await this.consumer?.stop();
    await this.partitions?.stop();
    await this.reloadChain.catch(() => undefined);
    await this.metricsServer?.close();
    await this.bus?.close();
  }
}
