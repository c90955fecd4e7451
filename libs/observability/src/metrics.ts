import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every component emits the same counters with fixed names and low-cardinality labels (vector's component
 * spec): received, sent, discarded with a reason, errors with a type. Per-app extras are registered beside.
 */
export class ComponentMetrics {
  readonly registry: Registry;
  readonly received: Counter<'component'>;
  readonly receivedBytes: Counter<'component'>;
  readonly sent: Counter<'component'>;
  readonly discarded: Counter<'component' | 'reason'>;
  readonly errors: Counter<'component' | 'error_type'>;
  readonly latency: Histogram<'component'>;
  readonly inflight: Gauge<'component'>;
  readonly kernelDrops: Gauge<'component'>;

  constructor(app: string, registry = new Registry()) {
    this.registry = registry;
    registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: registry, prefix: 'citysoc_' });
    this.received = new Counter({
      name: 'citysoc_component_received_events_total',
      help: 'Events received by a component',
      labelNames: ['component'],
      registers: [registry],
    });
    this.receivedBytes = new Counter({
      name: 'citysoc_component_received_bytes_total',
      help: 'Bytes received by a component',
      labelNames: ['component'],
      registers: [registry],
    });
    this.sent = new Counter({
      name: 'citysoc_component_sent_events_total',
      help: 'Events a component handed on durably',
      labelNames: ['component'],
      registers: [registry],
    });
    this.discarded = new Counter({
      name: 'citysoc_component_discarded_events_total',
      help: 'Events a component could not process; each is dead-lettered with its raw bytes',
      labelNames: ['component', 'reason'],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'citysoc_component_errors_total',
      help: 'Errors by type',
      labelNames: ['component', 'error_type'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'citysoc_component_latency_seconds',
      help: 'Time from receipt to durable hand-off',
      labelNames: ['component'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    this.kernelDrops = new Gauge({
      name: 'citysoc_component_kernel_dropped_datagrams',
      help: 'Datagrams the kernel dropped on a full UDP receive buffer (from /proc/net/udp), since the socket opened',
      labelNames: ['component'],
      registers: [registry],
    });
    this.inflight = new Gauge({
      name: 'citysoc_component_inflight_events',
      help: 'Events accepted but not yet durable',
      labelNames: ['component'],
      registers: [registry],
    });
  }

  private readonly hooks: Array<() => void> = [];

  /** Gauges that mirror live state are refreshed right before a scrape. */
  beforeCollect(fn: () => void): void {
    this.hooks.push(fn);
  }

  async text(): Promise<string> {
    for (const h of this.hooks) h();
    return this.registry.metrics();
  }
}
