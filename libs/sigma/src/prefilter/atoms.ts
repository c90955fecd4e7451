import { type Part, normalize } from '../pattern';

/** Path under which keyword atoms are indexed: they are searched in every string value of the event. */
export const ANY_VALUE = '\u0000any';

/**
 * A necessary condition on one event path. Literal atoms hold the lowercased literal the matcher itself
 * compares against the lowercased event value, so "the atom does not hold" proves "the rule cannot match".
 */
export type Atom =
  | { readonly k: 'present'; readonly path: string }
  | { readonly k: 'eq' | 'prefix' | 'suffix' | 'contains'; readonly path: string; readonly text: string };

/**
 * A disjunction of atoms, one of which holds on every event the detection matches; null = no such
 * guarantee is known (negations, null values, `exists: false`, keyword `*`), so the rule runs on every event.
 */
export type Requirement = readonly Atom[] | null;

const EXTENSION = /^\.[a-z0-9]{1,4}$/;

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}

/**
 * Scanned literals are cut to this many characters: a piece of a literal that must occur occurs too, and
 * long IOC lists (hashes, paths) would otherwise grow the automaton by every character of every value.
 */
export const MAX_NEEDLE = 12;

/**
 * Rough selectivity: lower is better. Field presence says little; a short literal occurs in most values;
 * exact values and anchored literals are tested cheaply and rarely hold by accident.
 */
function atomCost(a: Atom): number {
  if (a.k === 'present') return 40;
  const len = a.text.length;
  const base = a.k === 'contains' ? 1.5 : 1;
  return base + 24 / (len + 1);
}

export function reqCost(r: Requirement): number {
  if (!r) return Infinity;
  let c = 0;
  for (const a of r) c += atomCost(a);
  return c;
}

/** AND: each child's requirement is necessary on its own, so the cheapest one suffices. */
export function reqAnd(reqs: readonly Requirement[]): Requirement {
  let best: Requirement = null;
  let bestCost = Infinity;
  for (const r of reqs) {
    const c = reqCost(r);
    if (c < bestCost) {
      best = r;
      bestCost = c;
    }
  }
  return best;
}

/**
 * AND, a second opinion: the next cheapest child requirement after `reqAnd`'s, also necessary on its own.
 * The rule set checks it as a gate, so a rule whose cheapest literal is common (`cs-method: GET`) is
 * still evaluated only when its rarer literals (the keyword list) occur too.
 */
export function reqSecond(reqs: readonly Requirement[]): Requirement {
  const best = reqAnd(reqs);
  let second: Requirement = null;
  let secondCost = Infinity;
  for (const r of reqs) {
    if (r === best) continue;
    const c = reqCost(r);
    if (c < secondCost) {
      second = r;
      secondCost = c;
    }
  }
  return second;
}

/** OR: one of the children must hold, so the union of theirs, unless one of them has none. */
export function reqOr(reqs: readonly Requirement[]): Requirement {
  const out: Atom[] = [];
  const seen = new Set<string>();
  for (const r of reqs) {
    if (!r) return null;
    for (const a of r) {
      const key = atomKey(a);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(a);
    }
  }
  return out;
}

export function atomKey(a: Atom): string {
  return a.k === 'present' ? `present\u0000${a.path}` : `${a.k}\u0000${a.path}\u0000${a.text}`;
}

/**
 * The longest literal run of a pattern, anchored where the pattern is. `cased` patterns compare raw text,
 * and a raw ASCII literal inside a value is still the lowercased literal inside the lowercased value; a
 * non-ASCII cased literal gives no atom, because case mapping of e.g. final sigma depends on context.
 */
export function patternAtom(parts: readonly Part[], cased: boolean, path: string): Atom | null {
  if (cased && parts.some((p) => p.k === 'lit' && !isAscii(p.s))) return null;
  const norm = normalize(parts.map((p) => (p.k === 'lit' ? { k: 'lit' as const, s: p.s.toLowerCase() } : p)));
  let best = -1;
  let bestScore = 0;
  norm.forEach((p, i) => {
    if (p.k !== 'lit') return;
    // A bare file extension (`7z*.exe`) is in nearly every image path, so any other literal beats it.
    const score = EXTENSION.test(p.s) ? 0.5 : p.s.length;
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  });
  const part = norm[best];
  if (!part || part.k !== 'lit') return null;
  const start = best === 0;
  const end = best === norm.length - 1;
  const k = start && end ? 'eq' : start ? 'prefix' : end ? 'suffix' : 'contains';
  const s = part.s;
  if (k === 'eq' || s.length <= MAX_NEEDLE) return { k, path, text: s };
  // The end of a literal (file names, extensions) tells more than its start (drive letters, `\windows\`).
  return k === 'prefix'
    ? { k, path, text: s.slice(0, MAX_NEEDLE) }
    : { k, path, text: s.slice(s.length - MAX_NEEDLE) };
}
