import {
  type ParseContext,
  type ParseResult,
  parseRfc3164,
  parseRfc5424,
  parseSyslog,
} from '@citysoc/syslog';
import { type FormatPin } from '../sources/syslog/policy';

/** One frame with the listener's or source's pinned format (auto-detection without one). */
export function parseWith(pin: FormatPin | undefined, raw: Buffer, ctx: ParseContext): ParseResult {
  if (!pin || pin.kind === 'auto') return parseSyslog(raw, ctx);
  if (pin.kind === 'envelope')
    return pin.strict === 'rfc5424' ? parseRfc5424(raw, ctx) : parseRfc3164(raw, ctx);
  return parseSyslog(raw, ctx, { decoders: [pin.decoder] });
}
