import { int, metricsOptions, natsOptions, type OptionSpec, str } from '@citysoc/config';
import { isValidTimeZone } from '@citysoc/syslog';
import { flowOptions } from './sources/flow/config';
import { CidrSet, parseFormat } from './sources/syslog/policy';

// Ports: -1 turns a listener off, 0 asks the OS for a free port (tests).
const port = (o: { env: string; description: string; default: number }) => int({ ...o, min: -1, max: 65535 });

export const collectorSchema = {
  ...natsOptions,
  ...metricsOptions,
  metricsPort: port({
    env: 'CITYSOC_COLLECTOR_METRICS_PORT',
    description: 'Collector /metrics and /health port (-1 = off)',
    default: 9101,
  }),
  listenHost: str({
    env: 'CITYSOC_SYSLOG_HOST',
    description: 'Address the syslog listeners bind to (:: = every IPv6 and IPv4 address)',
    default: '::',
  }),
  syslogUdpPort: port({
    env: 'CITYSOC_SYSLOG_UDP_PORT',
    description: 'Syslog UDP port (-1 = off)',
    default: 5514,
  }),
  syslogTcpPort: port({
    env: 'CITYSOC_SYSLOG_TCP_PORT',
    description: 'Syslog TCP port, LF or octet-counted framing detected per connection (-1 = off)',
    default: 5514,
  }),
  syslogTlsPort: port({
    env: 'CITYSOC_SYSLOG_TLS_PORT',
    description: 'Syslog over TLS (RFC 5425) port; active when a certificate and key are set (-1 = off)',
    default: 6514,
  }),
  tlsCertFile: str({
    env: 'CITYSOC_SYSLOG_TLS_CERT',
    description: 'PEM certificate (chain) of the TLS listener',
    default: '',
  }),
  tlsKeyFile: str({
    env: 'CITYSOC_SYSLOG_TLS_KEY',
    description: 'PEM private key of the TLS listener',
    default: '',
    secret: true,
  }),
  tlsClientCaFile: str({
    env: 'CITYSOC_SYSLOG_TLS_CLIENT_CA',
    description: 'PEM CA bundle; when set, senders must present a client certificate it signed',
    default: '',
  }),
  unitsFile: str({
    env: 'CITYSOC_UNITS_FILE',
    description:
      'Unit registry YAML (CIDR → city unit); events are attributed to the units owning their addresses',
    default: '',
    example: './deploy/units.example.yml',
  }),
  maxFrameBytes: int({
    env: 'CITYSOC_SYSLOG_MAX_FRAME_BYTES',
    description: 'Longest syslog frame accepted; longer ones are dead-lettered',
    default: 64 * 1024,
    min: 480,
    max: 16 * 1024 * 1024,
  }),
  maxTcpConnections: int({
    env: 'CITYSOC_SYSLOG_MAX_TCP_CONNECTIONS',
    description: 'Concurrent TCP syslog connections accepted',
    default: 2000,
    min: 1,
  }),
  tcpIdleSeconds: int({
    env: 'CITYSOC_SYSLOG_TCP_IDLE_SECONDS',
    description: 'Idle TCP connections are closed after this long',
    default: 600,
    min: 1,
  }),
  udpRecvBufferBytes: int({
    env: 'CITYSOC_SYSLOG_UDP_RCVBUF',
    description: 'Kernel receive buffer for the UDP socket (bigger rides out bursts)',
    default: 8 * 1024 * 1024,
    min: 65536,
  }),
  timezone: timezone({
    env: 'CITYSOC_SYSLOG_TIMEZONE',
    description: 'IANA zone for syslog timestamps that carry none (RFC 3164)',
    default: 'Asia/Ho_Chi_Minh',
  }),
  allow: cidrs({
    env: 'CITYSOC_SYSLOG_ALLOW',
    description:
      'Comma-separated CIDRs (IPv4/IPv6) allowed to send to every syslog listener; empty = everyone. Refusals are counted',
  }),
  udpAllow: cidrs({
    env: 'CITYSOC_SYSLOG_UDP_ALLOW',
    description: 'CIDR allowlist of the UDP listener (overrides CITYSOC_SYSLOG_ALLOW when set)',
  }),
  tcpAllow: cidrs({
    env: 'CITYSOC_SYSLOG_TCP_ALLOW',
    description: 'CIDR allowlist of the TCP listener (overrides CITYSOC_SYSLOG_ALLOW when set)',
  }),
  tlsAllow: cidrs({
    env: 'CITYSOC_SYSLOG_TLS_ALLOW',
    description: 'CIDR allowlist of the TLS listener (overrides CITYSOC_SYSLOG_ALLOW when set)',
  }),
  udpFormat: format({
    env: 'CITYSOC_SYSLOG_UDP_FORMAT',
    description:
      'Format of the UDP listener: auto (detect), rfc5424, rfc3164 or a decoder name (cef, cisco_asa, …)',
  }),
  tcpFormat: format({
    env: 'CITYSOC_SYSLOG_TCP_FORMAT',
    description: 'Format of the TCP listener: auto, rfc5424, rfc3164 or a decoder name',
  }),
  tlsFormat: format({
    env: 'CITYSOC_SYSLOG_TLS_FORMAT',
    description: 'Format of the TLS listener: auto, rfc5424, rfc3164 or a decoder name',
  }),
  sourcesFile: str({
    env: 'CITYSOC_SYSLOG_SOURCES_FILE',
    description:
      'Per-source registry YAML (name, cidrs, timezone, format, rate_limit, silent_after_seconds); see deploy/sources.example.yml',
    default: '',
    example: './deploy/sources.example.yml',
  }),
  rateLimit: int({
    env: 'CITYSOC_SYSLOG_RATE_LIMIT',
    description:
      'Messages per second accepted from one source (0 = unlimited); UDP excess is dropped and counted, TCP senders are paused',
    default: 0,
    min: 0,
  }),
  rateBurst: int({
    env: 'CITYSOC_SYSLOG_RATE_BURST',
    description: 'Token-bucket burst of the per-source rate limit (0 = twice the rate)',
    default: 0,
    min: 0,
  }),
  silentSeconds: int({
    env: 'CITYSOC_SYSLOG_SILENT_SECONDS',
    description:
      'A source that sent nothing for this long is reported silent (metric + a source-silent event); 0 = off',
    default: 900,
    min: 0,
  }),
  workers: int({
    env: 'CITYSOC_COLLECTOR_WORKERS',
    description:
      'Collector processes sharing the syslog ports (node:cluster; one per core). Only the first serves /metrics',
    default: 1,
    min: 1,
    max: 64,
  }),
  syslogParseThreads: int({
    env: 'CITYSOC_SYSLOG_PARSE_THREADS',
    description:
      'Threads per collector process that parse, normalize and serialize syslog (worker_threads); the main thread keeps the sockets and publishing. 0 (default) = parse on the main thread. 1 uses the second core of a 2-core box (about 5 % more throughput, higher burst latency); with CITYSOC_COLLECTOR_WORKERS > 1 keep processes × (1 + threads) near the core count',
    default: 0,
    min: 0,
    max: 32,
  }),
  workerIndex: int({
    env: 'CITYSOC_COLLECTOR_WORKER_INDEX',
    description: 'Set by the collector for its own worker processes; leave unset',
    default: 0,
    min: 0,
    max: 63,
  }),
  maxInflight: int({
    env: 'CITYSOC_COLLECTOR_MAX_INFLIGHT',
    description: 'Events accepted but not yet stored in JetStream before TCP readers are paused',
    default: 5000,
    min: 1,
  }),
  udpMaxBacklog: int({
    env: 'CITYSOC_COLLECTOR_UDP_MAX_BACKLOG',
    description: 'UDP datagrams held while JetStream is slow; beyond this they are counted as dropped',
    default: 50_000,
    min: 1,
  }),
  syslogBatchEvents: int({
    env: 'CITYSOC_SYSLOG_BATCH_EVENTS',
    description: 'Syslog events per JetStream message (a JSON array); 1 publishes every event on its own',
    default: 256,
    min: 1,
    max: 10_000,
  }),
  syslogBatchMs: int({
    env: 'CITYSOC_SYSLOG_BATCH_MS',
    description: 'Longest wait for a syslog batch to fill before it is published anyway (milliseconds)',
    default: 20,
    min: 0,
    max: 1000,
  }),
  syslogBatchBytes: int({
    env: 'CITYSOC_SYSLOG_BATCH_BYTES',
    description:
      "Largest JSON body of a syslog batch; stay under the NATS server's max_payload (1 MiB by default)",
    default: 512 * 1024,
    min: 4096,
    max: 64 * 1024 * 1024,
  }),
  ...flowOptions,
};

function timezone(o: { env: string; description: string; default: string }): OptionSpec<string> {
  return {
    ...o,
    parse(raw) {
      if (!isValidTimeZone(raw)) throw new Error('not an IANA time zone (e.g. Asia/Ho_Chi_Minh, UTC)');
      return raw;
    },
  };
}

function cidrs(o: { env: string; description: string }): OptionSpec<string[]> {
  return {
    ...o,
    default: [],
    parse(raw) {
      const entries = raw
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '');
      const { errors } = CidrSet.parse(entries);
      if (errors.length > 0) throw new Error(errors.join('; '));
      return entries;
    },
  };
}

function format(o: { env: string; description: string }): OptionSpec<string> {
  return {
    ...o,
    default: 'auto',
    parse(raw) {
      if (!parseFormat(raw)) throw new Error('expected auto, rfc5424, rfc3164 or a decoder name');
      return raw;
    },
  };
}
