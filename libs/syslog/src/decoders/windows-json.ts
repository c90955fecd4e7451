import { type EcsEvent } from '@citysoc/ecs';
import { localToUtcMs } from '../time';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import { claimEndpoints, observer, setTimestamp, toInt } from './util';
import { mapWindowsEvent, type WinData } from './windows-events';

/**
 * Windows events forwarded as JSON over syslog: NXLog's im_msvistalog + to_json (flat keys: EventID,
 * SourceName, Channel, Hostname, RecordNumber, EventTime, EventType, and the EventData names) and
 * Winlogbeat-style documents (`winlog.event_id`, `winlog.event_data.*`, `@timestamp`).
 */

/** The JSON object starts within the first bytes (after a tag) and the frame ends with it. */
const MAX_PREFIX = 128;

const NX_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function flatStrings(o: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (o !== null && typeof o === 'object' && !Array.isArray(o))
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) out[k] = str(v);
  return out;
}

/** NXLog im_msvistalog fields that describe the record, not the event's own EventData. */
const NXLOG_ENVELOPE = new Set([
  'EventTime',
  'EventReceivedTime',
  'Hostname',
  'Keywords',
  'EventType',
  'SeverityValue',
  'Severity',
  'EventID',
  'SourceName',
  'ProviderName',
  'ProviderGuid',
  'Version',
  'Task',
  'OpcodeValue',
  'Opcode',
  'RecordNumber',
  'ActivityID',
  'ExecutionProcessID',
  'ExecutionThreadID',
  'ProcessID',
  'ThreadID',
  'Channel',
  'Category',
  'Message',
  'SourceModuleName',
  'SourceModuleType',
  'Domain',
  'AccountName',
  'UserID',
  'AccountType',
]);

function withoutEnvelope(d: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(d)) if (!NXLOG_ENVELOPE.has(k)) out[k] = v;
  return out;
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  const open = s.indexOf('{');
  if (open < 0 || open > MAX_PREFIX || s.charCodeAt(s.length - 1) !== 0x7d) return false;
  const head = s.slice(open, open + 400);
  if (!head.includes('"EventID"') && !head.includes('"winlog"') && !s.includes('"winlog"')) return false;
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(s.slice(open));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
    doc = parsed as Record<string, unknown>;
  } catch {
    return false;
  }
  let w: WinData | undefined;
  let message: string | undefined;
  let ts: number | undefined;
  const wl = doc.winlog as Record<string, unknown> | undefined;
  const winlogbeat = wl !== null && typeof wl === 'object' && str(wl.event_id) !== undefined;
  if (winlogbeat) {
    const keywords = Array.isArray(wl.keywords) ? (wl.keywords as unknown[]) : [];
    const recordId = toInt(str(wl.record_id));
    w = {
      eventId: str(wl.event_id)!,
      ...(str(wl.provider_name) ? { provider: str(wl.provider_name)! } : {}),
      ...(str(wl.channel) ? { channel: str(wl.channel)! } : {}),
      ...(str(wl.computer_name) ? { computer: str(wl.computer_name)! } : {}),
      ...(recordId !== undefined ? { recordId } : {}),
      ...(keywords.includes('Audit Success') ? { auditOutcome: 'success' as const } : {}),
      ...(keywords.includes('Audit Failure') ? { auditOutcome: 'failure' as const } : {}),
      data: flatStrings(wl.event_data),
    };
    message = str(doc.message);
    const at = str(doc['@timestamp']);
    if (at !== undefined) ts = Date.parse(at);
  } else if (str(doc.EventID) !== undefined) {
    const recordId = toInt(str(doc.RecordNumber));
    const type = str(doc.EventType);
    w = {
      eventId: str(doc.EventID)!,
      ...(str(doc.SourceName ?? doc.ProviderName)
        ? { provider: str(doc.SourceName ?? doc.ProviderName)! }
        : {}),
      ...(str(doc.Channel) ? { channel: str(doc.Channel)! } : {}),
      ...(str(doc.Hostname) ? { computer: str(doc.Hostname)! } : {}),
      ...(recordId !== undefined ? { recordId } : {}),
      ...(type === 'AUDIT_SUCCESS' ? { auditOutcome: 'success' as const } : {}),
      ...(type === 'AUDIT_FAILURE' ? { auditOutcome: 'failure' as const } : {}),
      data: flatStrings(doc),
    };
    message = str(doc.Message);
    const t = str(doc.EventTime);
    const m = t !== undefined ? NX_TIME.exec(t) : null;
    // NXLog writes EventTime in the Windows host's local time, without a zone.
    if (m !== null) {
      const p = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
      ts = localToUtcMs(ctx.timeZone, ...p, 0);
    } else if (t !== undefined) ts = Date.parse(t);
  }
  if (w === undefined || !/^\d{1,5}$/.test(w.eventId)) return false;
  claimEndpoints(event);
  observer(event, 'Microsoft', 'Windows', 'host');
  mapWindowsEvent(event, w);
  // The EventData names as Windows wrote them (Elastic's winlog.event_data.*): Sigma's Windows rules read
  // these names (CommandLine, Image, ServiceName …) through the pipeline; without them no SigmaHQ
  // process_creation rule could ever match a forwarded event.
  const eventData = winlogbeat ? w.data : withoutEnvelope(w.data);
  const kept: Record<string, string> = {};
  for (const [k, v] of Object.entries(eventData)) if (v !== undefined && v !== '') kept[k] = v;
  if (Object.keys(kept).length > 0)
    ((event as Record<string, unknown>).winlog as Record<string, unknown>).event_data = kept;
  if (w.recordId !== undefined) (event.event as Record<string, unknown>).sequence = w.recordId;
  if (ts !== undefined && !Number.isNaN(ts)) setTimestamp(event, ts);
  if (message !== undefined && message !== '') event.message = message;
  return true;
}

export const windowsJsonDecoder: SyslogDecoder = { name: 'windows_json', decode };
