import { type Atom, MAX_NEEDLE } from './atoms';

const QUANT = /^\{(\d+)(?:,(\d*))?\}/;

/** Index just past the group or class opening at `i`, honouring escapes and nested classes. */
function skipGroup(p: string, i: number): number {
  let depth = 0;
  for (let j = i; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') j++;
    else if (c === '[') {
      // An unclosed class inside a group: without this check j went back to -2 and the scan restarted
      // from the pattern's start forever (found by the fast-check properties, issue 11).
      const end = skipClass(p, j);
      if (end < 0) return -1;
      j = end - 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return j + 1;
  }
  return -1;
}

function skipClass(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  for (; j < p.length; j++) {
    const c = p[j];
    if (c === '\\') j++;
    else if (c === '[' && p[j + 1] === ':') {
      const end = p.indexOf(':]', j + 2);
      if (end < 0) return -1;
      j = end + 1;
    } else if (c === ']') return j + 1;
  }
  return -1;
}

/** Top-level alternatives, or null when the pattern does not parse the simple way this scan expects. */
function alternatives(p: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '[' || c === '(') {
      const end = c === '[' ? skipClass(p, i) : skipGroup(p, i);
      if (end < 0) return null;
      i = end - 1;
    } else if (c === '|') {
      out.push(p.slice(start, i));
      start = i + 1;
    }
  }
  out.push(p.slice(start));
  return out;
}

/** Literal runs every match of one alternative must contain; groups, classes and escapes end a run. */
function mandatoryRuns(alt: string, ci: boolean): string[] | null {
  const runs: string[] = [];
  let run = '';
  const end = (): void => {
    if (run.length > 0) runs.push(run);
    run = '';
  };
  for (let i = 0; i < alt.length;) {
    const c = alt[i] as string;
    if (c === '*' || c === '?' || c === '{' || c === '+') {
      const q = c === '{' ? QUANT.exec(alt.slice(i)) : null;
      if (c === '{' && !q) {
        end(); // a literal `{` in RE2, but a run across it is not worth the risk
        i++;
        continue;
      }
      const optional = c === '*' || c === '?' || (q !== null && Number(q[1]) === 0);
      if (optional) run = run.slice(0, -1);
      end();
      i += q ? q[0].length : 1;
      if (alt[i] === '?' || alt[i] === '+') i++;
      continue;
    }
    if (c === '\\') {
      const n = alt[i + 1];
      if (n === undefined) return null;
      if (n === 'Q' || n === 'E') return null;
      if (/[A-Za-z0-9]/.test(n)) {
        end();
        i += 2;
        // \p{..}, \x{..} and friends take a braced argument.
        if (alt[i] === '{') {
          const close = alt.indexOf('}', i);
          if (close < 0) return null;
          i = close + 1;
        }
        continue;
      }
      if (n.charCodeAt(0) > 127) end();
      else run += n;
      i += 2;
      continue;
    }
    if (c === '[' || c === '(') {
      end();
      const next = c === '[' ? skipClass(alt, i) : skipGroup(alt, i);
      if (next < 0) return null;
      i = next;
      // A quantifier on the group or class leaves nothing to pop: the run is already closed.
      continue;
    }
    if (c === '.' || c === '^' || c === '$' || c.charCodeAt(0) > 127 || (ci && (c === 's' || c === 'S'))) {
      end();
      i++;
      continue;
    }
    run += c;
    i++;
  }
  end();
  return runs;
}

/**
 * Atoms for an (RE2) regular expression on `path`: for each top-level alternative, its longest mandatory
 * literal run, lowercased. ASCII only, so a lowercased value contains it. Case-insensitive RE2 also folds
 * `s` with U+017F (long s), which lowercasing keeps apart, so `s` ends runs then. Null when some
 * alternative has no literal (or the scan is unsure), so the caller falls back to field presence.
 */
export function regexAtoms(pattern: string, path: string, caseInsensitive: boolean): Atom[] | null {
  const ci = caseInsensitive || /\(\?[a-zA-Z]*i/.test(pattern);
  const alts = alternatives(pattern);
  if (!alts) return null;
  const atoms: Atom[] = [];
  for (const alt of alts) {
    const runs = mandatoryRuns(alt, ci);
    if (!runs || runs.length === 0) return null;
    let best = '';
    for (const r of runs) if (r.length > best.length) best = r;
    const text = best.toLowerCase().slice(-MAX_NEEDLE);
    atoms.push({ k: 'contains', path, text });
  }
  return atoms;
}

const ZERO_WIDTH_ESCAPES = new Set(['b', 'B', 'A', 'z', 'Z', 'G']);

/** Minimum length of one alternative: one unit per char, class or escape, times its repeat minimum. */
function altMinLength(alt: string): number {
  let total = 0;
  let last = 0;
  for (let i = 0; i < alt.length;) {
    const c = alt[i] as string;
    if (c === '*' || c === '?' || c === '+' || c === '{') {
      const q = c === '{' ? QUANT.exec(alt.slice(i)) : null;
      if (c === '{' && !q) return 0;
      const min = c === '*' || c === '?' ? 0 : c === '+' ? 1 : Number(q?.[1] ?? 0);
      total += last * min - last;
      last = 0;
      i += q ? q[0].length : 1;
      if (alt[i] === '?' || alt[i] === '+') i++;
      continue;
    }
    if (c === '(') {
      // Groups count as nothing: a lower bound stays a lower bound.
      const next = skipGroup(alt, i);
      if (next < 0) return 0;
      last = 0;
      i = next;
      continue;
    }
    if (c === '[') {
      const next = skipClass(alt, i);
      if (next < 0) return 0;
      last = 1;
      total += 1;
      i = next;
      continue;
    }
    if (c === '\\') {
      const n = alt[i + 1];
      if (n === undefined || n === 'Q' || n === 'E') return 0;
      last = ZERO_WIDTH_ESCAPES.has(n) ? 0 : 1;
      total += last;
      i += 2;
      if (/[pPx]/.test(n) && alt[i] === '{') {
        const close = alt.indexOf('}', i);
        if (close < 0) return 0;
        i = close + 1;
      }
      continue;
    }
    last = c === '^' || c === '$' ? 0 : 1;
    total += last;
    i++;
  }
  return total;
}

/**
 * A lower bound on the UTF-16 length of any match (each matched character is at least one code unit), so
 * a shorter value is rejected without running the engine: `.{1000,}` costs RE2JS dearly on every value.
 */
export function regexMinLength(pattern: string): number {
  const alts = alternatives(pattern);
  if (!alts) return 0;
  let min = Infinity;
  for (const alt of alts) min = Math.min(min, altMinLength(alt));
  return Number.isFinite(min) ? Math.max(0, min) : 0;
}
