import { type BusNames, type JetStreamPublisher } from '@citysoc/bus';
import { stableId } from '@citysoc/ecs';
import { attachUnits, type UnitRegistry } from '@citysoc/enrich';
import {
  dataOnlyDomain,
  decodeDatagram,
  type FlowJsonOptions,
  flowToEcs,
  type FlowRecord,
  type PendingSet,
  releaseHeld,
  textRecord,
  SequenceTracker,
  type TemplateScope,
} from '@citysoc/flow';
import { type ComponentMetrics } from '@citysoc/observability';
import {
  type BatchItem,
  type BatchLimits,
  batchMessage,
  countEvents,
  EventBatcher,
} from '../../pipeline/batcher';
import { MessageBodies } from '../../pipeline/bodies';
import { type DrillMarker } from '../../pipeline/drill-marker';
import { type KvTemplateStore } from './kv-templates';
import { type FlowMetrics } from './metrics';
import {
  ByteSlab,
  type RecordRun,
  type RenderedDatagram,
  renderRuns,
  type RunWriter,
  unitJsonFor,
  unitJsonV4For,
} from './render';
import { type FlowWorkerPool } from './worker-pool';

export interface DatagramMeta {
  /** Normalised exporter address (see `exporterAddress`). */
  exporter: string;
  port: number;
  inputName: string;
  receivedAt: Date;
}

/** Default batch limits (CITYSOC_FLOW_BATCH_RECORDS / _MS / _BYTES). */
export const FLOW_BATCH: BatchLimits = { events: 1000, ms: 20, bytes: 512 * 1024 };

/** What dead-lettering a run of records needs, should JetStream refuse its batch. */
interface Origin {
  /** The datagram the records came from, or (records released by a template from KV) their JSON array. */
  raw: Buffer;
  body: 'datagram' | 'ecs-json';
  meta: DatagramMeta;
}

/**
 * Datagrams in → their records as ECS documents on EVENTS. The JSON of each record is written straight
 * from its template's plan (`flowToEcsJson`); a datagram's records go to the batcher as one run per
 * version (split past the batch byte limit), and runs from many datagrams share a JetStream message: a
 * JSON array of events, published when it holds `CITYSOC_FLOW_BATCH_RECORDS` records, would pass
 * `CITYSOC_FLOW_BATCH_BYTES` or is `CITYSOC_FLOW_BATCH_MS` old. Ids are deterministic: each record's
 * `event.id` comes from its export header and position (`flowRecordId`), a run is named
 * `<first record id>-<count>`, and the message id hashes the ordered run names (`fb-<sha256>-<records>`),
 * so a retried publish is dropped by JetStream's duplicate window and a record stored twice after a crash
 * (other batch boundaries) by the consumers' idempotent insert. `accept` resolves once the datagram's
 * records are stored (and the templates it taught are in KV). Whatever the decoder could not read is
 * dead-lettered with the raw datagram and the first problem as reason; records before the problem are kept.
 */
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');

const EMPTY: ReturnType<typeof renderRuns> = { runs: [], perVersion: [] };

export class FlowIngest {
  private readonly sequences = new SequenceTracker();
  /** Drill attribution (issue 9); set by the flow source once the drill-runs bucket is loaded. */
  drills?: DrillMarker;
  private readonly batcher: EventBatcher<Origin>;
  private readonly unitJson?: (ip: string) => string | undefined;
  private readonly unitJsonV4?: (ip: number) => string | undefined;
  /** Decoding workers (CITYSOC_FLOW_WORKERS); undefined = everything decoded in this thread. */
  private pool?: FlowWorkerPool;
  /** The previous datagram's turn: results are finished in arrival order, whoever decoded them. */
  private turn: Promise<unknown> = Promise.resolve();
  /** Runs stay well under the batch byte limit so that several datagrams share a message. */
  readonly maxBytes: number;
  /** Where this thread writes its runs' JSON as UTF-8: in place in their batches' message bodies. */
  private readonly bodies: MessageBodies;
  private readonly writer: RunWriter;
  /** EVENTS subjects by flow version. */
  private readonly subjects = new Map<number, string>();

  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly names: BusNames,
    private readonly metrics: ComponentMetrics,
    private readonly flowMetrics: FlowMetrics,
    readonly store: KvTemplateStore,
    private readonly units: UnitRegistry,
    private readonly batch: BatchLimits = FLOW_BATCH,
  ) {
    // Runs too big for a body (or than a batch) go to a slab of their own and are copied.
    this.bodies = new MessageBodies(batch.bytes, new ByteSlab());
    this.writer = { put: (run, version) => this.bodies.put(this.subject(version), run) };
    this.batcher = new EventBatcher<Origin>(
      batch,
      (subject, items, body) => this.publishBatch(subject, items, body),
      this.bodies,
    );
    // attachUnits does nothing with an empty registry; neither does the JSON writer then.
    this.unitJson = unitJsonFor(units);
    this.unitJsonV4 = unitJsonV4For(units);
    this.maxBytes = Math.max(1024, batch.bytes >> 1);
  }

  /** Hands data-only datagrams to decoding workers from now on (the pool follows the store's changes). */
  usePool(pool: FlowWorkerPool): void {
    this.pool = pool;
    this.store.onChange = (c) => pool.broadcast(c);
  }

  /** Posts the datagrams batched for the workers (the listener calls it at the end of each read slice). */
  dispatch(): void {
    this.pool?.dispatch();
  }

  /** Resolves when every datagram accepted so far is decoded and handed to the batcher. */
  idle(): Promise<unknown> {
    return this.turn;
  }

  /** Publishes the batches still filling (shutdown); resolves when every batch in flight is settled. */
  flush(): Promise<void> {
    return this.batcher.flushAll();
  }

  /**
   * Decodes a datagram here, or (data only, templates known, no drill running for it) in a worker; either
   * way its records are published in arrival order. Resolves once they are stored.
   */
  accept(raw: Buffer, meta: DatagramMeta): Promise<void> {
    const component = meta.inputName;
    this.metrics.received.inc({ component });
    this.metrics.receivedBytes.inc({ component }, raw.length);
    const pool = this.pool;
    if (!pool) return this.finish(raw, meta, this.decodeHere(raw, meta));
    const domain = dataOnlyDomain(raw, meta.exporter, this.store);
    let decoded: Promise<RenderedDatagram> | RenderedDatagram;
    if (
      domain !== undefined &&
      pool.accepting &&
      !this.drills?.allocates({ transport: 'flow', address: meta.exporter, domain }, meta.receivedAt)
    )
      decoded = pool.submit(raw, meta.exporter, meta.receivedAt);
    else {
      // What came before goes to the workers first: this datagram may teach templates they must see after it.
      pool.dispatch();
      decoded = this.decodeHere(raw, meta);
    }
    const turn = this.turn.then(() => decoded);
    this.turn = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn.then((d) => this.finish(raw, meta, d));
  }

  /** Decodes in this thread against the store (which learns templates, facts and held sets from it). */
  decodeHere(raw: Buffer, meta: DatagramMeta): RenderedDatagram & { kv: Promise<void> } {
    const { records, layouts, errors, messages } = decodeDatagram(
      raw,
      { exporter: meta.exporter, receivedAt: meta.receivedAt, numericAddresses: true },
      this.store,
    );
    const { runs, perVersion } = records.length > 0 ? this.render(records, layouts, meta) : EMPTY;
    // Templates and facts learnt from this datagram are in KV before its records count as stored.
    return { runs, perVersion, errors, messages, records: records.length, kv: this.store.flush() };
  }

  private render(
    records: FlowRecord[],
    layouts: Parameters<typeof renderRuns>[1],
    meta: DatagramMeta,
  ): ReturnType<typeof renderRuns> {
    const drills = this.drills;
    return renderRuns(records, layouts, {
      receivedAt: meta.receivedAt,
      unitJson: this.unitJson,
      unitJsonV4: this.unitJsonV4,
      factsOf: (scope) => this.store.facts(scope),
      onOptions: (scope) => this.store.saveFacts(scope),
      special: drills
        ? (rec, opts, layout) =>
            drills.allocates(
              { transport: 'flow', address: meta.exporter, domain: rec.domain },
              meta.receivedAt,
            )
              ? this.markedJson(textRecord(rec, layout), opts, meta)
              : undefined
        : undefined,
      maxBytes: this.maxBytes,
      slab: this.writer,
    });
  }

  /** Sequence accounting, records to the batcher, problems to the dead letters; resolves once stored. */
  private async finish(
    raw: Buffer,
    meta: DatagramMeta,
    d: RenderedDatagram & { kv?: Promise<void> },
  ): Promise<void> {
    const component = meta.inputName;
    for (const m of d.messages) {
      const gap = this.sequences.observe(meta.exporter, m);
      if (!gap) continue;
      const labels = { exporter: gap.exporter, version: String(gap.version), domain: String(gap.domain) };
      this.flowMetrics.sequenceGaps.inc(labels);
      if (gap.missing > 0) this.flowMetrics.sequenceMissing.inc(labels, gap.missing);
    }
    const work: Array<Promise<unknown>> = [];
    if (d.runs.length > 0) work.push(this.publishRuns(d.runs, d.perVersion, meta, raw));
    if (d.errors.length > 0) {
      const first = d.errors[0]!;
      this.flowMetrics.malformed.inc({ input: component, reason: first.code });
      work.push(
        this.deadLetter(
          raw,
          first.code,
          d.errors.map((e) => `${e.code}@${e.offset}: ${e.message}`).join('; '),
          {
            ...meta,
            extra: { 'Citysoc-Records-Kept': String(d.records) },
          },
        ),
      );
    }
    if (d.kv) work.push(d.kv);
    await Promise.all(work);
    this.metrics.latency.observe({ component }, (Date.now() - meta.receivedAt.getTime()) / 1000);
  }

  /** Runs into the batcher; resolves when all are stored. */
  private publishRuns(
    runs: RecordRun[],
    perVersion: Array<[number, number]>,
    meta: DatagramMeta,
    raw: Buffer | undefined,
  ): Promise<unknown> {
    const out: Array<Promise<void>> = [];
    for (const r of runs)
      out.push(
        this.batcher.add(this.subject(r.version), {
          id: `${r.firstId}-${r.count}`,
          json: '',
          utf8: r.utf8,
          events: r.count,
          origin: raw
            ? { raw, body: 'datagram', meta }
            : { raw: Buffer.concat([OPEN, r.utf8, CLOSE]), body: 'ecs-json', meta },
        }),
      );
    // Counted per version once per datagram: a labelled prom-client inc per record costs more than decoding it.
    for (const [v, n] of perVersion)
      this.flowMetrics.records.inc({ input: meta.inputName, version: String(v) }, n);
    return Promise.all(out);
  }

  private subject(version: number): string {
    let s = this.subjects.get(version);
    if (s === undefined) {
      s = this.names.eventsSubject('flow', String(version));
      this.subjects.set(version, s);
    }
    return s;
  }

  /** A record of a running drill's exporter: the document object, marked, then serialised. */
  private markedJson(rec: FlowRecord, opts: FlowJsonOptions, meta: DatagramMeta): string {
    const ecs = flowToEcs(rec, opts);
    const doc =
      this.drills?.mark(
        ecs,
        { transport: 'flow', address: meta.exporter, domain: rec.domain },
        meta.receivedAt,
      ) ?? ecs;
    attachUnits(doc, this.units, meta.exporter);
    return JSON.stringify(doc);
  }

  private async publishBatch(
    subject: string,
    items: ReadonlyArray<BatchItem<Origin>>,
    body: Buffer | undefined,
  ): Promise<ReadonlyArray<PromiseSettledResult<void>> | void> {
    try {
      await this.publisher.publish(batchMessage(subject, items, 'fb', body));
    } catch (err) {
      // Retries are the publisher's (unbounded in the collector); what reaches here was refused for good
      // (e.g. above the server's max_payload) or the publisher closed. Each run of records goes to the dead
      // letters with the datagram it came from, so nothing is lost silently.
      const reason = `batch of ${countEvents(items)} flow records refused by JetStream: ${err instanceof Error ? err.message : String(err)}`;
      return Promise.allSettled(
        items.map((i) => {
          this.flowMetrics.malformed.inc({ input: i.origin.meta.inputName, reason: 'publish_failed' });
          return this.deadLetter(i.origin.raw, 'publish_failed', reason, {
            ...i.origin.meta,
            extra: {
              'Citysoc-Flow-Records': i.id,
              'Citysoc-Flow-Body': i.origin.body,
            },
          });
        }),
      );
    }
    for (const i of items) this.metrics.sent.inc({ component: i.origin.meta.inputName }, i.events ?? 1);
  }

  /** Decodes and publishes the sets held for a template another replica stored in KV. */
  async releaseHeld(scope: TemplateScope, templateId: number, inputName: string): Promise<void> {
    const receivedAt = new Date();
    const { records, layouts, errors } = releaseHeld(this.store, scope, templateId, receivedAt.getTime());
    const meta = { exporter: scope.exporter, port: 0, inputName, receivedAt };
    const work: Array<Promise<unknown>> = [];
    if (records.length > 0) {
      const { runs, perVersion } = this.render(records, layouts, meta);
      work.push(this.publishRuns(runs, perVersion, meta, undefined));
    }
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
    const where = meta.extra?.['Citysoc-Flow-Position'] ?? meta.extra?.['Citysoc-Flow-Records'] ?? '';
    const id = stableId('fl-dl', meta.exporter, code, where, raw);
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
