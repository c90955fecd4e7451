import { type EcsEvent } from '@citysoc/ecs';

export interface ParseContext {
  senderIp: string;
  senderPort?: number;
  receivedAt: Date;
  /** Assigned by the caller (see eventId() in @citysoc/ecs) so that ids stay deterministic across replays. */
  eventId: string;
  inputName: string;
  transport: 'udp' | 'tcp' | 'tls';
  /** IANA zone for timestamps that carry none (RFC 3164); default DEFAULT_TIMEZONE. */
  timezone?: string;
}

export type ParseErrorCode =
  | 'empty'
  | 'not_text'
  | 'invalid_timezone'
  | 'invalid_pri'
  | 'invalid_version'
  | 'invalid_header'
  | 'invalid_timestamp'
  | 'invalid_hostname'
  | 'invalid_appname'
  | 'invalid_procid'
  | 'invalid_msgid'
  | 'invalid_structured_data';

export interface ParseFailure {
  ok: false;
  code: ParseErrorCode;
  reason: string;
}

export type ParseResult = { ok: true; event: EcsEvent } | { ok: false; code: string; reason: string };

export type StructuredData = Record<string, Record<string, string | string[]>>;

/** The syslog envelope of one message, before it becomes ECS; payload decoders read it. */
export interface SyslogFields {
  parser: 'rfc5424' | 'rfc3164';
  priority: number;
  /** False when the frame had no `<PRI>` and priority is the RFC 3164 default. */
  hasPriority: boolean;
  /** Epoch ms of the header timestamp; undefined when the header had none (NILVALUE or absent). */
  timestampMs: number | undefined;
  /** Zone applied to a zone-less timestamp (ECS event.timezone); undefined when the timestamp carried its own. */
  timezone: string | undefined;
  version: number | undefined;
  hostname: string | undefined;
  appname: string | undefined;
  procid: string | undefined;
  msgid: string | undefined;
  structuredData: StructuredData | undefined;
  /** MSG part; '' when absent. */
  message: string;
  /**
   * Everything after the header (RFC 3164 "MSG part": TAG and CONTENT; RFC 5424: MSG). Payload decoders read
   * this, because a format like `CEF:0|…` would otherwise have lost `CEF` to the tag.
   */
  msgPart: string;
  /** Set when RFC 5424 STRUCTURED-DATA was unparsable and kept as MSG for a payload decoder to claim. */
  structuredDataError?: string;
}

export const DEFAULT_TIMEZONE = 'Asia/Ho_Chi_Minh';
/** RFC 3164 §4.3.3: a relay that receives no PRI uses user.notice. */
export const DEFAULT_PRIORITY = 13;

export function failure(code: ParseErrorCode, reason: string): ParseFailure {
  return { ok: false, code, reason };
}

/** What a decoder may need besides the envelope: the zone and receive time that date the payload's own clock. */
export interface DecodeContext {
  timeZone: string;
  receivedMs: number;
}

/**
 * A payload decoder (CEF, LEEF, a vendor format…) applied after the syslog envelope is parsed; one file each
 * under decoders/, listed in decoders/registry.ts.
 */
export interface SyslogDecoder {
  /** Becomes `citysoc.parser` when the decoder accepts the message. */
  readonly name: string;
  /**
   * Enriches `event` from `fields` (usually `fields.msgPart`) and returns true, or returns false without
   * touching `event` when the message is not in its format. Must not throw on any input, and must reject
   * foreign messages from their first bytes: every decoder sees every message that earlier ones refused.
   */
  decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean;
}
