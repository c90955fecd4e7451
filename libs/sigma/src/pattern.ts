/**
 * Sigma string values as patterns: literal runs, `*`, `?` and character classes (from `windash`).
 * Matching never uses a JS RegExp built from rule text: simple shapes become startsWith/endsWith/includes
 * and everything else runs through a wildcard matcher whose cost is bounded by O(value × pattern).
 */

export type Part =
  | { readonly k: 'lit'; readonly s: string }
  | { readonly k: 'star' }
  | { readonly k: 'one' }
  | { readonly k: 'class'; readonly chars: string }
  | { readonly k: 'ph'; readonly name: string };

export type Pattern = readonly Part[];

const STAR: Part = { k: 'star' };
const ONE: Part = { k: 'one' };

export function lit(s: string): Part {
  return { k: 'lit', s };
}
export function star(): Part {
  return STAR;
}

/**
 * Parses a Sigma string. Backslash rules (spec 2.x): before a wildcard (or `%` when placeholders are live)
 * an odd run of backslashes escapes it and every pair is one literal backslash; a run not followed by a
 * special character is literal with pairs collapsed (`\` and `\\` are one backslash, `\\\` two).
 */
export function parseSigmaString(raw: string, placeholders = false): Part[] {
  const out: Part[] = [];
  let buf = '';
  const flush = (): void => {
    if (buf.length > 0) out.push(lit(buf));
    buf = '';
  };
  const n = raw.length;
  let i = 0;
  while (i < n) {
    const c = raw[i] as string;
    if (c === '\\') {
      let j = i;
      while (j < n && raw[j] === '\\') j++;
      const run = j - i;
      const next = raw[j];
      const special = next === '*' || next === '?' || (placeholders && next === '%');
      if (special) {
        buf += '\\'.repeat(run >> 1);
        if (run % 2 === 1) {
          buf += next;
          i = j + 1;
        } else {
          i = j;
        }
      } else {
        buf += '\\'.repeat((run + 1) >> 1);
        i = j;
      }
      continue;
    }
    if (c === '*' || c === '?') {
      flush();
      out.push(c === '*' ? STAR : ONE);
      i++;
      continue;
    }
    if (placeholders && c === '%') {
      const end = raw.indexOf('%', i + 1);
      const name = end > i + 1 ? raw.slice(i + 1, end) : '';
      if (name.length > 0 && !/[\s\\*?]/.test(name)) {
        flush();
        out.push({ k: 'ph', name });
        i = end + 1;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

/** Merges adjacent literals and collapses runs of `*`, so matchers see the canonical shape. */
export function normalize(p: Pattern): Part[] {
  const out: Part[] = [];
  for (const part of p) {
    const last = out[out.length - 1];
    if (part.k === 'lit') {
      if (part.s.length === 0) continue;
      if (last?.k === 'lit') out[out.length - 1] = lit(last.s + part.s);
      else out.push(part);
    } else if (part.k === 'star') {
      if (last?.k !== 'star') out.push(STAR);
    } else {
      out.push(part);
    }
  }
  return out;
}

export function hasWildcards(p: Pattern): boolean {
  return p.some((x) => x.k !== 'lit');
}

export function literalText(p: Pattern): string {
  return p.map((x) => (x.k === 'lit' ? x.s : '')).join('');
}

/** Human-readable Sigma form, for messages. */
export function patternToString(p: Pattern): string {
  return p
    .map((x) => {
      switch (x.k) {
        case 'lit':
          return x.s.replace(/[*?\\]/g, (m) => '\\' + m);
        case 'star':
          return '*';
        case 'one':
          return '?';
        case 'class':
          return `[${x.chars}]`;
        case 'ph':
          return `%${x.name}%`;
      }
    })
    .join('');
}

export type StringTest = (s: string) => boolean;

const alwaysTrue: StringTest = () => true;

/**
 * Compiles a pattern for values that are already folded the same way (`fold` is applied to the pattern
 * literals here and by the caller to the event value once per field).
 */
export function compilePattern(pattern: Pattern, fold: (s: string) => string): StringTest {
  const parts = normalize(
    pattern.map((p) =>
      p.k === 'lit' ? lit(fold(p.s)) : p.k === 'class' ? { k: 'class' as const, chars: fold(p.chars) } : p,
    ),
  );
  if (parts.some((p) => p.k === 'ph')) throw new Error('unexpanded placeholder reached the matcher');
  if (parts.length === 0) return (s) => s.length === 0;
  if (parts.every((p) => p.k === 'lit' || p.k === 'star')) return compileStarOnly(parts);
  return compileGeneral(parts);
}

function compileStarOnly(parts: Part[]): StringTest {
  const first = parts[0];
  const last = parts[parts.length - 1];
  const anchoredStart = first?.k === 'lit';
  const anchoredEnd = last?.k === 'lit';
  const lits = parts.filter((p): p is { k: 'lit'; s: string } => p.k === 'lit').map((p) => p.s);
  if (lits.length === 0) return alwaysTrue;
  if (lits.length === 1) {
    const l = lits[0] as string;
    if (anchoredStart && anchoredEnd) return (s) => s === l;
    if (anchoredStart) return (s) => s.startsWith(l);
    if (anchoredEnd) return (s) => s.endsWith(l);
    return (s) => s.includes(l);
  }
  const prefix = anchoredStart ? (lits.shift() as string) : '';
  const suffix = anchoredEnd ? (lits.pop() as string) : '';
  const middle = lits;
  const minLen = prefix.length + suffix.length + middle.reduce((a, b) => a + b.length, 0);
  // Leftmost-first placement of each middle literal is optimal for `*`-only patterns, so one pass decides.
  return (s) => {
    if (s.length < minLen) return false;
    if (prefix.length > 0 && !s.startsWith(prefix)) return false;
    if (suffix.length > 0 && !s.endsWith(suffix)) return false;
    let pos = prefix.length;
    const limit = s.length - suffix.length;
    for (const m of middle) {
      const at = s.indexOf(m, pos);
      if (at < 0 || at + m.length > limit) return false;
      pos = at + m.length;
    }
    return true;
  };
}

const enum Tok {
  Char,
  One,
  Class,
  Star,
}

interface Compiled {
  kinds: Tok[];
  chars: string[];
}

/** Code point length at index i (2 for a surrogate pair), so `?` consumes one character, not one unit. */
function cpLen(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

function compileGeneral(parts: Part[]): StringTest {
  const c: Compiled = { kinds: [], chars: [] };
  for (const p of parts) {
    switch (p.k) {
      case 'lit':
        for (const ch of p.s) {
          c.kinds.push(Tok.Char);
          c.chars.push(ch);
        }
        break;
      case 'star':
        c.kinds.push(Tok.Star);
        c.chars.push('');
        break;
      case 'one':
        c.kinds.push(Tok.One);
        c.chars.push('');
        break;
      case 'class':
        c.kinds.push(Tok.Class);
        c.chars.push(p.chars);
        break;
      case 'ph':
        throw new Error('unexpanded placeholder reached the matcher');
    }
  }
  const { kinds, chars } = c;
  const m = kinds.length;
  // Classic greedy wildcard matching with a single backtrack point (the last star): each star only ever
  // moves forward, so the cost is O(n·m) and no input can make it exponential.
  return (s) => {
    const n = s.length;
    let i = 0;
    let j = 0;
    let starJ = -1;
    let starI = 0;
    while (i < n) {
      if (j < m) {
        const k = kinds[j];
        if (k === Tok.Star) {
          starJ = j++;
          starI = i;
          continue;
        }
        const len = cpLen(s, i);
        if (k === Tok.One) {
          i += len;
          j++;
          continue;
        }
        const ch = len === 2 ? s.slice(i, i + 2) : (s[i] as string);
        if (k === Tok.Char ? ch === chars[j] : (chars[j] as string).includes(ch)) {
          i += len;
          j++;
          continue;
        }
      }
      if (starJ < 0) return false;
      starI += cpLen(s, starI);
      i = starI;
      j = starJ + 1;
    }
    while (j < m && kinds[j] === Tok.Star) j++;
    return j === m;
  };
}
