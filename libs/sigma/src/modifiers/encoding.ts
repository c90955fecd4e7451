import { SigmaError } from '../errors';
import { hasWildcards, lit, literalText } from '../pattern';
import { type SValue, type TransformCtx } from './value';

function plainBytes(v: SValue, mod: string, ctx: TransformCtx): Uint8Array {
  if (v.bytes) return v.bytes;
  if (hasWildcards(v.parts)) {
    throw new SigmaError('INVALID_MODIFIER_VALUE', `|${mod} cannot encode a value with wildcards`, ctx.line);
  }
  return Buffer.from(literalText(v.parts), 'utf8');
}

function utf16(v: SValue, mod: string, ctx: TransformCtx, bigEndian: boolean, bom: boolean): SValue[] {
  if (v.bytes)
    throw new SigmaError('MODIFIER_CONFLICT', `|${mod} applied to an already encoded value`, ctx.line);
  if (hasWildcards(v.parts)) {
    throw new SigmaError('INVALID_MODIFIER_VALUE', `|${mod} cannot encode a value with wildcards`, ctx.line);
  }
  const le = Buffer.from(literalText(v.parts), 'utf16le');
  if (bigEndian) le.swap16();
  const bytes = bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), le]) : le;
  // The text form keeps the raw bytes (latin1) so a chain ending here still compares something sensible.
  return [{ parts: [lit(bytes.toString('latin1'))], bytes }];
}

export const utf16le = (v: SValue, ctx: TransformCtx): SValue[] => utf16(v, 'utf16le', ctx, false, false);
export const utf16be = (v: SValue, ctx: TransformCtx): SValue[] => utf16(v, 'utf16be', ctx, true, false);
export const utf16bom = (v: SValue, ctx: TransformCtx): SValue[] => utf16(v, 'utf16', ctx, false, true);

export function base64(v: SValue, ctx: TransformCtx): SValue[] {
  const b = plainBytes(v, 'base64', ctx);
  return [{ parts: [lit(Buffer.from(b).toString('base64'))] }];
}

/**
 * The three renderings of the value at byte offsets 0, 1 and 2 inside a larger Base64 text, with the
 * characters that depend on the neighbouring bytes cut off (same cut points as pySigma).
 */
export function base64offset(v: SValue, ctx: TransformCtx): SValue[] {
  const b = plainBytes(v, 'base64offset', ctx);
  const startCut = [0, 2, 3];
  const endCut = [0, 3, 2];
  const out: SValue[] = [];
  for (let i = 0; i < 3; i++) {
    const enc = Buffer.concat([Buffer.alloc(i, 0x20), b]).toString('base64');
    const cutEnd = endCut[(b.length + i) % 3] as number;
    const s = enc.slice(startCut[i] ?? 0, enc.length - cutEnd);
    if (s.length > 0) out.push({ parts: [lit(s)] });
  }
  return out;
}
