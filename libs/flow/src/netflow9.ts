import { allZero, learnTemplate, readFieldSpecs, type SetFormat, type SetWalk, walkMessage } from './sets';
import type { TemplateCache, TemplateField } from './templates';
import type { DecodeContext, DecodeResult } from './types';

export const V9_HEADER = 20;

const V9: SetFormat = {
  templates(w, id, start, end) {
    if (id === 0) templates(w, start, end);
    else if (id === 1) optionTemplates(w, start, end);
  },
  // Flowset ids 2-255 are reserved, so 5, 9 or 10 here is the next message of a glued capture.
  nextMessage(buf, pos, end) {
    const id = buf.readUInt16BE(pos);
    return (
      (id === 9 && end - pos >= V9_HEADER) || (id === 10 && end - pos >= 16) || (id === 5 && end - pos >= 24)
    );
  },
  badSet(w, id, len, pos, end) {
    // Some exporters (Palo Alto) send fixed-size, zero-filled datagrams: trailing zeros are not an error.
    if (allZero(w.buf, pos, end)) return;
    w.out.errors.push({
      code: 'bad-set-length',
      message: `flowset ${id} length ${len} at ${pos} does not fit the datagram`,
      offset: pos,
    });
  },
};

/**
 * Decodes one NetFlow v9 message (RFC 3954). v9 headers carry no length, so the message runs to the end
 * of the datagram or to the next message header. Returns the end offset, or -1 when the header is unusable.
 */
export function decodeV9(
  buf: Buffer,
  off: number,
  ctx: DecodeContext,
  cache: TemplateCache,
  messageIndex: number,
  out: DecodeResult,
): number {
  const end = buf.length;
  if (end - off < V9_HEADER) {
    out.errors.push({ code: 'short-datagram', message: 'NetFlow v9 header truncated', offset: off });
    return -1;
  }
  const sysUptime = buf.readUInt32BE(off + 4);
  const exportTime = buf.readUInt32BE(off + 8) * 1000;
  const sequence = buf.readUInt32BE(off + 12);
  const domain = buf.readUInt32BE(off + 16);
  const pos = off + V9_HEADER;
  return walkMessage(
    V9,
    buf,
    ctx,
    cache,
    messageIndex,
    9,
    domain,
    sequence,
    exportTime,
    sysUptime,
    pos,
    end,
    out,
  );
}

function templates(w: SetWalk, start: number, end: number): void {
  const { buf } = w;
  let p = start;
  while (end - p >= 4) {
    const templateId = buf.readUInt16BE(p);
    const count = buf.readUInt16BE(p + 2);
    if (templateId < 256) break; // padding
    if (p + 4 + count * 4 > end) {
      w.out.errors.push({
        code: 'bad-template',
        message: `template ${templateId} overruns its flowset`,
        offset: p,
        templateId,
      });
      return;
    }
    p += 4;
    if (count === 0) {
      w.cache.withdraw(w.scope, templateId);
      continue;
    }
    const fields: TemplateField[] = [];
    p = readFieldSpecs(buf, p, end, count, false, false, fields);
    learnTemplate(w, { version: 9, templateId, options: false, scopeCount: 0, fields });
  }
}

function optionTemplates(w: SetWalk, start: number, end: number): void {
  const { buf } = w;
  let p = start;
  while (end - p >= 6) {
    const templateId = buf.readUInt16BE(p);
    const scopeLen = buf.readUInt16BE(p + 2);
    const optLen = buf.readUInt16BE(p + 4);
    if (templateId < 256) break; // padding
    if (scopeLen % 4 !== 0 || optLen % 4 !== 0 || p + 6 + scopeLen + optLen > end) {
      w.out.errors.push({
        code: 'bad-template',
        message: `options template ${templateId} has bad lengths (${scopeLen}/${optLen})`,
        offset: p,
        templateId,
      });
      return;
    }
    p += 6;
    const fields: TemplateField[] = [];
    const scopeCount = scopeLen / 4;
    // Lengths were checked against `end` above, so neither read can overrun.
    p = readFieldSpecs(buf, p, end, scopeCount, false, true, fields);
    p = readFieldSpecs(buf, p, end, optLen / 4, false, false, fields);
    learnTemplate(w, { version: 9, templateId, options: true, scopeCount, fields });
  }
}
