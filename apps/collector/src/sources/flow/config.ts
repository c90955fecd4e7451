import { int, list, type OptionSpec, str } from '@citysoc/config';
import { parseCidr } from '@citysoc/enrich';

// Ports: -1 turns a listener off, 0 asks the OS for a free port (tests), as for the syslog listeners.
const port = (o: { env: string; description: string; default: number }) => int({ ...o, min: -1, max: 65535 });

/** Flow source options; spread into the collector's schema. */
export const flowOptions = {
  flowHost: str({
    env: 'CITYSOC_FLOW_HOST',
    description: 'Address the NetFlow/IPFIX listeners bind to (:: = every IPv6 and IPv4 address)',
    default: '::',
  }),
  flowNetflowPort: port({
    env: 'CITYSOC_FLOW_NETFLOW_PORT',
    description: 'NetFlow v5/v9 UDP port (-1 = off); every version is decoded on either port',
    default: 2055,
  }),
  flowIpfixPort: port({
    env: 'CITYSOC_FLOW_IPFIX_PORT',
    description: 'IPFIX UDP port (-1 = off)',
    default: 4739,
  }),
  flowAllow: cidrList({
    env: 'CITYSOC_FLOW_ALLOW',
    description:
      'Comma-separated CIDRs of exporters whose flows are accepted (empty = any); other datagrams are counted and dropped',
    default: [],
  }),
  flowRecvBufferBytes: int({
    env: 'CITYSOC_FLOW_RCVBUF',
    description: 'Kernel receive buffer of each flow UDP socket (bigger rides out bursts)',
    default: 16 * 1024 * 1024,
    min: 65536,
  }),
  flowWorkers: int({
    env: 'CITYSOC_FLOW_WORKERS',
    description:
      'Worker threads that decode flow data datagrams and write their ECS JSON (0 = all in the main thread); templates and options data are always handled by the main thread, which keeps the workers in step. Costs more CPU per record than 0: worth it only with cores to spare beyond the collector main thread and nats-server',
    default: 0,
    min: 0,
    max: 32,
  }),
  flowBatchRecords: int({
    env: 'CITYSOC_FLOW_BATCH_RECORDS',
    description:
      'Flow records per JetStream message (a JSON array of ECS events, filled from several datagrams)',
    default: 1000,
    min: 1,
    max: 100_000,
  }),
  flowBatchMs: int({
    env: 'CITYSOC_FLOW_BATCH_MS',
    description: 'Longest wait for a flow batch to fill before it is published anyway (milliseconds)',
    default: 20,
    min: 0,
    max: 1000,
  }),
  flowBatchBytes: int({
    env: 'CITYSOC_FLOW_BATCH_BYTES',
    description:
      "Largest JSON body of a flow batch; stay under the NATS server's max_payload (1 MiB by default)",
    default: 512 * 1024,
    min: 16 * 1024,
    max: 64 * 1024 * 1024,
  }),
  flowPendingSets: int({
    env: 'CITYSOC_FLOW_PENDING_SETS',
    description:
      'Data sets held while their template is unknown, over all exporters; beyond this they are dead-lettered',
    default: 4096,
    min: 0,
  }),
  flowPendingPerExporter: int({
    env: 'CITYSOC_FLOW_PENDING_SETS_PER_EXPORTER',
    description:
      'Data sets held for a missing template per exporter address (one noisy exporter cannot fill the store)',
    default: 1024,
    min: 0,
  }),
  flowPendingSeconds: int({
    env: 'CITYSOC_FLOW_PENDING_SECONDS',
    description: 'How long a data set waits for its template before it is dead-lettered',
    default: 60,
    min: 1,
  }),
};

function cidrList(o: { env: string; description: string; default: string[] }): OptionSpec<string[]> {
  const base = list(o);
  return {
    ...base,
    parse(raw) {
      const items = base.parse(raw);
      const bad = items.filter((c) => !parseCidr(c));
      if (bad.length > 0) throw new Error(`not CIDRs: ${bad.join(', ')}`);
      return items;
    },
  };
}
