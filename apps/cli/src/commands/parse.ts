import { createReadStream } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { eventId } from '@citysoc/ecs';
import {
  DEFAULT_DECODERS,
  DEFAULT_TIMEZONE,
  decoderByName,
  isValidTimeZone,
  type ParseContext,
  type ParseResult,
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
  SyslogFramer,
} from '@citysoc/syslog';
import { registerParseFlow } from './parse-flow';

/** Longest message the CLI reads; the collector's own limit is configurable, this one just bounds memory. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const SENDER = '127.0.0.1';

/** `auto`, the two envelopes on their own, or one payload decoder by name. */
export function syslogFormats(): string[] {
  return ['auto', 'rfc5424', 'rfc3164', ...DEFAULT_DECODERS.map((d) => d.name)];
}

type Parser = (raw: Buffer, ctx: ParseContext) => ParseResult;

function parserFor(format: string): Parser {
  if (format === 'auto') return (raw, ctx) => parseSyslog(raw, ctx);
  if (format === 'rfc5424') return parseRfc5424;
  if (format === 'rfc3164') return parseRfc3164;
  const d = decoderByName(format);
  if (!d) throw new InvalidArgumentError(`unknown format; one of: ${syslogFormats().join(', ')}`);
  // A pinned decoder still parses the envelope; a message it does not recognize stays plain syslog.
  const decoders = [d];
  return (raw, ctx) => parseSyslog(raw, ctx, { decoders });
}

/** One message per LF (a CR before it is dropped), as bytes: text decoding is the parser's job. */
async function* lineFrames(input: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let tooLong = false;
  const take = (tail: Buffer): Frame => {
    let line = pendingBytes === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (tooLong) {
      tooLong = false;
      return {
        error: { code: 'frame_too_large', message: `message longer than ${MAX_MESSAGE_BYTES} bytes` },
        raw: line,
      };
    }
    return { raw: line };
  };
  for await (const chunk of input) {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      yield take(chunk.subarray(start, i));
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // Keep the start of an overlong line for event.original, drop the middle: memory stays bounded.
      if (pendingBytes + rest.length > MAX_MESSAGE_BYTES) tooLong = true;
      else {
        pending.push(rest);
        pendingBytes += rest.length;
      }
    }
  }
  if (pendingBytes > 0 || tooLong) yield take(Buffer.alloc(0));
}

/** RFC 6587 framing as the collector reads a TCP stream (octet counting, detected from the first bytes). */
async function* octetFrames(input: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  const framer = new SyslogFramer({ maxFrameBytes: MAX_MESSAGE_BYTES, splitOnHeader: false });
  const emit = function* (r: ReturnType<SyslogFramer['push']>): Generator<Frame> {
    // The framer reports errors apart from frames; within one chunk, frames keep their order.
    for (const f of r.frames) yield { raw: f };
    for (const e of r.errors) yield { raw: e.raw, error: { code: e.code, message: e.reason } };
  };
  for await (const chunk of input) yield* emit(framer.push(chunk));
  yield* emit(framer.end());
}

interface Frame {
  raw: Buffer;
  error?: { code: string; message: string };
}

export interface ParseSyslogOptions {
  tz: string;
  received?: string;
  format: string;
  framing: 'lines' | 'octet';
}

/** Writes one JSON line per input message, in order: the ECS document, or the error with the original text. */
export async function parseSyslogStream(
  input: AsyncIterable<Buffer>,
  opts: ParseSyslogOptions,
  out: NodeJS.WritableStream,
): Promise<{ messages: number; failed: number }> {
  const parse = parserFor(opts.format);
  const fixedReceived = opts.received !== undefined ? new Date(opts.received) : undefined;
  let messages = 0;
  let failed = 0;
  const frames = opts.framing === 'octet' ? octetFrames(input) : lineFrames(input);
  for await (const f of frames) {
    messages++;
    let line: string;
    if (f.error) {
      failed++;
      line = errorLine(f.error.code, f.error.message, f.raw);
    } else {
      const r = parse(f.raw, {
        senderIp: SENDER,
        receivedAt: fixedReceived ?? new Date(),
        eventId: eventId(SENDER, f.raw, messages),
        inputName: 'cli',
        transport: 'tcp',
        timezone: opts.tz,
      });
      if (r.ok) line = JSON.stringify(r.event);
      else {
        failed++;
        line = errorLine(r.code, r.reason, f.raw);
      }
    }
    if (!out.write(line + '\n')) await new Promise((resolve) => out.once('drain', resolve));
  }
  return { messages, failed };
}

function errorLine(code: string, message: string, raw: Buffer): string {
  return JSON.stringify({ error: { code, message }, event: { original: raw.toString('utf8') } });
}

function zone(value: string): string {
  if (!isValidTimeZone(value))
    throw new InvalidArgumentError('not an IANA time zone (e.g. Asia/Ho_Chi_Minh)');
  return value;
}

function instant(value: string): string {
  // ISO 8601 with a date part; Date.parse alone would also take "12" or "Nov 27".
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError('not an ISO 8601 time (e.g. 2026-11-27T10:00:00+07:00)');
  return value;
}

function oneOf(values: string[]): (v: string) => string {
  return (v) => {
    if (!values.includes(v)) throw new InvalidArgumentError(`one of: ${values.join(', ')}`);
    return v;
  };
}

export function registerParse(
  program: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  const parse = program.command('parse').description('Parse raw input into ECS documents');
  parse
    .command('syslog')
    .description(
      'One JSON line per input message, in order: the ECS document, or {"error":{"code","message"},"event":{"original"}} for a message that cannot be parsed',
    )
    .argument('[file]', 'input file, or - for standard input', '-')
    .option(
      '--tz <zone>',
      'IANA zone for timestamps that carry none (a zone in the message wins)',
      zone,
      DEFAULT_TIMEZONE,
    )
    .option(
      '--received <iso8601>',
      'receive time to assume (default: now); fixes the year of RFC 3164 times',
      instant,
    )
    .option(
      '--format <name>',
      `auto, or pin one format: ${syslogFormats().slice(1).join(', ')}`,
      oneOf(syslogFormats()),
      'auto',
    )
    .option(
      '--framing <mode>',
      'lines (one message per line) or octet (RFC 6587 octet counting)',
      oneOf(['lines', 'octet']),
      'lines',
    )
    .action(async (file: string, opts: ParseSyslogOptions) => {
      const input = file === '-' ? process.stdin : createReadStream(file);
      await parseSyslogStream(input as AsyncIterable<Buffer>, opts, out);
    });
  registerParseFlow(parse, out, err);
}
