import { type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { connectBus } from './connection';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_RETRY_MAX_MS } from './consumer';
import { busNames, type BusNames } from './names';
import { JetStreamPublisher } from './publisher';
import { DEFAULT_START_RETRY_MS, retryTransient, type StartRetryOptions } from './retry';
import { ensureStreams, streamConfigs, type StreamLimits } from './streams';

export interface BusSettings extends Omit<StreamLimits, 'replicas'> {
  natsReplicas: number;
  natsUrl: string;
  natsCreds: string;
  /** Optional (older callers omit them): nkey seed file and TLS material, '' when unused. */
  natsNkeySeedFile?: string;
  natsTlsCaFile?: string;
  natsTlsCertFile?: string;
  natsTlsKeyFile?: string;
  streamPrefix: string;
  /** Consumer redelivery timing (CITYSOC_NATS_ACK_WAIT_MS / CITYSOC_NATS_RETRY_MAX_MS); 30 s when omitted. */
  natsAckWaitMs?: number;
  natsRetryMaxMs?: number;
  /** CITYSOC_NATS_START_RETRY_MS; DEFAULT_START_RETRY_MS when omitted. */
  natsStartRetryMs?: number;
}

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: BusNames;
  publisher: JetStreamPublisher;
  /** Redelivery timing every consumer of this app declares. */
  timing: { ackWaitMs: number; retryMaxMs: number };
  /** Runs a start-up step again while it fails with a transient bus error (`retryTransient`). */
  startStep<T>(step: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Every app's start: connect, declare the streams idempotently (whichever app starts first creates them). */
export async function openBus(
  settings: BusSettings,
  appName: string,
  publishAttempts = 20,
  hooks: { onStartRetry?: StartRetryOptions['onRetry'] } = {},
): Promise<Bus> {
  const nc = await connectBus({
    servers: settings.natsUrl,
    name: `citysoc-${appName}`,
    ...(settings.natsCreds ? { credsFile: settings.natsCreds } : {}),
    ...(settings.natsNkeySeedFile ? { nkeySeedFile: settings.natsNkeySeedFile } : {}),
    ...(settings.natsTlsCaFile ? { tlsCaFile: settings.natsTlsCaFile } : {}),
    ...(settings.natsTlsCertFile ? { tlsCertFile: settings.natsTlsCertFile } : {}),
    ...(settings.natsTlsKeyFile ? { tlsKeyFile: settings.natsTlsKeyFile } : {}),
  });
  const startStep = <T>(step: string, fn: () => Promise<T>): Promise<T> =>
    retryTransient(`citysoc-${appName}: ${step}`, fn, {
      withinMs: settings.natsStartRetryMs ?? DEFAULT_START_RETRY_MS,
      ...(hooks.onStartRetry ? { onRetry: hooks.onStartRetry } : {}),
    });
  const names = busNames(settings.streamPrefix);
  let jsm: JetStreamManager;
  try {
    jsm = await startStep('declaring the streams', async () => {
      const m = await nc.jetstreamManager();
      await ensureStreams(
        m,
        streamConfigs(names, {
          replicas: settings.natsReplicas,
          eventsMaxAgeHours: settings.eventsMaxAgeHours,
          eventsMaxBytes: settings.eventsMaxBytes,
          alertsMaxAgeHours: settings.alertsMaxAgeHours,
          deadletterMaxAgeHours: settings.deadletterMaxAgeHours,
        }),
      );
      return m;
    });
  } catch (err) {
    // A connection left open would keep reconnecting in a process that is about to exit with this error.
    await nc.close().catch(() => undefined);
    throw err;
  }
  const js = nc.jetstream();
  const publisher = new JetStreamPublisher(nc, { maxAttempts: publishAttempts });
  return {
    nc,
    js,
    jsm,
    names,
    publisher,
    timing: {
      ackWaitMs: settings.natsAckWaitMs ?? DEFAULT_ACK_WAIT_MS,
      retryMaxMs: settings.natsRetryMaxMs ?? DEFAULT_RETRY_MAX_MS,
    },
    startStep,
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
      publisher.close();
    },
  };
}
