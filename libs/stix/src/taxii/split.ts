import { type StixObject } from '../types';
import { TaxiiError } from './errors';

const OPEN = Buffer.byteLength('{"objects":[');
const CLOSE = Buffer.byteLength(']}');

/**
 * Splits objects into envelopes whose serialized body fits `maxBytes`, keeping their order (markings and
 * identities first, then what refers to them). An object that cannot fit alone is an error, not a truncation.
 */
export function splitEnvelopes(objects: readonly StixObject[], maxBytes: number): StixObject[][] {
  if (!(maxBytes > 0)) return objects.length > 0 ? [[...objects]] : [];
  const out: StixObject[][] = [];
  let cur: StixObject[] = [];
  let size = OPEN + CLOSE;
  for (const o of objects) {
    const len = Buffer.byteLength(JSON.stringify(o));
    if (OPEN + CLOSE + len > maxBytes)
      throw new TaxiiError(
        'object_too_large',
        `${o.id} is ${len} bytes serialized; the server accepts at most ${maxBytes} per request`,
      );
    const add = len + (cur.length > 0 ? 1 : 0);
    if (size + add > maxBytes) {
      out.push(cur);
      cur = [];
      size = OPEN + CLOSE;
    }
    size += len + (cur.length > 0 ? 1 : 0);
    cur.push(o);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
