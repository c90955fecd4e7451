import { type EcsEvent } from '@citysoc/ecs';
import { localToUtcMs } from '../time';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import { claimEndpoints, observer, setTimestamp, toInt } from './util';
import { mapWindowsEvent, type WinData } from './windows-events';

/**
 * Windows events forwarded by Snare (and NXLog's Snare output): `MSWinEventLog␉criticality␉log␉record␉date␉
 * event id␉source␉user␉SID type␉event type␉computer␉category␉data␉expanded message␉counter`, tab-separated.
 * The expanded message is Windows' own text; its `Label:  value` pairs, grouped under section headers
 * (`New Logon:`), are read back into the EventData names the other Windows forwarders use.
 */

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};
const DATE = /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** Sections whose Account Name is the account the event is about. */
const TARGET_SECTIONS = new Set([
  'New Logon',
  'Account For Which Logon Failed',
  'Target Account',
  'New Account',
  'Account Whose Credentials Were Used',
  'Account Information',
  'Member',
]);

// Words of a label are one space apart; two or more spaces separate a value from the next label.
const LABEL = /(?:^|\s{2,}|\t)([A-Z][\w()/'.-]*(?: [\w()/'.-]+){0,6}):(?=\s)/g;

/** `Section:  Label:  value  Label:  value …` → section → label → value. */
export function readExpanded(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const marks: Array<{ label: string; start: number; end: number }> = [];
  LABEL.lastIndex = 0;
  for (let m = LABEL.exec(text); m !== null; m = LABEL.exec(text))
    marks.push({ label: m[1]!, start: m.index, end: m.index + m[0].length });
  let section = '';
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i]!;
    const value = text.slice(m.end, marks[i + 1]?.start ?? text.length).trim();
    if (value === '') {
      section = m.label;
      continue;
    }
    let s = out.get(section);
    if (!s) out.set(section, (s = new Map()));
    if (!s.has(m.label)) s.set(m.label, value);
  }
  return out;
}

function first(
  x: Map<string, Map<string, string>>,
  labels: string[],
  sections?: Set<string>,
): string | undefined {
  for (const [section, pairs] of x) {
    if (sections && !sections.has(section)) continue;
    for (const l of labels) {
      const v = pairs.get(l);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  if (!s.startsWith('MSWinEventLog\t')) return false;
  const f = s.split('\t');
  const eventId = f[5];
  if (eventId === undefined || !/^\d{1,5}$/.test(eventId)) return false;
  claimEndpoints(event);
  observer(event, 'Microsoft', 'Windows', 'host');
  const expanded = (f[13] ?? '').trim();
  const x = readExpanded(expanded);
  const subject = new Set(['Subject']);
  const data: WinData['data'] = {
    TargetUserName: first(x, ['Account Name'], TARGET_SECTIONS),
    TargetDomainName: first(x, ['Account Domain'], TARGET_SECTIONS),
    TargetUserSid: first(x, ['Security ID'], TARGET_SECTIONS),
    SubjectUserName: first(x, ['Account Name'], subject),
    SubjectDomainName: first(x, ['Account Domain'], subject),
    SubjectUserSid: first(x, ['Security ID'], subject),
    IpAddress: first(x, ['Source Network Address', 'Client Address', 'Source Address']),
    IpPort: first(x, ['Source Port', 'Client Port']),
    DestAddress: first(x, ['Destination Address']),
    DestPort: first(x, ['Destination Port']),
    LogonType: first(x, ['Logon Type']),
    ProcessName: first(x, ['New Process Name', 'Process Name', 'Application Name']),
    ProcessId: first(x, ['New Process ID', 'Process ID']),
    CommandLine: first(x, ['Process Command Line']),
    WorkstationName: first(x, ['Workstation Name']),
  };
  const type = f[9] ?? '';
  const recordId = toInt(f[3]);
  mapWindowsEvent(event, {
    eventId,
    ...(f[6] ? { provider: f[6] } : {}),
    ...(f[2] ? { channel: f[2] } : {}),
    ...(f[10] ? { computer: f[10] } : {}),
    ...(recordId !== undefined ? { recordId } : {}),
    ...(type === 'Success Audit' ? { auditOutcome: 'success' as const } : {}),
    ...(type === 'Failure Audit' ? { auditOutcome: 'failure' as const } : {}),
    data,
  });
  if (recordId !== undefined) (event.event as Record<string, unknown>).sequence = recordId;
  // Snare's own date has the year; it is the Windows host's local time. A header time with its own offset
  // (RFC 5424) is exact and stays.
  const t = DATE.exec(f[4] ?? '');
  if (t !== null && (fields.timestampMs === undefined || fields.timezone !== undefined)) {
    const mo = MONTHS[t[1]!];
    if (mo !== undefined)
      setTimestamp(
        event,
        localToUtcMs(
          ctx.timeZone,
          Number(t[6]),
          mo,
          Number(t[2]),
          Number(t[3]),
          Number(t[4]),
          Number(t[5]),
          0,
        ),
      );
  }
  if (expanded !== '') event.message = expanded;
  return true;
}

export const snareDecoder: SyslogDecoder = { name: 'snare', decode };
