import { learnTemplate, readFieldSpecs, type SetFormat, type SetWalk, walkMessage } from './sets';
import type { TemplateCache, TemplateField } from './templates';
import type { DecodeContext, DecodeResult } from './types';

export const IPFIX_HEADER = 16;
const SET_TEMPLATE = 2;
const SET_OPTIONS_TEMPLATE = 3;

const IPFIX: SetFormat = {
  templates(w, id, start, end) {
    if (id === SET_TEMPLATE || id === SET_OPTIONS_TEMPLATE)
      templates(w, start, end, id === SET_OPTIONS_TEMPLATE);
  },
  badSet(w, id, len, pos) {
    w.out.errors.push({
      code: 'bad-set-length',
      message: `set ${id} length ${len} at ${pos} overruns the message`,
      offset: pos,
    });
  },
};

/**
 * Decodes one IPFIX message (RFC 7011) at `off`. Returns the offset after it (messages may be glued in
 * one buffer, e.g. a file or a TCP/SCTP stream), or -1 when nothing after this point can be framed.
 */
export function decodeIpfix(
  buf: Buffer,
  off: number,
  ctx: DecodeContext,
  cache: TemplateCache,
  messageIndex: number,
  out: DecodeResult,
): number {
  const { errors } = out;
  if (buf.length - off < IPFIX_HEADER) {
    errors.push({ code: 'short-datagram', message: 'IPFIX header truncated', offset: off });
    return -1;
  }
  const length = buf.readUInt16BE(off + 2);
  if (length < IPFIX_HEADER) {
    errors.push({ code: 'bad-message-length', message: `IPFIX message length ${length}`, offset: off });
    return -1;
  }
  let end = off + length;
  if (end > buf.length) {
    errors.push({
      code: 'truncated',
      message: `IPFIX message announces ${length} bytes, ${buf.length - off} present`,
      offset: off,
    });
    end = buf.length;
  }
  const exportTime = buf.readUInt32BE(off + 4) * 1000;
  const sequence = buf.readUInt32BE(off + 8);
  const domain = buf.readUInt32BE(off + 12);
  const pos = off + IPFIX_HEADER;
  walkMessage(IPFIX, buf, ctx, cache, messageIndex, 10, domain, sequence, exportTime, -1, pos, end, out);
  return off + length;
}

function templates(w: SetWalk, start: number, end: number, options: boolean): void {
  const { buf } = w;
  const head = options ? 6 : 4;
  let p = start;
  while (end - p >= 4) {
    const templateId = buf.readUInt16BE(p);
    const count = buf.readUInt16BE(p + 2);
    if (count === 0) {
      // Template withdrawal (RFC 7011 §8.1); the set's own id as template id means "all of this kind".
      if (templateId === (options ? SET_OPTIONS_TEMPLATE : SET_TEMPLATE))
        w.cache.withdrawAll(w.scope, options);
      else w.cache.withdraw(w.scope, templateId);
      p += 4;
      continue;
    }
    if (templateId < 256 || end - p < head) break; // padding
    const scopeCount = options ? buf.readUInt16BE(p + 4) : 0;
    const fields: TemplateField[] = [];
    const next = readFieldSpecs(buf, p + head, end, count, true, false, fields);
    if (next < 0 || scopeCount > count) {
      w.out.errors.push({
        code: 'bad-template',
        message: `template ${templateId} overruns its set`,
        offset: next < 0 ? end : p,
        templateId,
      });
      return;
    }
    p = next;
    learnTemplate(w, { version: 10, templateId, options, scopeCount, fields });
  }
}
