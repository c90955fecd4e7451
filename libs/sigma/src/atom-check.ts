import { type Getter, type MatchCtx, lowerCached, makeMultiGetter, scalarString } from './event';
import { ANY_VALUE, type Atom, type Requirement, isAscii } from './prefilter/atoms';

/**
 * The only code units outside ASCII whose lowercase holds ASCII (U+0130 → `i̇`, KELVIN SIGN → `k`, checked
 * for every code point in the tests). Without them, an ASCII atom found case-insensitively in the raw
 * text is exactly an atom found in the lowercased text.
 */
export const LOWERS_TO_ASCII = /[\u0130\u212a]/;

/** One atom of a logsource predicate's requirement, ready to be checked against an event. */
interface AtomCheck {
  readonly atom: Atom;
  /** The atom holds whatever the event (a keyword, or a piece of non-ASCII text). */
  readonly always: boolean;
  /** Where a routing walk left the path's value, or -1: the getter reads it. */
  readonly slot: number;
  readonly get: Getter;
  /** The atom's text matched case-insensitively on the raw value (ASCII prefix, suffix, contains). */
  readonly re: RegExp | undefined;
}

/** A requirement compiled once; undefined when there is none (it holds). */
export type ReqCheck = readonly AtomCheck[] | undefined;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function atomCheck(atom: Atom, slotOf: ReadonlyMap<string, number>): AtomCheck {
  // Lowercasing a whole value and a piece of it can differ outside ASCII (final sigma): stay on the safe side.
  const always = atom.path === ANY_VALUE || (atom.k !== 'present' && atom.k !== 'eq' && !isAscii(atom.text));
  let re: RegExp | undefined;
  if (!always && atom.k !== 'present' && atom.k !== 'eq') {
    const body = escape(atom.text);
    re = new RegExp(atom.k === 'prefix' ? `^${body}` : atom.k === 'suffix' ? `${body}$` : body, 'i');
  }
  return { atom, always, slot: slotOf.get(atom.path) ?? -1, get: makeMultiGetter([atom.path]), re };
}

export function reqCheck(req: Requirement | undefined, slotOf: ReadonlyMap<string, number>): ReqCheck {
  return req ? req.map((a) => atomCheck(a, slotOf)) : undefined;
}

/**
 * Whether one atom of the requirement holds on the values the getters see (`slots`: the values of a
 * routing walk of this event, when it could be trusted).
 */
export function reqHolds(checks: ReqCheck, ctx: MatchCtx, slots: readonly unknown[] | undefined): boolean {
  if (checks === undefined) return true;
  for (const c of checks) if (atomHolds(c, ctx, slots)) return true;
  return false;
}

function atomHolds(c: AtomCheck, ctx: MatchCtx, slots: readonly unknown[] | undefined): boolean {
  if (c.always) return true;
  const v = slots !== undefined && c.slot >= 0 ? slots[c.slot] : c.get(ctx);
  if (c.atom.k === 'present') return v !== undefined;
  if (Array.isArray(v)) {
    for (const x of v) if (textHolds(c, x, ctx)) return true;
    return false;
  }
  return textHolds(c, v, ctx);
}

function textHolds(c: AtomCheck, x: unknown, ctx: MatchCtx): boolean {
  const s = scalarString(x);
  if (s === undefined) return false;
  const a = c.atom as Atom & { text: string };
  // Most values hold no atom: telling so on the raw text spares a lowercased copy of a long message.
  if (c.re !== undefined) {
    if (c.re.test(s)) return true;
    if (!LOWERS_TO_ASCII.test(s)) return false;
  }
  // Lowercasing never shortens a string: a longer value cannot equal the literal.
  if (a.k === 'eq' && s.length > a.text.length) return false;
  return literalHolds(a, lowerCached(ctx, s));
}

/** The atom on an already lowercased value: what every faster path above must agree with. */
export function literalHolds(a: Atom & { text: string }, lowered: string): boolean {
  switch (a.k) {
    case 'eq':
      return lowered === a.text;
    case 'prefix':
      return lowered.startsWith(a.text);
    case 'suffix':
      return lowered.endsWith(a.text);
    case 'contains':
      return lowered.includes(a.text);
    case 'present':
      return true;
  }
}
