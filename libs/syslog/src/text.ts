import { isUtf8 } from 'node:buffer';
import { failure, type ParseFailure } from './types';

export type TextResult = { ok: true; text: string } | ParseFailure;

/** Share of non-printable bytes above which a frame is treated as binary rather than a garbled line. */
const MAX_CONTROL_RATIO = 0.3;

/**
 * Turns one frame into the text the parsers read: trailing CR/LF/NUL (framing leftovers) removed, invalid
 * UTF-8 replaced. Frames that are not text at all are refused here, so no parser ever sees binary data.
 */
export function frameToText(frame: Uint8Array): TextResult {
  let raw = withoutOctetCount(frame);
  // A BOM at the very start (Windows forwarders) is an encoding marker, not part of the message.
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
  let end = raw.length;
  while (end > 0) {
    const b = raw[end - 1]!;
    if (b !== 0x0a && b !== 0x0d && b !== 0x00) break;
    end--;
  }
  if (end === 0) return failure('empty', 'frame is empty');
  let control = 0;
  let high = false;
  let visible = false;
  for (let i = 0; i < end; i++) {
    const b = raw[i]!;
    if (b > 0x20) {
      if (b >= 0x80) high = true;
      else if (b === 0x7f) control++;
      visible = true;
    } else if (b === 0) {
      return failure('not_text', `NUL byte at offset ${i} inside the frame`);
    } else if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
      control++;
    }
  }
  if (!visible) return failure('empty', 'frame holds only whitespace');
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  // latin1 is the cheapest decoder and is exact for pure ASCII, the overwhelmingly common case.
  const text = high ? buf.toString('utf8', 0, end) : buf.toString('latin1', 0, end);
  if (high && !isUtf8(buf.subarray(0, end))) {
    for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) control++;
  }
  if (control > end * MAX_CONTROL_RATIO) {
    return failure('not_text', `${control} of ${end} bytes are control bytes or invalid UTF-8`);
  }
  return { ok: true, text };
}

/**
 * Some senders (syslog-ng's loggen, relays configured for TCP) keep the RFC 6587 `MSG-LEN SP` prefix in UDP
 * datagrams. It is framing, not content, so it is dropped when the count matches the bytes that follow
 * exactly and a `<PRI>` starts them.
 */
function withoutOctetCount(raw: Uint8Array): Uint8Array {
  let i = 0;
  let count = 0;
  while (i < raw.length && i < 9) {
    const b = raw[i]!;
    if (b < 0x30 || b > 0x39) break;
    count = count * 10 + (b - 0x30);
    i++;
  }
  if (i === 0 || raw[0] === 0x30 || raw[i] !== 0x20 || raw[i + 1] !== 0x3c) return raw;
  return count === raw.length - i - 1 ? raw.subarray(i + 1) : raw;
}
