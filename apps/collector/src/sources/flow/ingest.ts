import { type BusNames, type JetStreamPublisher, type OutMessage } from '@citysoc/bus';
import { stableId } from '@citysoc/ecs';
import { attachUnits, type UnitRegistry } from '@citysoc/enrich';
import {
  decodeDatagram,
  type FlowEcsOptions,
  flowToEcs,
  type FlowRecord,
  type PendingSet,
  releaseHeld,
  SequenceTracker,
  type TemplateScope,
} from '@citysoc/flow';
import { type ComponentMetrics } from '@citysoc/observability';
import { type DrillMarker } from '../../pipeline/drill-marker';
import { type KvTemplateStore } from './kv-templates';
import { type FlowMetrics } from './metrics';

export interface DatagramMeta {
  /** Normalised exporter address (see `exporterAddress`). */
  exporter: string;
  port: number;
  inputName: string;
  receivedAt: Date;
}

/**
 * Largest JSON body per JetStream message. A 64 KiB datagram can carry over a thousand records; NATS
 * refuses payloads above its max_payload (1 MiB by default).
 */
const MAX_BATCH_BYTES = 768 * 1024;

/**
 * One datagram in → its records as ECS documents on EVENTS, batched: one JetStream message per datagram
 * (split only when the JSON would exceed MAX_BATCH_BYTES) whose body is a JSON array of events. Ids are
 * deterministic: each record's `event.id` comes from its export header and position (`flowRecordId`), the
 * message id is `fb-<first record id>-<count>`, so a replayed datagram is dropped by JetStream's duplicate
 * window and, past it, by the store's idempotent insert. Whatever the decoder could not read is
 * dead-lettered with the raw datagram and the first problem as reason; records before the problem are kept.
 */
export class FlowIngest {
  private readonly sequences = new SequenceTracker();
  /** Drill attribution (issue 9); set by the flow source once the drill-runs bucket is loaded. */
  drills?: DrillMarker;

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly names: BusNames,
    private readonly metrics: ComponentMetrics,
    private readonly flowMetrics: FlowMetrics,
    readonly store: KvTemplateStore,
    private readonly units: UnitRegistry,
  ) {}

  async accept(raw: Buffer, meta: DatagramMeta): Promise<void> {
    const component = meta.inputName;
    this.metrics.received.inc({ component });
    this.metrics.receivedBytes.inc({ component }, raw.length);
    const { records, errors, messages } = decodeDatagram(
      raw,
      { exporter: meta.exporter, receivedAt: meta.receivedAt },
      this.store,
    );
    for (const m of messages) {
      const gap = this.sequences.observe(meta.exporter, m);
      if (!gap) continue;
      const labels = { exporter: gap.exporter, version: String(gap.version), domain: String(gap.domain) };
      this.flowMetrics.sequenceGaps.inc(labels);
      if (gap.missing > 0) this.flowMetrics.sequenceMissing.inc(labels, gap.missing);
    }
    const work: Array<Promise<unknown>> = [];
    if (records.length > 0) work.push(this.publishRecords(records, meta));
    if (errors.length > 0) {
      const first = errors[0]!;
      this.flowMetrics.malformed.inc({ input: component, reason: first.code });
      work.push(
        this.deadLetter(
          raw,
          first.code,
          errors.map((e) => `${e.code}@${e.offset}: ${e.message}`).join('; '),
          {
            ...meta,
            extra: { 'Citysoc-Records-Kept': String(records.length) },
          },
        ),
      );
    }
    // Templates and facts learnt from this datagram are in KV before its records count as stored.
    work.push(this.store.flush());
    await Promise.all(work);
    this.metrics.latency.observe({ component }, (Date.now() - meta.receivedAt.getTime()) / 1000);
  }

  private async publishRecords(records: FlowRecord[], meta: DatagramMeta): Promise<void> {
    const out: OutMessage[] = [];
    let batch: string[] = [];
    let bytes = 2;
    let firstId = '';
    let version = records[0]!.version;
    const flush = () => {
      if (batch.length === 0) return;
      out.push({
        subject: this.names.eventsSubject('flow', String(version)),
        data: Buffer.from(`[${batch.join(',')}]`),
        msgId: `fb-${firstId}-${batch.length}`,
      });
      batch = [];
      bytes = 2;
    };
    const factsSaved = new Set<string>();
    // A datagram's records share one or two scopes: the options object is built once per scope, not per
    // record; an options record (new facts) rebuilds it for the records after it.
    let lastScope: TemplateScope | undefined;
    let lastOpts: FlowEcsOptions = { receivedAt: meta.receivedAt };
    const v5Opts: FlowEcsOptions = { receivedAt: meta.receivedAt };
    for (const rec of records) {
      let opts = v5Opts;
      if (rec.version !== 5) {
        if (
          rec.options ||
          !lastScope ||
          lastScope.version !== rec.version ||
          lastScope.domain !== rec.domain ||
          lastScope.exporter !== rec.exporter
        ) {
          const scope: TemplateScope = { exporter: rec.exporter, version: rec.version, domain: rec.domain };
          if (rec.options) {
            const k = `${rec.version}|${rec.domain}`;
            if (!factsSaved.has(k)) {
              factsSaved.add(k);
              this.store.saveFacts(scope);
            }
          }
          lastScope = scope;
          lastOpts = { receivedAt: meta.receivedAt, facts: this.store.facts(scope) };
        }
        opts = lastOpts;
      }
      const ecs = flowToEcs(rec, opts);
      const doc =
        this.drills?.mark(
          ecs,
          { transport: 'flow', address: meta.exporter, domain: rec.domain },
          meta.receivedAt,
        ) ?? ecs;
      attachUnits(doc, this.units, meta.exporter);
      const json = JSON.stringify(doc);
      if (batch.length > 0 && (bytes + json.length + 1 > MAX_BATCH_BYTES || rec.version !== version)) flush();
      if (batch.length === 0) {
        firstId = doc.event.id;
        version = rec.version;
      }
      batch.push(json);
      bytes += json.length + 1;
    }
    flush();
    // Counted per version once per datagram: a labelled prom-client inc per record costs more than decoding it.
    const perVersion = new Map<number, number>();
    for (const r of records) perVersion.set(r.version, (perVersion.get(r.version) ?? 0) + 1);
    for (const [v, n] of perVersion)
      this.flowMetrics.records.inc({ input: meta.inputName, version: String(v) }, n);
    await this.publisher.publishAll(out);
    this.metrics.sent.inc({ component: meta.inputName }, records.length);
  }

  /** Decodes and publishes the sets held for a template another replica stored in KV. */
  async releaseHeld(scope: TemplateScope, templateId: number, inputName: string): Promise<void> {
    const receivedAt = new Date();
    const { records, errors } = releaseHeld(this.store, scope, templateId, receivedAt.getTime());
    const meta = { exporter: scope.exporter, port: 0, inputName, receivedAt };
    const work: Array<Promise<unknown>> = [];
    if (records.length > 0) work.push(this.publishRecords(records, meta));
    for (const e of errors) this.flowMetrics.malformed.inc({ input: inputName, reason: e.code });
    work.push(this.store.flush());
    await Promise.all(work);
  }

  /** A held data set whose template never came: kept with its bytes and header facts for a replay. */
  deadLetterExpired(set: PendingSet, inputName: string): Promise<void> {
    this.flowMetrics.malformed.inc({ input: inputName, reason: 'template-expired' });
    return this.deadLetter(
      set.data,
      'template-expired',
      `no template ${set.templateId} for ${set.scope.exporter} v${set.scope.version} domain ${set.scope.domain} within the hold time; this is the data set's body`,
      {
        exporter: set.scope.exporter,
        port: 0,
        inputName,
        receivedAt: new Date(set.heldAt),
        extra: {
          'Citysoc-Flow-Version': String(set.scope.version),
          'Citysoc-Flow-Domain': String(set.scope.domain),
          'Citysoc-Flow-Template-Id': String(set.templateId),
          'Citysoc-Flow-Sequence': String(set.sequence),
          'Citysoc-Flow-Export-Time': new Date(set.exportTime).toISOString(),
          'Citysoc-Flow-Sys-Uptime': String(set.sysUptime),
          'Citysoc-Flow-Position': `${set.messageIndex}/${set.setIndex}`,
        },
      },
    );
  }

  private async deadLetter(
    raw: Buffer,
    code: string,
    reason: string,
    meta: DatagramMeta & { extra?: Record<string, string> },
  ): Promise<void> {
    this.metrics.discarded.inc({ component: meta.inputName, reason: code });
    const id = stableId('fl-dl', meta.exporter, code, meta.extra?.['Citysoc-Flow-Position'] ?? '', raw);
    await this.publisher.publish({
      subject: this.names.deadletterSubject('collector', `flow-${code}`),
      data: raw,
      msgId: `dl-${id}`,
      headers: {
        'Citysoc-Reason': `flow-${code}`,
        'Citysoc-Detail': reason.slice(0, 1000),
        'Citysoc-Sender': `${meta.exporter}:${meta.port}`,
        'Citysoc-Input': meta.inputName,
        'Citysoc-Received-At': meta.receivedAt.toISOString(),
        'Citysoc-Transport': 'udp',
        ...meta.extra,
      },
    });
  }
}
