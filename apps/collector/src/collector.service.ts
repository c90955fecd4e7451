import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Bus, openBus } from '@citysoc/bus';
import { readFileSync } from 'node:fs';
import { type ConfigOf } from '@citysoc/config';
import { UnitRegistry } from '@citysoc/enrich';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { type collectorSchema } from './config';
import { Inflight } from './pipeline/inflight';
import { DrillMarker } from './pipeline/drill-marker';
import { SyslogIngest } from './pipeline/ingest';
import { ParsePool, runLimits } from './pipeline/parse-pool';
import { SyslogTcpSource } from './sources/syslog/tcp.source';
import { SyslogUdpSource } from './sources/syslog/udp.source';
import { FlowSource } from './sources/flow/flow.source';
import { SourceMonitor } from './sources/syslog/monitor';
import { CidrSet, parseFormat, type SourceDefaults, SourceRegistry } from './sources/syslog/policy';

export const COLLECTOR_CONFIG = Symbol('COLLECTOR_CONFIG');

/** A broken registry stops the start with every problem listed: silently unattributed events are worse. */
function loadUnits(file: string): { units: UnitRegistry; yaml?: string } {
  if (!file) return { units: UnitRegistry.empty() };
  const yaml = readFileSync(file, 'utf8');
  const { registry, errors } = UnitRegistry.fromYaml(yaml, file);
  if (errors.length > 0)
    throw new Error(`unit registry ${file} is invalid:\n  - ${errors.map((e) => e.message).join('\n  - ')}`);
  // The parse threads rebuild the registry from the very text validated here.
  return { units: registry, yaml };
}
/** The per-source registry, or the defaults for every sender; a broken file stops the start. */
function loadSources(file: string, defaults: SourceDefaults): SourceRegistry {
  if (!file) return SourceRegistry.empty(defaults);
  const { registry, errors } = SourceRegistry.fromYaml(readFileSync(file, 'utf8'), file, defaults);
  if (errors.length > 0)
    throw new Error(`syslog source registry ${file} is invalid:\n  - ${errors.join('\n  - ')}`);
  return registry;
}

/** A listener's own allowlist, else the shared one (both validated by the config schema). */
function allowFor(own: readonly string[], shared: readonly string[]): CidrSet {
  return CidrSet.parse(own.length > 0 ? own : shared).set;
}

export type CollectorConfig = ConfigOf<typeof collectorSchema>;

@Injectable()
export class CollectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('collector');
  private readonly metrics = new ComponentMetrics('collector');
  private bus?: Bus;
  private sources: Array<{ stop(): Promise<void> }> = [];
  private inflight?: Inflight;
  private metricsServer?: { close(): Promise<void> };
  private monitor?: SourceMonitor;
  private drills?: DrillMarker;
  private ingest?: SyslogIngest;
  private pool?: ParsePool;
  /** Ports actually bound (tests ask for port 0). */
  readonly ports: {
    udp?: number;
    tcp?: number;
    tls?: number;
    metrics?: number;
    netflow?: number;
    ipfix?: number;
  } = {};

  constructor(@Inject(COLLECTOR_CONFIG) private readonly config: CollectorConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    // A collector that cannot store must keep retrying while backpressure holds senders, not give up.
    this.bus = await openBus(c, 'collector', Number.POSITIVE_INFINITY);
    const inflight = new Inflight(c.maxInflight);
    this.inflight = inflight;
    this.metrics.beforeCollect(() => this.metrics.inflight.set({ component: 'collector' }, inflight.count));
    const { units, yaml: unitsYaml } = loadUnits(c.unitsFile);
    const sources = loadSources(c.sourcesFile, {
      timezone: c.timezone,
      silentAfterMs: c.silentSeconds * 1000,
      ...(c.rateLimit > 0
        ? { rateLimit: { perSecond: c.rateLimit, burst: c.rateBurst || 2 * c.rateLimit } }
        : {}),
    });
    // With several worker processes, sightings go to worker 0 through the primary (see main.ts).
    const relay =
      c.workerIndex > 0 && process.send
        ? (ip: string, drill?: string) =>
            void process.send?.({ citysocSourceSeen: ip, ...(drill ? { citysocDrillRun: drill } : {}) })
        : undefined;
    const monitor = new SourceMonitor(
      this.metrics,
      sources,
      this.bus.publisher,
      this.bus.names,
      this.logger,
      Date.now,
      relay,
    );
    if (c.workers > 1 && c.workerIndex === 0)
      process.on('message', (m: { citysocSourceSeen?: unknown; citysocDrillRun?: unknown }) => {
        if (typeof m?.citysocSourceSeen === 'string')
          monitor.seenElsewhere(
            m.citysocSourceSeen,
            typeof m.citysocDrillRun === 'string' ? m.citysocDrillRun : undefined,
          );
      });
    this.monitor = monitor;
    const batch = { events: c.syslogBatchEvents, ms: c.syslogBatchMs, bytes: c.syslogBatchBytes };
    if (c.syslogParseThreads > 0)
      this.pool = new ParsePool({
        threads: c.syslogParseThreads,
        ...(unitsYaml !== undefined ? { unitsYaml, unitsFile: c.unitsFile } : {}),
        ...runLimits(batch),
        onCrash: (err) => {
          this.metrics.errors.inc({ component: 'collector', error_type: 'parse_thread' });
          this.logger.error(`a syslog parse thread died; restarted, its batch is redone: ${String(err)}`);
        },
      });
    // A thread that cannot load (a broken install) stops the start instead of dead-lettering every frame.
    await this.pool?.ready().catch((err: unknown) => {
      throw new Error(`syslog parse threads did not start: ${String(err)}`);
    });
    const ingest = new SyslogIngest(
      this.bus.publisher,
      this.bus.names,
      this.metrics,
      c.timezone,
      units,
      sources,
      monitor,
      c.workerIndex,
      batch,
      this.pool,
    );
    // Drill attribution is loaded before any listener binds: the first drill record is already marked.
    this.drills = await DrillMarker.open(this.bus, this.logger);
    ingest.drills = this.drills;
    monitor.drills = this.drills;
    this.ingest = ingest;
    const pin = (name: string) => {
      const f = parseFormat(name);
      return f && f.kind !== 'auto' ? { format: f } : {};
    };
    if (c.syslogUdpPort >= 0) {
      const udp = new SyslogUdpSource(
        {
          host: c.listenHost,
          port: c.syslogUdpPort,
          recvBufferBytes: c.udpRecvBufferBytes,
          maxBacklog: c.udpMaxBacklog,
          maxFrameBytes: c.maxFrameBytes,
          allow: allowFor(c.udpAllow, c.allow),
          monitor,
          ...pin(c.udpFormat),
        },
        ingest,
        inflight,
        this.metrics,
        this.logger,
      );
      this.ports.udp = await udp.start();
      this.sources.push(udp);
    }
    if (c.syslogTcpPort >= 0) {
      const tcp = new SyslogTcpSource(
        {
          host: c.listenHost,
          port: c.syslogTcpPort,
          maxFrameBytes: c.maxFrameBytes,
          maxConnections: c.maxTcpConnections,
          idleSeconds: c.tcpIdleSeconds,
          allow: allowFor(c.tcpAllow, c.allow),
          monitor,
          ...pin(c.tcpFormat),
        },
        ingest,
        inflight,
        this.metrics,
        this.logger,
      );
      this.ports.tcp = await tcp.start();
      this.sources.push(tcp);
    }
    if (c.syslogTlsPort >= 0 && c.tlsCertFile && c.tlsKeyFile) {
      const tlsSource = new SyslogTcpSource(
        {
          host: c.listenHost,
          port: c.syslogTlsPort,
          maxFrameBytes: c.maxFrameBytes,
          maxConnections: c.maxTcpConnections,
          idleSeconds: c.tcpIdleSeconds,
          allow: allowFor(c.tlsAllow, c.allow),
          monitor,
          ...pin(c.tlsFormat),
          tls: {
            certFile: c.tlsCertFile,
            keyFile: c.tlsKeyFile,
            ...(c.tlsClientCaFile ? { clientCaFile: c.tlsClientCaFile } : {}),
          },
        },
        ingest,
        inflight,
        this.metrics,
        this.logger,
      );
      this.ports.tls = await tlsSource.start();
      this.sources.push(tlsSource);
    } else if (c.tlsCertFile || c.tlsKeyFile) {
      throw new Error('CITYSOC_SYSLOG_TLS_CERT and CITYSOC_SYSLOG_TLS_KEY must be set together');
    }
    if (c.flowNetflowPort >= 0 || c.flowIpfixPort >= 0) {
      const flow = new FlowSource(
        {
          host: c.flowHost,
          netflowPort: c.flowNetflowPort,
          ipfixPort: c.flowIpfixPort,
          allow: c.flowAllow,
          recvBufferBytes: c.flowRecvBufferBytes,
          maxBacklog: c.udpMaxBacklog,
          pendingSets: c.flowPendingSets,
          pendingPerExporter: c.flowPendingPerExporter,
          pendingSeconds: c.flowPendingSeconds,
          replicas: c.natsReplicas,
          batch: { events: c.flowBatchRecords, ms: c.flowBatchMs, bytes: c.flowBatchBytes },
          workers: c.flowWorkers,
          unitsFile: c.unitsFile,
        },
        this.bus,
        inflight,
        this.metrics,
        this.logger,
        units,
      );
      this.sources.push(flow);
      flow.drills = this.drills;
      Object.assign(this.ports, await flow.start());
    }
    const nc = this.bus.nc;
    if (c.metricsPort >= 0) {
      const srv = await startMetricsServer(
        this.metrics,
        { nats: async () => ({ ok: !nc.isClosed() }) },
        c.metricsPort,
        c.metricsHost,
      );
      this.metricsServer = srv;
      this.ports.metrics = srv.port;
    }
    monitor.start();
    this.logger.log('collector started');
  }

  async onApplicationShutdown(): Promise<void> {
    this.monitor?.stop();
    this.drills?.stop();
    for (const s of this.sources) await s.stop();
    // Batches still filling are published now rather than after their timer.
    void this.ingest?.flush();
    // Everything accepted is handed on before we disconnect (bounded so a dead NATS cannot hang shutdown).
    await Promise.race([this.inflight?.idle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await this.pool?.close();
    await this.metricsServer?.close();
    await this.bus?.close();
  }
}
