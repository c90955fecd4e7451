import { stableId } from '@citysoc/ecs';
import { decodeIpfix } from './ipfix';
import { decodeV5 } from './netflow5';
import { decodeV9 } from './netflow9';
import { setNumericAddresses } from './records';
import { allZero } from './sets';
import type { TemplateCache } from './templates';
import type { DecodeContext, DecodeResult, FlowRecord } from './types';

/**
 * Decodes one UDP payload (or a file of glued messages) from one exporter. Never throws: malformed input
 * ends decoding of the part that cannot be framed and is reported in `errors`; records decoded before
 * that point are kept. Data sets whose template is unknown are held in `cache` and come out of the call
 * that brings their template.
 */
export function decodeDatagram(buf: Buffer, ctx: DecodeContext, cache: TemplateCache): DecodeResult {
  const out: DecodeResult = { records: [], layouts: [], errors: [], messages: [] };
  const { errors } = out;
  if (buf.length < 2) {
    errors.push({ code: 'short-datagram', message: `datagram of ${buf.length} bytes`, offset: 0 });
    return out;
  }
  let off = 0;
  let messageIndex = 0;
  setNumericAddresses(ctx.numericAddresses === true);
  try {
    while (buf.length - off >= 2) {
      const version = buf.readUInt16BE(off);
      let next: number;
      if (version === 5) next = decodeV5(buf, off, ctx, messageIndex, out);
      else if (version === 9) next = decodeV9(buf, off, ctx, cache, messageIndex, out);
      else if (version === 10) next = decodeIpfix(buf, off, ctx, cache, messageIndex, out);
      else {
        if (off === 0 || !allZero(buf, off, buf.length)) {
          errors.push({ code: 'unsupported-version', message: `version ${version}`, offset: off });
        }
        break;
      }
      if (next < 0) break;
      off = next;
      messageIndex++;
    }
  } catch (e) {
    // Bounds are checked before every read; this is the last line so a decoder bug costs a datagram, not the process.
    errors.push({ code: 'internal', message: e instanceof Error ? e.message : String(e), offset: off });
  } finally {
    setNumericAddresses(false);
  }
  return out;
}

// The message part of the id is the same for every record of a message: hash it once per message (the
// last message's facts are compared one by one, cheaper than building a key string per record).
let lastExporter = '';
let lastVersion = -1;
let lastDomain = -1;
let lastSequence = -1;
let lastExportTime = NaN;
let lastMessageIndex = -1;
let lastMessageHash = '';

/**
 * Deterministic record id: the same datagram decoded twice (redelivery, replay, another replica) gives the
 * same ids. It is stableId(exporter, version, domain, header sequence, export time, message index) — export
 * time because sequence numbers restart with the exporter — truncated to 24 hex digits, followed by the
 * record's position as set index and record index (4 hex digits each). A set held for its template keeps
 * the position it had in its own datagram, so late decoding does not change ids.
 */
export function flowRecordId(r: FlowRecord): string {
  if (
    r.sequence !== lastSequence ||
    r.exportTime !== lastExportTime ||
    r.messageIndex !== lastMessageIndex ||
    r.domain !== lastDomain ||
    r.version !== lastVersion ||
    r.exporter !== lastExporter
  ) {
    lastExporter = r.exporter;
    lastVersion = r.version;
    lastDomain = r.domain;
    lastSequence = r.sequence;
    lastExportTime = r.exportTime;
    lastMessageIndex = r.messageIndex;
    lastMessageHash = stableId(
      'fl',
      r.exporter,
      r.version,
      r.domain,
      r.sequence,
      r.exportTime,
      r.messageIndex,
    ).slice(0, 24);
  }
  return lastMessageHash + hex4(r.setIndex) + hex4(r.recordIndex);
}

// Positions are small numbers: their 4-digit hex is kept once made.
const HEX4: string[] = [];

function hex4(n: number): string {
  const i = n & 0xffff;
  return (HEX4[i] ??= i.toString(16).padStart(4, '0'));
}
