import { type EcsEvent } from '@citysoc/ecs';
import { communityId } from '@citysoc/flow';
import { DEFAULT_DECODERS } from './decoders/registry';
import { toEcs } from './ecs';
import { PRI_ABSENT, PRI_INVALID, priInvalidReason, readPri } from './pri';
import { parseRfc3164Fields } from './rfc3164';
import { looksLikeRfc5424, parseRfc5424Fields } from './rfc5424';
import { frameToText } from './text';
import { isValidTimeZone } from './time';
import {
  type DecodeContext,
  DEFAULT_PRIORITY,
  DEFAULT_TIMEZONE,
  failure,
  type ParseContext,
  type ParseResult,
  type SyslogDecoder,
  type SyslogFields,
} from './types';

export { type SyslogDecoder } from './types';

export interface ParseOptions {
  /**
   * Tried in order; the first that accepts the message wins. Default: DEFAULT_DECODERS (auto-detection). Pin
   * a source to one format with `[decoderByName('cef')!]`, or pass `[]` for the envelope only.
   */
  decoders?: readonly SyslogDecoder[];
}

const NO_OPTIONS: ParseOptions = {};

type FieldsResult = { ok: true; fields: SyslogFields } | { ok: false; code: string; reason: string };

function envelope(
  text: string,
  ctx: ParseContext,
  strict: 'rfc5424' | 'rfc3164' | undefined,
  lenientSd = false,
): FieldsResult {
  const timeZone = ctx.timezone ?? DEFAULT_TIMEZONE;
  const receivedMs = ctx.receivedAt.getTime();
  const pri = readPri(text);
  if (pri === PRI_INVALID) return failure('invalid_pri', priInvalidReason(text));
  if (pri === PRI_ABSENT) {
    if (strict === 'rfc5424') return failure('invalid_pri', 'expected <PRI> at col 0');
    if (!isValidTimeZone(timeZone)) return failure('invalid_timezone', `unknown time zone "${timeZone}"`);
    return { ok: true, fields: parseRfc3164Fields(text, 0, DEFAULT_PRIORITY, false, timeZone, receivedMs) };
  }
  const start = pri >> 8;
  const priority = pri & 0xff;
  if (strict === 'rfc5424' || (strict === undefined && looksLikeRfc5424(text, start))) {
    return parseRfc5424Fields(text, start, priority, lenientSd);
  }
  if (!isValidTimeZone(timeZone)) return failure('invalid_timezone', `unknown time zone "${timeZone}"`);
  return { ok: true, fields: parseRfc3164Fields(text, start, priority, true, timeZone, receivedMs) };
}

function run(
  raw: Uint8Array,
  ctx: ParseContext,
  strict: 'rfc5424' | 'rfc3164' | undefined,
  options: ParseOptions,
): ParseResult {
  const t = frameToText(raw);
  if (!t.ok) return t;
  const decoders = strict === undefined ? (options.decoders ?? DEFAULT_DECODERS) : NO_DECODERS;
  const r = envelope(t.text, ctx, strict);
  if (!r.ok) {
    // Some appliances (Check Point) send RFC 5424 headers with their own bracketed payload; keep the strict
    // verdict unless a decoder recognizes what follows the header.
    if (r.code !== 'invalid_structured_data' || decoders.length === 0) return r;
    const lenient = envelope(t.text, ctx, strict, true);
    if (!lenient.ok) return r;
    const event = toEcs(lenient.fields, t.text, ctx);
    return decode(decoders, lenient.fields, event, ctx) ? { ok: true, event } : r;
  }
  const event = toEcs(r.fields, t.text, ctx);
  decode(decoders, r.fields, event, ctx);
  return { ok: true, event };
}

const NO_DECODERS: readonly SyslogDecoder[] = [];
const decodeCtx: DecodeContext = { timeZone: DEFAULT_TIMEZONE, receivedMs: 0 };

function decode(
  decoders: readonly SyslogDecoder[],
  fields: SyslogFields,
  event: EcsEvent,
  ctx: ParseContext,
): boolean {
  if (decoders.length === 0) return false;
  decodeCtx.timeZone = ctx.timezone ?? DEFAULT_TIMEZONE;
  decodeCtx.receivedMs = ctx.receivedAt.getTime();
  for (let i = 0; i < decoders.length; i++) {
    const d = decoders[i]!;
    if (d.decode(fields, event, decodeCtx)) {
      event.citysoc!.parser = d.name;
      finish(event);
      return true;
    }
  }
  return false;
}

/**
 * What every decoded event gets whatever its vendor: the Community ID of its 5-tuple (so a firewall line
 * joins the NetFlow record of the same connection) and related.ip/user for every address and account it names.
 */
function finish(event: EcsEvent): void {
  const src = event.source;
  const dst = event.destination;
  if (src?.ip !== undefined && dst?.ip !== undefined && event.network?.community_id === undefined) {
    const proto = Number(event.network?.iana_number);
    if (Number.isInteger(proto) && proto > 0) {
      const id = communityId(src.ip, dst.ip, proto, src.port ?? 0, dst.port ?? 0);
      if (id !== undefined) event.network!.community_id = id;
    }
  }
  if (src !== undefined) relatedOf(event, src);
  if (dst !== undefined) relatedOf(event, dst);
  const user: { name?: string; effective?: { name?: string } } | undefined = event.user;
  if (user !== undefined) {
    addRelated(event, 'user', user.name);
    addRelated(event, 'user', user.effective?.name);
  }
}

function relatedOf(event: EcsEvent, e: NonNullable<EcsEvent['source']>): void {
  addRelated(event, 'ip', e.ip);
  addRelated(event, 'ip', (e as { nat?: { ip?: string } }).nat?.ip);
  addRelated(event, 'user', e.user?.name);
}

function addRelated(event: EcsEvent, key: 'ip' | 'user', v: string | undefined): void {
  if (v === undefined || v === '' || v === '-') return;
  const r = (event.related ??= {});
  const list = r[key];
  if (list === undefined) r[key] = [v];
  else if (!list.includes(v)) list.push(v);
}

/**
 * Parses one frame (a UDP datagram or a TCP frame) into ECS, detecting RFC 5424 vs RFC 3164. Pure: no I/O
 * and no clock. Only frames that are empty, binary, or claim RFC 5424 / a PRI and break it are refused.
 */
export function parseSyslog(
  raw: Uint8Array,
  ctx: ParseContext,
  options: ParseOptions = NO_OPTIONS,
): ParseResult {
  return run(raw, ctx, undefined, options);
}

/** Strict RFC 5424: anything that is not a valid RFC 5424 message is refused with a reason. */
export function parseRfc5424(raw: Uint8Array, ctx: ParseContext): ParseResult {
  return run(raw, ctx, 'rfc5424', NO_OPTIONS);
}

/** RFC 3164 / BSD syslog with rsyslog-like tolerance, even for frames that look like RFC 5424. */
export function parseRfc3164(raw: Uint8Array, ctx: ParseContext): ParseResult {
  return run(raw, ctx, 'rfc3164', NO_OPTIONS);
}
