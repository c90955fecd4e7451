import path from 'node:path';
import { bool, int, list, str, url } from './options';
import { projectRoot } from './root';

/** Option groups shared by several apps; each app composes the ones it needs. */
export const natsOptions = {
  natsUrl: url({
    env: 'CITYSOC_NATS_URL',
    description: 'NATS server URL(s), comma-separated for a cluster',
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats', 'tls'],
  }),
  natsCreds: str({
    env: 'CITYSOC_NATS_CREDS',
    description: 'Path to a NATS credentials file (optional)',
    default: '',
  }),
  natsNkeySeedFile: str({
    env: 'CITYSOC_NATS_NKEY_SEED_FILE',
    description: 'Path to a file holding a NATS user nkey seed (when not using a credentials file)',
    default: '',
  }),
  natsTlsCaFile: str({
    env: 'CITYSOC_NATS_TLS_CA_FILE',
    description: 'CA bundle to verify the NATS servers (tls:// URLs)',
    default: '',
  }),
  natsTlsCertFile: str({
    env: 'CITYSOC_NATS_TLS_CERT_FILE',
    description: 'Client certificate for NATS mutual TLS (optional)',
    default: '',
  }),
  natsTlsKeyFile: str({
    env: 'CITYSOC_NATS_TLS_KEY_FILE',
    description: 'Client key for NATS mutual TLS (optional)',
    default: '',
  }),
  natsReplicas: int({
    env: 'CITYSOC_NATS_REPLICAS',
    description: 'JetStream stream replicas (1 on one machine, 3 in a cluster)',
    default: 1,
    min: 1,
    max: 5,
  }),
  natsAckWaitMs: int({
    env: 'CITYSOC_NATS_ACK_WAIT_MS',
    description:
      'How long JetStream waits for a consumer to ack before redelivering: the delay before a crashed replica’s messages go to another (slow batches send in-progress acks)',
    default: 30_000,
    min: 500,
    max: 3_600_000,
  }),
  natsRetryMaxMs: int({
    env: 'CITYSOC_NATS_RETRY_MAX_MS',
    description: 'Longest back-off before a message whose handler failed is retried (doubling from 500 ms)',
    default: 30_000,
    min: 500,
    max: 3_600_000,
  }),
  natsStartRetryMs: int({
    env: 'CITYSOC_NATS_START_RETRY_MS',
    description:
      'How long an app keeps retrying a transient JetStream error while it declares its streams, consumers and buckets at start (a node just restarted, a leader election) before it exits',
    default: 60_000,
    min: 0,
    max: 3_600_000,
  }),
  eventsMaxAgeHours: int({
    env: 'CITYSOC_EVENTS_MAX_AGE_HOURS',
    description: 'How long the EVENTS stream keeps events',
    default: 72,
    min: 1,
  }),
  eventsMaxBytes: int({
    env: 'CITYSOC_EVENTS_MAX_BYTES',
    description: 'Size cap of the EVENTS stream in bytes (-1 = unlimited)',
    default: 10 * 1024 ** 3,
    min: -1,
  }),
  alertsMaxAgeHours: int({
    env: 'CITYSOC_ALERTS_MAX_AGE_HOURS',
    description: 'How long the ALERTS stream keeps alerts',
    default: 24 * 30,
    min: 1,
  }),
  deadletterMaxAgeHours: int({
    env: 'CITYSOC_DEADLETTER_MAX_AGE_HOURS',
    description: 'How long dead-letter records are kept',
    default: 24 * 14,
    min: 1,
  }),
  streamPrefix: str({
    env: 'CITYSOC_STREAM_PREFIX',
    description: 'Prefix for stream, subject and consumer names (isolates tests and tenants)',
    default: '',
  }),
};

export const redisOptions = {
  redisUrl: url({
    env: 'CITYSOC_REDIS_URL',
    description: 'Redis URL for BullMQ queues',
    default: 'redis://127.0.0.1:6379',
    protocols: ['redis', 'rediss'],
  }),
  queuePrefix: str({ env: 'CITYSOC_QUEUE_PREFIX', description: 'BullMQ key prefix', default: 'citysoc' }),
  ...redisConnectionOptions(),
};

/**
 * How to reach Redis beyond its URL: Sentinel, ACL user, TLS material and the persistence requirement.
 * Secrets come from the environment or from files (Docker/Kubernetes secrets), never from the repo.
 */
export function redisConnectionOptions() {
  return {
    redisSentinels: list({
      env: 'CITYSOC_REDIS_SENTINELS',
      description:
        'Redis Sentinel addresses host:port, comma-separated (empty = connect to CITYSOC_REDIS_URL)',
      default: [],
    }),
    redisSentinelName: str({
      env: 'CITYSOC_REDIS_SENTINEL_NAME',
      description: 'Name of the Redis master the Sentinels watch',
      default: 'citysoc',
    }),
    redisUsername: str({
      env: 'CITYSOC_REDIS_USERNAME',
      description: 'Redis ACL user (overrides the URL user)',
      default: '',
    }),
    redisPassword: str({
      env: 'CITYSOC_REDIS_PASSWORD',
      description: 'Redis ACL password (prefer CITYSOC_REDIS_PASSWORD_FILE)',
      default: '',
      secret: true,
    }),
    redisPasswordFile: str({
      env: 'CITYSOC_REDIS_PASSWORD_FILE',
      description: 'File holding the Redis ACL password',
      default: '',
    }),
    redisSentinelPasswordFile: str({
      env: 'CITYSOC_REDIS_SENTINEL_PASSWORD_FILE',
      description: 'File holding the Sentinel password (when Sentinels require auth)',
      default: '',
    }),
    redisTlsCaFile: str({
      env: 'CITYSOC_REDIS_TLS_CA_FILE',
      description: 'CA bundle for Redis TLS (setting it, or a rediss:// URL, turns TLS on)',
      default: '',
    }),
    redisTlsCertFile: str({
      env: 'CITYSOC_REDIS_TLS_CERT_FILE',
      description: 'Client certificate for Redis mutual TLS (optional)',
      default: '',
    }),
    redisTlsKeyFile: str({
      env: 'CITYSOC_REDIS_TLS_KEY_FILE',
      description: 'Client key for Redis mutual TLS (optional)',
      default: '',
    }),
    redisAllowVolatile: bool({
      env: 'CITYSOC_REDIS_ALLOW_VOLATILE',
      description:
        'Report ready even when Redis does not persist (no AOF/RDB): for development only, a crash then loses every queued job',
      default: false,
    }),
  };
}

export const storeOptions = {
  dataDir: str({
    env: 'CITYSOC_DATA_DIR',
    description: 'Folder for the embedded SQLite store and other state',
    default: path.join(projectRoot(), 'data'),
    example: './data',
  }),
};

export const metricsOptions = {
  metricsPort: int({
    env: 'CITYSOC_METRICS_PORT',
    description: "Port of this app's Prometheus /metrics and /health endpoint (0 = off)",
    default: 0,
    min: 0,
    max: 65535,
  }),
  metricsHost: str({
    env: 'CITYSOC_METRICS_HOST',
    description: 'Address the metrics endpoint binds to',
    default: '127.0.0.1',
  }),
};

export const ruleOptions = {
  rulePaths: list({
    env: 'CITYSOC_RULE_PATHS',
    description: 'Extra Sigma rule folders, colon-separated, added to rules/',
    default: [],
    separator: ':',
  }),
};
