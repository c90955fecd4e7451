import { type KV, type KvWatchOptions } from 'nats';
import { type Bus, type BusNames, type JetStreamPublisher, type Logger, openKv } from '@citysoc/bus';
import {
  DRILL_LABEL,
  DRILL_RUNS_BUCKET,
  DRILL_SD_ID,
  DRILL_TAG,
  type DrillRunRecord,
  isDrillRecord,
  markDrillEvent,
  payloadMarker,
  type SenderFacts,
} from '@citysoc/drills';
import { type EcsEvent, stableId } from '@citysoc/ecs';
import { COLLECTOR_PROGRAM } from '../sources/syslog/monitor';

/** Finished runs stay known this long, so records received before the end but ingested after are still marked. */
const KEEP_FINISHED_MS = 10 * 60_000;
/** At most one forged-marker event per sender and minute: a flood of forged lines is one alert, not thousands. */
const FORGED_EVERY_MS = 60_000;

/**
 * Marks records from an active drill allocation (the `<prefix>drill-runs` KV bucket, watched) and strips
 * drill markers nobody registered. The identity comes from the allocation (sender address + source port, a
 * TLS client certificate's fingerprint, or exporter + observation domain, inside the run's window), never from the payload: a payload marker from a
 * sender no running drill owns is removed and reported as a `drill-marker-forged` health event, which
 * `rules/citysoc/drill_marker_forged.yml` turns into an alert.
 */
export class DrillMarker {
  private runs = new Map<string, DrillRunRecord>();
  private allocations: DrillRunRecord[] = [];
  private readonly lastForged = new Map<string, number>();
  private stopWatch?: () => void;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly names: BusNames,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens the bucket and resolves once the current runs are loaded, so the listeners start informed. */
  static async open(bus: Bus, logger: Logger): Promise<DrillMarker> {
    const m = new DrillMarker(bus.publisher, bus.names, logger);
    await m.watch(await openKv(bus, DRILL_RUNS_BUCKET));
    return m;
  }

  async watch(kv: KV): Promise<void> {
    let ready!: () => void;
    const loaded = new Promise<void>((r) => (ready = r));
    const opts: KvWatchOptions = { initializedFn: () => ready() };
    const it = await kv.watch(opts);
    this.stopWatch = () => it.stop();
    void (async () => {
      for await (const e of it) {
        if (e.operation === 'PUT' && e.value.length > 0) {
          try {
            this.runs.set(e.key, JSON.parse(Buffer.from(e.value).toString('utf8')) as DrillRunRecord);
          } catch (err) {
            this.logger.error(`drill run ${e.key}: unreadable registry entry: ${String(err)}`);
          }
        } else this.runs.delete(e.key);
        this.refresh();
      }
    })().catch((err: unknown) => this.logger.error(`drill-runs watch ended: ${String(err)}`));
    await loaded;
  }

  stop(): void {
    this.stopWatch?.();
  }

  /** Runs the marker honours now (running, or finished recently: the window still bounds attribution). */
  private refresh(): void {
    const horizon = this.now() - KEEP_FINISHED_MS;
    this.allocations = [...this.runs.values()].filter(
      (r) => r.status === 'running' || Date.parse(r.window.end) >= horizon,
    );
  }

  /** Test and status hook. */
  get known(): readonly DrillRunRecord[] {
    return this.allocations;
  }

  /**
   * The event to publish for a record: marked with the run when its sender is allocated, stripped of any
   * drill marker it claims otherwise (and reported). `port` is the syslog source port; `domain` the flow
   * observation domain.
   */
  mark<T extends EcsEvent>(event: T, sender: SenderFacts, receivedAt: Date): T {
    if (this.allocations.length > 0) this.refreshIfStale();
    const run = this.allocations.length > 0 ? isDrillRecord(this.allocations, sender, receivedAt) : undefined;
    const claimedLabel = event.labels?.[DRILL_LABEL];
    const claimed = payloadMarker(event) ?? (typeof claimedLabel === 'string' ? claimedLabel : undefined);
    if (run === undefined && claimed === undefined && !event.tags?.includes(DRILL_TAG)) return event;
    // A claim (payload SD marker or a label a decoder copied) must name the run that owns the sender.
    const forged = claimed !== undefined && claimed !== run;
    const clean = forged ? this.strip(event, claimed ?? '', sender.address) : event;
    if (run !== undefined) return markDrillEvent(clean, run);
    // An unallocated record may still carry a bare `drill` tag from its payload: never let it pass as one.
    return clean.tags?.includes(DRILL_TAG)
      ? { ...clean, tags: clean.tags.filter((t) => t !== DRILL_TAG) }
      : clean;
  }

  /**
   * Whether `mark` would mark a record of this sender now. A flow document carries no payload marker, so
   * for flows `mark` changes nothing unless this is true (the flow ingest writes JSON directly otherwise).
   */
  allocates(sender: SenderFacts, receivedAt: Date): boolean {
    return this.runOf(sender, receivedAt) !== undefined;
  }

  /** The run a record from this sender belongs to (for frames that never became an event). */
  runOf(sender: SenderFacts, receivedAt: Date): string | undefined {
    if (this.allocations.length === 0) return undefined;
    this.refreshIfStale();
    return isDrillRecord(this.allocations, sender, receivedAt);
  }

  /** A run still sending or waiting for its detections (running, inside its window). */
  isActive(runId: string): boolean {
    const r = this.runs.get(runId);
    return r !== undefined && r.status === 'running' && Date.parse(r.window.end) >= this.now();
  }

  private lastRefresh = 0;
  private refreshIfStale(): void {
    const n = this.now();
    if (n - this.lastRefresh < 5000) return;
    this.lastRefresh = n;
    this.refresh();
  }

  private strip<T extends EcsEvent>(event: T, claimed: string, address: string): T {
    const out = { ...event } as T & {
      log?: { syslog?: { structured_data?: Record<string, unknown> } };
      citysoc?: Record<string, unknown>;
    };
    if (out.labels && DRILL_LABEL in out.labels) {
      const { [DRILL_LABEL]: _drop, ...rest } = out.labels;
      out.labels = rest;
    }
    if (out.tags) out.tags = out.tags.filter((t) => t !== DRILL_TAG);
    const sd = out.log?.syslog?.structured_data;
    if (sd && DRILL_SD_ID in sd) {
      const { [DRILL_SD_ID]: _sd, ...rest } = sd;
      out.log = { ...out.log, syslog: { ...out.log!.syslog, structured_data: rest } };
    }
    // The claim stays visible for the analyst (not as a marker any filter reads).
    out.citysoc = { ...(out.citysoc ?? {}), drill_marker_forged: claimed };
    this.reportForged(event, claimed, address);
    return out;
  }

  private reportForged(event: EcsEvent, claimed: string, address: string): void {
    const now = this.now();
    if (now - (this.lastForged.get(address) ?? 0) < FORGED_EVERY_MS) return;
    if (this.lastForged.size >= 10_000) this.lastForged.clear();
    this.lastForged.set(address, now);
    const at = new Date(now).toISOString();
    const health = {
      '@timestamp': at,
      event: {
        id: stableId('ev', COLLECTOR_PROGRAM, 'drill-marker-forged', address, now),
        created: at,
        kind: 'event',
        category: ['intrusion_detection'],
        type: ['info'],
        action: 'drill-marker-forged',
        outcome: 'failure',
        module: 'syslog',
        dataset: 'syslog.health',
        severity: 3,
      },
      message: `a record from ${address} claims drill run "${claimed}" but no running drill owns that sender; the marker was removed (event ${event.event.id})`,
      observer: { vendor: 'citysoc', product: 'collector', type: 'log-collector' },
      process: { name: COLLECTOR_PROGRAM },
      source: { ip: address },
      related: { ip: [address] },
      citysoc: {
        input: { name: 'collector', transport: 'internal' },
        parser: 'collector',
        drill_marker: { claimed_run: claimed, event_id: event.event.id },
      },
    };
    void this.publisher
      .publish({
        subject: this.names.eventsSubject('syslog', 'health'),
        data: Buffer.from(JSON.stringify(health)),
        msgId: health.event.id,
      })
      .catch((err: unknown) =>
        this.logger.error(`could not publish drill-marker-forged for ${address}: ${String(err)}`),
      );
  }
}
