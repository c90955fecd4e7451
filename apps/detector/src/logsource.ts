import { getField } from '@citysoc/ecs';

export interface Logsource {
  product?: string;
  category?: string;
  service?: string;
}

type Predicate = (event: Record<string, unknown>) => boolean;

/**
 * Sigma's logsource says which events a rule is about. For syslog-derived ECS events we map Linux services
 * to the program that logs them (data, so adding one is a line). A rule whose logsource we cannot map is
 * not applied to syslog at all: running Windows rules on router logs only produces noise.
 */
const LINUX_SERVICES: Record<string, readonly string[] | 'any'> = {
  sshd: ['sshd'],
  sudo: ['sudo'],
  su: ['su'],
  cron: ['cron', 'CRON', 'crond'],
  auth: [
    'sshd',
    'sudo',
    'su',
    'login',
    'passwd',
    'systemd-logind',
    'polkitd',
    'useradd',
    'usermod',
    'groupadd',
    'chpasswd',
  ],
  syslog: 'any',
  clamav: ['clamd', 'freshclam'],
  vsftpd: ['vsftpd'],
  guacamole: ['guacd'],
};

const isFlow: Predicate = (e) =>
  getField(e, 'event.dataset') === 'flow' && getField(e, 'flow.options_data') !== true;

const programOf = (e: Record<string, unknown>): unknown =>
  getField(e, 'process.name') ?? getField(e, 'log.syslog.appname');

export function logsourcePredicate(ls: Logsource): Predicate | null {
  const isSyslog: Predicate = (e) => getField(e, 'event.module') === 'syslog';
  const product = ls.product?.toLowerCase();
  const service = ls.service?.toLowerCase();
  if (!product && !ls.category && service === 'syslog') return isSyslog;
  if (product === 'linux' && !ls.category) {
    if (!service) return isSyslog;
    const programs = LINUX_SERVICES[service];
    if (!programs) return null;
    if (programs === 'any') return isSyslog;
    return (e) => {
      const p = programOf(e);
      return isSyslog(e) && typeof p === 'string' && programs.includes(p);
    };
  }
  // Flow records (NetFlow/IPFIX, not options data): `product: citysoc` with `service: flow` or
  // `category: network_connection`. Sigma's endpoint network_connection rules name their own product
  // (windows, linux, macos), so they do not reach flows.
  if (product === 'citysoc' && (service === 'flow' || ls.category?.toLowerCase() === 'network_connection'))
    return isFlow;
  // citysoc's own rules for network devices and generic syslog use product: citysoc.
  if (product === 'citysoc') return service ? (e) => isSyslog(e) && programOf(e) === service : isSyslog;
  return null;
}
