import { drillRunOf } from '@citysoc/drills';
import { type BusNames, type JetStreamPublisher } from '@citysoc/bus';
import { attachUnits, UnitRegistry } from '@citysoc/enrich';
import { type ComponentMetrics } from '@citysoc/observability';
import {
  type FrameError,
  normalizeIp,
  type ParseContext,
  type ParseResult,
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
} from '@citysoc/syslog';
import { type SourceMonitor } from '../sources/syslog/monitor';
import { type DrillMarker } from './drill-marker';
import { type FormatPin, type SourcePolicy, SourceRegistry } from '../sources/syslog/policy';
import { type BatchItem, batchMessage, EventBatcher, type BatchLimits } from './batcher';
import { OccurrenceCounter } from './occurrences';

/** One event per message: what the collector did before batching (tests that count messages use it). */
export const UNBATCHED: BatchLimits = { events: 1, ms: 0, bytes: 512 * 1024 };

/** What dead-lettering an event of a refused batch needs. */
interface Origin {
  raw: Buffer;
  meta: FrameMeta;
}

export interface FrameMeta {
  senderIp: string;
  senderPort: number;
  transport: 'udp' | 'tcp' | 'tls';
  inputName: string;
  receivedAt: Date;
  /** The listener's pinned format; a source's own pin wins. */
  format?: FormatPin;
}

function parseWith(pin: FormatPin | undefined, raw: Buffer, ctx: ParseContext): ParseResult {
  if (!pin || pin.kind === 'auto') return parseSyslog(raw, ctx);
  if (pin.kind === 'envelope')
    return pin.strict === 'rfc5424' ? parseRfc5424(raw, ctx) : parseRfc3164(raw, ctx);
  return parseSyslog(raw, ctx, { decoders: [pin.decoder] });
}

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
    batch: BatchLimits = UNBATCHED,
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

  async accept(raw: Buffer, meta: FrameMeta): Promise<void> {
    const component = meta.inputName;
    this.metrics.received.inc({ component });
    this.metrics.receivedBytes.inc({ component }, raw.length);
    const senderIp = normalizeIp(meta.senderIp);
    const id = this.occurrences.idFor(senderIp, raw);
    const policy = this.sources.lookup(senderIp);
    const sender = { transport: meta.transport, address: senderIp, port: meta.senderPort };
    const result = parseWith(policy.format ?? meta.format, raw, {
      senderIp,
      senderPort: meta.senderPort,
      receivedAt: meta.receivedAt,
      eventId: id,
      inputName: meta.inputName,
      transport: meta.transport,
      timezone: policy.timezone,
    });
    if (!result.ok) {
      this.monitor?.seen(policy, senderIp, this.drills?.runOf(sender, meta.receivedAt));
      await this.deadLetter(raw, result.code, result.reason, { ...meta, senderIp }, id);
      return;
    }
    this.monitor?.skewOf(policy, result.event, meta.receivedAt, component);
    if (policy.registered) (result.event.citysoc ??= {}).source_name = policy.name;
    attachUnits(result.event, this.units, senderIp);
    const event = this.drills?.mark(result.event, sender, meta.receivedAt) ?? result.event;
    // After marking: the silence watch must know whether this frame (the last, perhaps) was a drill's.
    this.monitor?.seen(policy, senderIp, drillRunOf(event));
    await this.batcher.add(this.names.eventsSubject('syslog', meta.transport), {
      id,
      json: JSON.stringify(event),
      origin: { raw, meta: { ...meta, senderIp } },
    });
  }

  private async publishBatch(
    subject: string,
    items: ReadonlyArray<BatchItem<Origin>>,
  ): Promise<ReadonlyArray<PromiseSettledResult<void>> | void> {
    try {
      await this.publisher.publish(batchMessage(subject, items));
    } catch (err) {
      // Retries are the publisher's (unbounded in the collector); what reaches here was refused for good
      // (e.g. larger than the server's max_payload) or the publisher closed. Every event goes to the dead
      // letters with its raw bytes, one message per frame, so a replay rebuilds each of them.
      const reason = `batch of ${items.length} events refused by JetStream: ${err instanceof Error ? err.message : String(err)}`;
      return Promise.allSettled(
        items.map((i) => this.deadLetter(i.origin.raw, 'publish_failed', reason, i.origin.meta, i.id)),
      );
    }
    const now = Date.now();
    for (const i of items) {
      const component = i.origin.meta.inputName;
      this.metrics.sent.inc({ component });
      this.metrics.latency.observe({ component }, (now - i.origin.meta.receivedAt.getTime()) / 1000);
    }
  }

  async rejectFrame(err: FrameError, meta: FrameMeta): Promise<void> {
    this.metrics.received.inc({ component: meta.inputName });
    const senderIp = normalizeIp(meta.senderIp);
    const id = this.occurrences.idFor(senderIp, err.raw);
    this.monitor?.seen(this.sources.lookup(senderIp), senderIp);
    await this.deadLetter(err.raw, err.code, err.reason, { ...meta, senderIp }, id);
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
