import { Counter, Gauge, type Registry } from 'prom-client';
import { type TemplateCacheStats } from '@citysoc/flow';

/** Flow-specific series beside the collector's common ones (received/sent/discarded per input). */
export class FlowMetrics {
  readonly records: Counter<'input' | 'version'>;
  readonly malformed: Counter<'input' | 'reason'>;
  readonly refused: Counter<'input'>;
  readonly sequenceGaps: Counter<'exporter' | 'version' | 'domain'>;
  readonly sequenceMissing: Counter<'exporter' | 'version' | 'domain'>;
  readonly templateMisses: Gauge<'exporter'>;
  readonly pending: Gauge<'what'>;
  readonly storeErrors: Counter<'op'>;
  readonly workerRestarts: Counter;

  constructor(registry: Registry, stats: () => TemplateCacheStats | undefined) {
    const registers = [registry];
    this.records = new Counter({
      name: 'citysoc_flow_records_total',
      help: 'Flow and options data records decoded and published',
      labelNames: ['input', 'version'],
      registers,
    });
    this.malformed = new Counter({
      name: 'citysoc_flow_malformed_datagrams_total',
      help: 'Datagrams the decoder could not read in full (dead-lettered with their raw bytes), by first problem',
      labelNames: ['input', 'reason'],
      registers,
    });
    this.refused = new Counter({
      name: 'citysoc_flow_refused_datagrams_total',
      help: 'Datagrams from exporters outside CITYSOC_FLOW_ALLOW',
      labelNames: ['input'],
      registers,
    });
    this.sequenceGaps = new Counter({
      name: 'citysoc_flow_sequence_gaps_total',
      help: 'Export messages whose header sequence number was not the expected one',
      labelNames: ['exporter', 'version', 'domain'],
      registers,
    });
    this.sequenceMissing = new Counter({
      name: 'citysoc_flow_sequence_missing_total',
      help: 'Estimated loss from sequence gaps (v5 and IPFIX: records; v9: export packets)',
      labelNames: ['exporter', 'version', 'domain'],
      registers,
    });
    this.storeErrors = new Counter({
      name: 'citysoc_flow_template_store_errors_total',
      help: 'Template store (NATS KV) writes or watched entries that failed',
      labelNames: ['op'],
      registers,
    });
    this.workerRestarts = new Counter({
      name: 'citysoc_flow_worker_restarts_total',
      help: 'Flow decoding workers that died and were replaced (their datagrams were decoded in the main thread)',
      registers,
    });
    const misses = new Gauge({
      name: 'citysoc_flow_template_misses',
      help: 'Data sets that arrived before their template, per exporter (since start)',
      labelNames: ['exporter'],
      registers,
      collect() {
        const s = stats();
        if (s) for (const [exporter, n] of s.templateMisses) this.set({ exporter }, n);
      },
    });
    this.templateMisses = misses;
    this.pending = new Gauge({
      name: 'citysoc_flow_pending',
      help: 'Data sets held for their template: sets/bytes now, released/overflow/expired since start',
      labelNames: ['what'],
      registers,
      collect() {
        const s = stats();
        if (!s) return;
        this.set({ what: 'sets' }, s.pendingSets);
        this.set({ what: 'bytes' }, s.pendingBytes);
        this.set({ what: 'released' }, s.pendingReleased);
        this.set({ what: 'overflow' }, s.pendingOverflow);
        this.set({ what: 'expired' }, s.pendingExpired);
      },
    });
  }
}
