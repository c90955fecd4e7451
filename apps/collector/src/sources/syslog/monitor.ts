import { Counter, Gauge, Histogram } from 'prom-client';
import { type BusNames, type JetStreamPublisher, type Logger } from '@citysoc/bus';
import { type EcsEvent, stableId } from '@citysoc/ecs';
import { markDrillEvent } from '@citysoc/drills';
import { type ComponentMetrics } from '@citysoc/observability';
import { SilenceWatch, type SourcePolicy, type SourceRegistry } from './policy';

/** The program name the collector's own health events carry, for Sigma rules (`product: citysoc`). */
export const COLLECTOR_PROGRAM = 'citysoc-collector';

/** At most this many per-source label values; beyond, sources share the label "other". */
const MAX_SOURCE_LABELS = 5000;

/**
 * Per-source health: clock skew (event time − receive time), refusals and rate limiting, and the "gone
 * silent" signal, which is both a gauge and an event on EVENTS (event.action source-silent / source-resumed)
 * so a detection rule can alert on it like on any other event.
 */
export class SourceMonitor {
  private readonly skew: Gauge<'source'>;
  private readonly skewHist: Histogram<'component'>;
  readonly refused: Counter<'component' | 'reason'>;
  readonly rateLimited: Counter<'component' | 'action'>;
  private readonly silent: Gauge<'source'>;
  private readonly labels = new Set<string>();
  private readonly watch: SilenceWatch;
  private timer?: NodeJS.Timeout;

  constructor(
    metrics: ComponentMetrics,
    private readonly registry: SourceRegistry,
    private readonly publisher: JetStreamPublisher,
    private readonly names: BusNames,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /**
     * In a worker other than the first (CITYSOC_COLLECTOR_WORKERS > 1), sightings are relayed to worker 0,
     * which alone judges silence: a source's connection lands on one worker and the others never see it.
     */
    private readonly relay?: (senderIp: string, drill?: string) => void,
  ) {
    const registers = [metrics.registry];
    this.skew = new Gauge({
      name: 'citysoc_syslog_clock_skew_seconds',
      help: 'Event time minus receive time of the last timestamped message from a source (negative: the sender is behind)',
      labelNames: ['source'],
      registers,
    });
    this.skewHist = new Histogram({
      name: 'citysoc_syslog_clock_skew_abs_seconds',
      help: 'Absolute clock skew of timestamped syslog messages per listener',
      labelNames: ['component'],
      buckets: [1, 5, 30, 120, 600, 3600, 86_400],
      registers,
    });
    this.refused = new Counter({
      name: 'citysoc_syslog_refused_total',
      help: 'Connections or datagrams refused by a listener (reason: not_allowed, max_connections)',
      labelNames: ['component', 'reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'citysoc_syslog_rate_limited_total',
      help: 'Messages over a source rate limit (action: dropped for UDP, delayed for TCP/TLS, whose sockets pause)',
      labelNames: ['component', 'action'],
      registers,
    });
    this.silent = new Gauge({
      name: 'citysoc_syslog_source_silent',
      help: '1 while a source has sent nothing for longer than its silent_after_seconds',
      labelNames: ['source'],
      registers,
    });
    this.watch = new SilenceWatch(registry.registered, this.now());
    for (const p of registry.registered)
      if (p.silentAfterMs > 0) this.silent.set({ source: this.label(p.name) }, 0);
  }

  private label(name: string): string {
    if (this.labels.has(name)) return name;
    if (this.labels.size >= MAX_SOURCE_LABELS) return 'other';
    this.labels.add(name);
    return name;
  }

  private readonly relayed = new Map<string, { at: number; drill: string | undefined }>();

  /** Starts the periodic silence check (every quarter of the shortest threshold, 1 s to 60 s). */
  start(): void {
    if (this.relay) return;
    const thresholds = [
      ...this.registry.registered.map((p) => p.silentAfterMs),
      this.registry.lookup('0.0.0.0').silentAfterMs,
    ].filter((ms) => ms > 0);
    if (thresholds.length === 0) return;
    const every = Math.min(60_000, Math.max(1000, Math.floor(Math.min(...thresholds) / 4)));
    this.timer = setInterval(() => void this.check(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * A frame arrived from this source (parsed or not: a source sending garbage is not silent). `drill` is the
   * run the frame was attributed to, if any.
   */
  seen(policy: SourcePolicy, senderIp: string, drill?: string): void {
    if (this.relay) {
      // At most one relay per source and second (enough for thresholds measured in seconds), but always when
      // the frame's drill attribution changes: worker 0 must know whose frame came last.
      if (policy.silentAfterMs <= 0) return;
      const now = this.now();
      const last = this.relayed.get(policy.name);
      if (last && now - last.at < 1000 && last.drill === drill) return;
      if (this.relayed.size >= 10_000) this.relayed.clear();
      this.relayed.set(policy.name, { at: now, drill });
      this.relay(senderIp, drill);
      return;
    }
    if (this.watch.seen(policy, this.now(), drill)) {
      this.silent.set({ source: this.label(policy.name) }, 0);
      void this.publish(policy, senderIp, 'source-resumed', undefined, drill);
    }
  }

  /** A sighting relayed from another worker. */
  seenElsewhere(senderIp: string, drill?: string): void {
    this.seen(this.registry.lookup(senderIp), senderIp, drill);
  }

  /** Records event time − receive time when the message carried its own timestamp. */
  skewOf(policy: SourcePolicy, event: EcsEvent, receivedAt: Date, component: string): void {
    this.skewAt(policy, Date.parse(event['@timestamp']), receivedAt, component);
  }

  /** The same from an event's `@timestamp` in ms (what a parse thread sends back instead of the event). */
  skewAt(policy: SourcePolicy, ts: number, receivedAt: Date, component: string): void {
    const rx = receivedAt.getTime();
    if (Number.isNaN(ts) || ts === rx) return;
    const s = (ts - rx) / 1000;
    this.skew.set({ source: this.label(policy.name) }, s);
    this.skewHist.observe({ component }, Math.abs(s));
  }

  /**
   * Which drill runs are still running (the collector's DrillMarker). A source whose last frame belonged to
   * a running drill goes silent as part of it: the event is marked for that run. When the run is over, the
   * drill sender falling silent is the end of the exercise, not news: no event.
   */
  drills?: { isActive(runId: string): boolean };

  async check(): Promise<void> {
    const now = this.now();
    for (const { policy, lastSeenMs, drill } of this.watch.check(now)) {
      if (drill !== undefined && this.drills?.isActive(drill) !== true) {
        this.logger.log(`syslog source ${policy.name} silent after drill run ${drill} ended: not reported`);
        continue;
      }
      this.silent.set({ source: this.label(policy.name) }, 1);
      await this.publish(
        policy,
        policy.registered ? undefined : policy.name,
        'source-silent',
        lastSeenMs,
        drill,
      );
    }
  }

  private async publish(
    policy: SourcePolicy,
    ip: string | undefined,
    action: 'source-silent' | 'source-resumed',
    lastSeenMs: number | undefined,
    drill: string | undefined,
  ): Promise<void> {
    const event = sourceHealthEvent(policy, ip, action, lastSeenMs, this.now(), drill);
    try {
      await this.publisher.publish({
        subject: this.names.eventsSubject('syslog', 'health'),
        data: Buffer.from(JSON.stringify(event)),
        msgId: event.event.id,
      });
    } catch (err) {
      this.logger.error(`could not publish ${event.event.action} for ${policy.name}: ${String(err)}`);
    }
  }
}

/**
 * The collector's `source-silent` / `source-resumed` health event (pure; the drill offline evaluator builds
 * the same). Marked for the drill run whose frame came last, so a drill's silence stays a drill's.
 */
export function sourceHealthEvent(
  policy: SourcePolicy,
  ip: string | undefined,
  action: 'source-silent' | 'source-resumed',
  lastSeenMs: number | undefined,
  nowMs: number,
  drill?: string,
): EcsEvent {
  const now = new Date(nowMs);
  const silent = action === 'source-silent';
  const message = silent
    ? `syslog source ${policy.name} sent nothing for ${Math.round((now.getTime() - (lastSeenMs ?? 0)) / 1000)} s (threshold ${policy.silentAfterMs / 1000} s)`
    : `syslog source ${policy.name} is sending again`;
  const event: EcsEvent = {
    '@timestamp': now.toISOString(),
    event: {
      id: stableId('ev', COLLECTOR_PROGRAM, action, policy.name, now.getTime()),
      created: now.toISOString(),
      kind: 'event',
      category: ['host'],
      type: ['info'],
      action,
      outcome: silent ? 'failure' : 'success',
      module: 'syslog',
      dataset: 'syslog.health',
      severity: silent ? 4 : 6,
    },
    message,
    observer: { vendor: 'citysoc', product: 'collector', type: 'log-collector' },
    process: { name: COLLECTOR_PROGRAM },
    ...(ip ? { host: { ip: [ip] }, related: { ip: [ip] } } : {}),
    citysoc: {
      input: { name: 'collector', transport: 'internal' },
      parser: 'collector',
      syslog_source: {
        name: policy.name,
        registered: policy.registered,
        silent_after_seconds: policy.silentAfterMs / 1000,
        ...(lastSeenMs !== undefined ? { last_seen: new Date(lastSeenMs).toISOString() } : {}),
      },
    },
  } as unknown as EcsEvent;
  return drill !== undefined ? markDrillEvent(event, drill) : event;
}
