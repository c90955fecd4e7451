import { int, metricsOptions, natsOptions, type OptionSpec, str } from '@citysoc/config';
import { isValidTimeZone } from '@citysoc/syslog';
import { flowOptions } from './sources/flow/config';

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
