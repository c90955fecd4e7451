import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import { categorize, claimEndpoints, observer, setAddr, toInt, toPort, transport } from './util';

/**
 * pfSense / OPNsense `filterlog` CSV lines, mapped as Elastic's pfsense integration does. Layout:
 * rule,subrule,anchor,tracker,interface,reason,action,direction,ipversion, then IPv4 (tos,ecn,ttl,id,offset,
 * flags,protoid,proto,length,src,dst) or IPv6 (class,flowlabel,hoplimit,proto,protoid,length,src,dst), then
 * for TCP/UDP srcport,dstport,datalen.
 */

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  if (fields.appname !== 'filterlog') return false;
  const f = fields.message.split(',');
  if (f.length < 18) return false;
  const action = f[6]!;
  const dir = f[7];
  const v = f[8];
  let proto: string | undefined;
  let iana: string | undefined;
  let src: string | undefined;
  let dst: string | undefined;
  let next: number;
  if (v === '4') {
    iana = f[15];
    proto = f[16];
    src = f[18];
    dst = f[19];
    next = 20;
  } else if (v === '6') {
    proto = f[12];
    iana = f[13];
    src = f[15];
    dst = f[16];
    next = 17;
  } else {
    return false;
  }
  claimEndpoints(event);
  observer(event, 'netgate', 'pfsense', 'firewall');
  if (f[4] !== undefined && f[4] !== '')
    event.observer = { ...event.observer, ingress: { interface: { name: f[4] } } } as EcsEvent['observer'];
  const p = proto?.toLowerCase();
  const ports = p === 'tcp' || p === 'udp';
  setAddr(event, 'source', src, ports ? toPort(f[next]) : undefined);
  setAddr(event, 'destination', dst, ports ? toPort(f[next + 1]) : undefined);
  if (p !== undefined && p !== '') transport(event, p);
  else transport(event, iana);
  if (iana !== undefined && toInt(iana) !== undefined)
    event.network = { ...event.network, iana_number: iana };
  if (dir === 'in' || dir === 'out')
    event.network = { ...event.network, direction: dir === 'in' ? 'inbound' : 'outbound' };
  const allowed = action === 'pass';
  categorize(event, ['network'], ['connection', allowed ? 'allowed' : 'denied']);
  event.event.action = action;
  event.event.outcome = allowed ? 'success' : 'failure';
  if (f[5] !== undefined && f[5] !== '') (event.event as Record<string, unknown>).reason = f[5];
  if (f[3] !== undefined && f[3] !== '') (event as Record<string, unknown>).rule = { id: f[3] };
  return true;
}

export const pfsenseDecoder: SyslogDecoder = { name: 'pfsense', decode };
