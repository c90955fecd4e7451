import { base64, base64offset, utf16be, utf16bom, utf16le } from './encoding';
import { type CompareOp } from './numeric';
import { type TimePart } from './timepart';
import { type SValue, type TransformCtx } from './value';
import { windash } from './windash';
import { lit, star } from '../pattern';

/**
 * Every modifier name the engine knows, with its role. Transformations rewrite values in written order;
 * a type decides how the final values are compared; flags adjust a comparison. Adding a modifier means
 * adding one entry here and, for a new type, one branch in compile.ts.
 */
export type ModifierDef =
  | { kind: 'transform'; apply: (v: SValue, ctx: TransformCtx) => SValue[] }
  | { kind: 'wrap'; at: 'contains' | 'startswith' | 'endswith' }
  | { kind: 'expand' }
  | { kind: 'type'; type: 're' | 'cidr' | 'exists' | 'fieldref' }
  | { kind: 'compare'; op: CompareOp }
  | { kind: 'timepart'; part: TimePart }
  | { kind: 'flag'; flag: 'all' | 'cased' | 'neq' }
  | { kind: 'reflag'; flag: 'i' | 'm' | 's' };

export const MODIFIERS: ReadonlyMap<string, ModifierDef> = new Map<string, ModifierDef>([
  ['contains', { kind: 'wrap', at: 'contains' }],
  ['startswith', { kind: 'wrap', at: 'startswith' }],
  ['endswith', { kind: 'wrap', at: 'endswith' }],
  ['all', { kind: 'flag', flag: 'all' }],
  ['cased', { kind: 'flag', flag: 'cased' }],
  ['neq', { kind: 'flag', flag: 'neq' }],
  ['exists', { kind: 'type', type: 'exists' }],
  ['re', { kind: 'type', type: 're' }],
  ['cidr', { kind: 'type', type: 'cidr' }],
  ['fieldref', { kind: 'type', type: 'fieldref' }],
  ['i', { kind: 'reflag', flag: 'i' }],
  ['ignorecase', { kind: 'reflag', flag: 'i' }],
  ['m', { kind: 'reflag', flag: 'm' }],
  ['multiline', { kind: 'reflag', flag: 'm' }],
  ['s', { kind: 'reflag', flag: 's' }],
  ['dotall', { kind: 'reflag', flag: 's' }],
  ['windash', { kind: 'transform', apply: (v) => windash(v) }],
  ['base64', { kind: 'transform', apply: base64 }],
  ['base64offset', { kind: 'transform', apply: base64offset }],
  ['utf16le', { kind: 'transform', apply: utf16le }],
  ['wide', { kind: 'transform', apply: utf16le }],
  ['utf16be', { kind: 'transform', apply: utf16be }],
  ['utf16', { kind: 'transform', apply: utf16bom }],
  ['expand', { kind: 'expand' }],
  ['lt', { kind: 'compare', op: 'lt' }],
  ['lte', { kind: 'compare', op: 'lte' }],
  ['gt', { kind: 'compare', op: 'gt' }],
  ['gte', { kind: 'compare', op: 'gte' }],
  ['minute', { kind: 'timepart', part: 'minute' }],
  ['hour', { kind: 'timepart', part: 'hour' }],
  ['day', { kind: 'timepart', part: 'day' }],
  ['week', { kind: 'timepart', part: 'week' }],
  ['month', { kind: 'timepart', part: 'month' }],
  ['year', { kind: 'timepart', part: 'year' }],
]);

/** contains/startswith/endswith as pattern rewrites: wildcards inside the value stay live. */
export function wrap(v: SValue, at: 'contains' | 'startswith' | 'endswith'): SValue {
  const parts = [...v.parts];
  if (at !== 'startswith') parts.unshift(star());
  if (at !== 'endswith') parts.push(star());
  return { parts: parts.length === 0 ? [lit('')] : parts };
}
