import { type Part, type StringTest, compilePattern, normalize } from './pattern';
import { AhoCorasick } from './prefilter/aho';
import { isAscii } from './prefilter/atoms';

/** From this many alternatives on, one automaton pass beats testing them one after another. */
export const LITERAL_SET_MIN = 8;

type Shape = 'eq' | 'prefix' | 'suffix' | 'contains';

function shapeOf(parts: readonly Part[]): { k: Shape; s: string } | null {
  const [a, b, c] = parts;
  const lit = (p: Part | undefined): p is { k: 'lit'; s: string } => p?.k === 'lit';
  if (parts.length === 1 && lit(a)) return { k: 'eq', s: a.s };
  if (parts.length === 2 && lit(a) && b?.k === 'star') return { k: 'prefix', s: a.s };
  if (parts.length === 2 && a?.k === 'star' && lit(b)) return { k: 'suffix', s: b.s };
  if (parts.length === 3 && a?.k === 'star' && lit(b) && c?.k === 'star') return { k: 'contains', s: b.s };
  return null;
}

/**
 * Long value lists (IOC hashes, tool names, suspicious substrings) as one matcher: exact values in a Set,
 * ASCII prefixes/suffixes/substrings in one exact Aho-Corasick pass (ASCII needles keep the automaton's
 * merged non-ASCII class from ever producing a false hit), anything else tested one by one.
 */
export function compileLiteralSet(
  patterns: readonly (readonly Part[])[],
  fold: (s: string) => string,
): StringTest {
  const exact = new Set<string>();
  const needles: string[] = [];
  const kinds: Shape[] = [];
  const rest: StringTest[] = [];
  for (const pattern of patterns) {
    const parts = normalize(pattern.map((p) => (p.k === 'lit' ? { k: 'lit' as const, s: fold(p.s) } : p)));
    const shape = shapeOf(parts);
    if (shape?.k === 'eq') exact.add(shape.s);
    else if (shape && isAscii(shape.s)) {
      needles.push(shape.s);
      kinds.push(shape.k);
    } else rest.push(compilePattern(pattern, fold));
  }
  const ac = needles.length > 0 ? new AhoCorasick(needles) : null;
  let len = 0;
  const accept = (id: number, end: number): boolean => {
    const k = kinds[id];
    return k === 'contains' || (k === 'prefix' ? end === (needles[id] as string).length : end === len);
  };
  return (s) => {
    if (exact.has(s)) return true;
    if (ac) {
      len = s.length;
      if (ac.some(s, accept)) return true;
    }
    for (const t of rest) if (t(s)) return true;
    return false;
  };
}
