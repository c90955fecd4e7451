import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped because a UDP socket's receive buffer was full: the loss no application
 * counter can see. Read from /proc/net/udp{,6} (Linux), summed over the sockets bound to `port`.
 */
export function parseUdpDrops(table: string, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let drops = 0;
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (!local || !local.endsWith(`:${hexPort}`)) continue;
    const n = Number(cols[cols.length - 1]);
    if (Number.isFinite(n)) drops += n;
  }
  return drops;
}

export function kernelUdpDrops(port: number): number | undefined {
  let total = 0;
  let found = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      total += parseUdpDrops(readFileSync(file, 'utf8'), port);
      found = true;
    } catch {
      /* not Linux, or no IPv6: report what we can */
    }
  }
  return found ? total : undefined;
}
