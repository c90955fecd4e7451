import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type Bus, consumeJson, type DurableConsumer, expandBatches, openBus, openKv } from '@citysoc/bus';
import { type ConfigOf } from '@citysoc/config';
import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { ComponentMetrics, startMetricsServer } from '@citysoc/observability';
import { loadRules } from '@citysoc/sigma';
import { type detectorSchema } from './config';
import { buildEngine, type DetectionEngine } from './engine';

export const DETECTOR_CONFIG = Symbol('DETECTOR_CONFIG');
const STATE_KEY = 'state';
export type DetectorConfig = ConfigOf<typeof detectorSchema>;

@Injectable()
export class DetectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('detector');
  private readonly metrics = new ComponentMetrics('detector');
  private bus?: Bus;
  private consumer?: DurableConsumer<EcsEvent | EcsEvent[]>;
  private metricsServer?: { close(): Promise<void> };
  engine?: DetectionEngine;
  private correlatedUpTo = 0;

  constructor(@Inject(DETECTOR_CONFIG) private readonly config: DetectorConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    const paths = [c.builtinRules, ...c.rulePaths];
    const loaded = loadRules(paths);
    for (const e of loaded.errors) this.logger.warn(`rule quarantined: ${e.file}:${e.line}: ${e.message}`);
    const engine = buildEngine(loaded.rules);
    for (const e of engine.errors) this.logger.warn(`rule quarantined: ${e.file}:${e.line}: ${e.message}`);
    this.engine = engine;
    this.logger.log(
      `${engine.active} rules and ${engine.correlations} correlations active from ${loaded.files} files in ${paths.join(', ')}; ${engine.notApplicable.length} not applicable to the collected sources; ${loaded.errors.length + engine.errors.length} quarantined`,
    );

    const bus = await openBus(c, 'detector');
    this.bus = bus;
    // Correlation windows in progress survive a restart: their state lives in a KV bucket beside the stream.
    const kv =
      engine.correlations > 0 ? await openKv(bus, `${c.durable}-correlation`, c.natsReplicas) : undefined;
    const saved = await kv?.get(STATE_KEY);
    if (saved && saved.value.length > 0) {
      const parsed = JSON.parse(Buffer.from(saved.value).toString('utf8')) as {
        correlatedUpTo: number;
        state: unknown;
      };
      engine.restore(parsed.state as Parameters<DetectionEngine['restore']>[0]);
      this.correlatedUpTo = parsed.correlatedUpTo;
      this.logger.log(`correlation state restored up to EVENTS #${parsed.correlatedUpTo}`);
    }
    // A message is one event or a batch (flow records of one datagram); each record is evaluated as an event.
    this.consumer = await consumeJson<EcsEvent | EcsEvent[]>(
      bus,
      {
        app: 'detector',
        stream: bus.names.eventsStream,
        durable: c.durable,
        ackWaitMs: 60_000,
        batchSize: c.batchSize,
        logger: this.logger,
        onDeadLettered: (reason) => this.metrics.discarded.inc({ component: 'detector', reason }),
      },
      async (messages, messageSeqs) => {
        const { values: events, seqs } = expandBatches(messages, messageSeqs);
        this.metrics.received.inc({ component: 'detector' }, events.length);
        const now = new Date();
        const alerts: Alert[] = [];
        const before = kv ? { upTo: this.correlatedUpTo, state: engine.snapshot() } : undefined;
        let last = this.correlatedUpTo;
        try {
          events.forEach((e, i) => {
            const seq = seqs[i] ?? 0;
            // A redelivered event was already counted by the correlations whose state we restored.
            alerts.push(...engine.detect(e, now, seq > this.correlatedUpTo));
            last = Math.max(last, seq);
          });
          // Alerts are stored in ALERTS (deduplicated by their deterministic id) before the events are acked.
          await bus.publisher.publishAll(
            alerts.map((a) => ({
              subject: bus.names.alertsSubject(a.rule.level),
              data: Buffer.from(JSON.stringify(a)),
              msgId: a.id,
            })),
          );
          // Saved before the batch is acked: a crash after this point redelivers events we then skip.
          if (kv)
            await kv.put(
              STATE_KEY,
              Buffer.from(JSON.stringify({ correlatedUpTo: last, state: engine.snapshot() })),
            );
        } catch (err) {
          // Roll the windows back so the retry counts this batch once and fires the same correlations again.
          if (before) engine.restore(before.state);
          throw err;
        }
        this.correlatedUpTo = last;
        this.metrics.sent.inc({ component: 'detector' }, alerts.length);
      },
    );
    if (c.metricsPort >= 0) {
      this.metricsServer = await startMetricsServer(
        this.metrics,
        { nats: async () => ({ ok: !bus.nc.isClosed() }) },
        c.metricsPort,
        c.metricsHost,
      );
    }
    this.logger.log('detector started');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.stop();
    await this.metricsServer?.close();
    await this.bus?.close();
  }
}
