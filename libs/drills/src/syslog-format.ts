import { type ZonedParts, zonedParts } from '@citysoc/syslog';
import { DRILL_SD_ID } from './tagging';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Zone arithmetic is the parser's own (libs/syslog): sender and collector agree by construction. */
export { zonedParts };

const two = (n: number) => String(n).padStart(2, '0');

export interface SyslogHeader {
  format: 'rfc3164' | 'rfc5424';
  timeZone: string;
  hostname: string;
  facility: number;
  severity: number;
  /** RFC 5424 APP-NAME when the line has no `tag[pid]:` prefix. */
  app?: string;
  /** Adds the drill SD element (RFC 5424 only; RFC 3164 has nowhere to carry it). */
  runId?: string;
}

const TAG = /^([A-Za-z0-9_./-]{1,48})(?:\[([0-9A-Za-z._-]{1,128})\])?: ?(.*)$/s;

/**
 * A scenario line (`sshd[123]: Failed password …`) framed as the device would send it, dated `ms` in the
 * source's zone: RFC 3164 with a zone-less `Mmm dd hh:mm:ss` (the collector must infer zone and year, as
 * for real devices), RFC 5424 with an offset and the tag split into APP-NAME/PROCID.
 */
export function formatSyslog(line: string, ms: number, h: SyslogHeader): string {
  const pri = `<${h.facility * 8 + h.severity}>`;
  const z = zonedParts(ms, h.timeZone);
  line = fillSendTime(line, ms, z);
  if (h.format === 'rfc3164') {
    const day = String(z.day).padStart(2, ' ');
    return `${pri}${MONTHS[z.month - 1]} ${day} ${two(z.hour)}:${two(z.minute)}:${two(z.second)} ${h.hostname} ${line}`;
  }
  const off =
    z.offsetMin === 0
      ? 'Z'
      : `${z.offsetMin < 0 ? '-' : '+'}${two(Math.floor(Math.abs(z.offsetMin) / 60))}:${two(Math.abs(z.offsetMin) % 60)}`;
  const frac = String(ms % 1000).padStart(3, '0');
  const ts = `${z.year}-${two(z.month)}-${two(z.day)}T${two(z.hour)}:${two(z.minute)}:${two(z.second)}.${frac}${off}`;
  const m = TAG.exec(line);
  const app = m ? m[1]! : (h.app ?? '-');
  const procid = m?.[2] ?? '-';
  const msg = m ? m[3]! : line;
  const sd = h.runId ? `[${DRILL_SD_ID} id="${h.runId}"]` : '-';
  return `${pri}1 ${ts} ${h.hostname} ${app} ${procid} - ${sd} ${msg}`;
}

/** The send-time placeholders a scenario may put in a payload (device clocks such as FortiGate date=/time=). */
function fillSendTime(line: string, ms: number, z: ZonedParts): string {
  if (!line.includes('${@')) return line;
  return line.replace(/\$\{@(date|time|iso|epoch)\}/g, (_m, k: string) => {
    if (k === 'date') return `${z.year}-${two(z.month)}-${two(z.day)}`;
    if (k === 'time') return `${two(z.hour)}:${two(z.minute)}:${two(z.second)}`;
    if (k === 'epoch') return String(Math.floor(ms / 1000));
    return new Date(ms).toISOString();
  });
}

/** One frame on a stream transport: LF-terminated or RFC 6587 octet counting. */
export function frameSyslog(message: string, framing: 'lf' | 'octet'): Buffer {
  const body = Buffer.from(message, 'utf8');
  return framing === 'lf'
    ? Buffer.concat([body, Buffer.from('\n')])
    : Buffer.concat([Buffer.from(`${body.length} `), body]);
}
