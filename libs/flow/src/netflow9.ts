import { allZero, dataSet, learnTemplate, readFieldSpecs, type SetWalk } from './sets';
import type { TemplateCache, TemplateField } from './templates';
import type { DecodeContext, FlowError, FlowRecord, MessageInfo } from './types';

export const V9_HEADER = 20;

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
  records: FlowRecord[],
  errors: FlowError[],
  messages: MessageInfo[],
): number {
  const end = buf.length;
  if (end - off < V9_HEADER) {
    errors.push({ code: 'short-datagram', message: 'NetFlow v9 header truncated', offset: off });
    return -1;
  }
  const sysUptime = buf.readUInt32BE(off + 4);
  const exportTime = buf.readUInt32BE(off + 8) * 1000;
  const sequence = buf.readUInt32BE(off + 12);
  const domain = buf.readUInt32BE(off + 16);
  const info: MessageInfo = { version: 9, domain, sequence, exportTime, records: 0, held: 0 };
  const w: SetWalk = {
    buf,
    cache,
    scope: { exporter: ctx.exporter, version: 9, domain },
    header: {
      version: 9,
      exporter: ctx.exporter,
      domain,
      sequence,
      exportTime,
      sysUptime,
      messageIndex,
      sysInitMs: NaN,
    },
    now: ctx.receivedAt.getTime(),
    records,
    errors,
    info,
  };
  const known = cache.facts(w.scope).sysInitMs;
  if (known !== undefined) w.header.sysInitMs = known;
  let pos = off + V9_HEADER;
  let setIndex = 0;
  while (end - pos >= 4) {
    const id = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    // Flowset ids 2-255 are reserved, so 5, 9 or 10 here is the next message of a glued capture (v9
    // headers carry no length to tell where a message ends).
    if (
      (id === 9 && end - pos >= V9_HEADER) ||
      (id === 10 && end - pos >= 16) ||
      (id === 5 && end - pos >= 24)
    ) {
      messages.push(info);
      return pos;
    }
    if (len < 4 || pos + len > end) {
      // Some exporters (Palo Alto) send fixed-size, zero-filled datagrams: trailing zeros are not an error.
      if (!allZero(buf, pos, end)) {
        errors.push({
          code: 'bad-set-length',
          message: `flowset ${id} length ${len} at ${pos} does not fit the datagram`,
          offset: pos,
        });
      }
      break;
    }
    const setStart = pos + 4;
    const setEnd = pos + len;
    if (id === 0) templates(w, setStart, setEnd);
    else if (id === 1) optionTemplates(w, setStart, setEnd);
    else if (id >= 256) dataSet(w, id, setStart, setEnd, setIndex);
    pos = setEnd;
    setIndex++;
  }
  messages.push(info);
  return end;
}

function templates(w: SetWalk, start: number, end: number): void {
  const { buf } = w;
  let p = start;
  while (end - p >= 4) {
    const templateId = buf.readUInt16BE(p);
    const count = buf.readUInt16BE(p + 2);
    if (templateId < 256) break; // padding
    if (p + 4 + count * 4 > end) {
      w.errors.push({
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
      w.errors.push({
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
