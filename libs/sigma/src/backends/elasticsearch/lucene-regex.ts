/**
 * Sigma `|re` values are RE2/PCRE-style and searched unanchored; Elasticsearch `regexp` queries use Lucene's
 * syntax, always anchored, with some characters reserved (`# @ & < > ~ "`) and no look-around,
 * back-references, word boundaries or inline flags. This converts what has an exact Lucene equivalent and
 * refuses the rest with a reason.
 */
export class RegexNotTranslatable extends Error {}

const CLASS_ESCAPES: Record<string, string> = {
  d: '0-9',
  w: 'A-Za-z0-9_',
  // Real control characters: in Lucene `\n` is an escaped letter n.
  s: ' \t\n\r\f\v',
};
const CONTROL: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
// Operators of Lucene's optional syntax (enabled by default in Elasticsearch) and the quote: literal in RE2.
const LUCENE_ONLY = new Set(['#', '@', '&', '<', '>', '~', '"']);
const RE_SPECIAL = new Set(['.', '?', '+', '*', '|', '{', '}', '[', ']', '(', ')', '\\', ...LUCENE_ONLY]);

function escapeLiteral(c: string): string {
  if (c === '\n' || c === '\t' || c === '\r' || c === '\f' || c === '\v') return c;
  return RE_SPECIAL.has(c) ? '\\' + c : c;
}

export interface LuceneRegex {
  value: string;
  caseInsensitive: boolean;
}

export function toLuceneRegex(src: string, flags: { i: boolean; m: boolean; s: boolean }): LuceneRegex {
  let i = 0;
  let caseInsensitive = flags.i;
  if (src.startsWith('(?i)')) {
    caseInsensitive = true;
    i = 4;
  }
  let anchoredStart = false;
  let anchoredEnd = false;
  if (src[i] === '^') {
    anchoredStart = true;
    i++;
  }
  let end = src.length;
  if (end > i && src[end - 1] === '$' && !isEscaped(src, end - 1)) {
    anchoredEnd = true;
    end--;
  }
  if ((anchoredStart || anchoredEnd) && flags.m)
    throw new RegexNotTranslatable('anchors with the multiline flag have no Lucene equivalent');
  let out = '';
  let inClass = false;
  const fail = (why: string): never => {
    throw new RegexNotTranslatable(`${why} (Lucene regular expressions lack it)`);
  };
  while (i < end) {
    const c = src[i] as string;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) fail('trailing backslash');
      const e = n as string;
      i += 2;
      if (e in CLASS_ESCAPES) {
        out += inClass ? CLASS_ESCAPES[e] : `[${CLASS_ESCAPES[e]}]`;
      } else if (e === 'D' || e === 'W' || e === 'S') {
        if (inClass) fail(`\\${e} inside a character class`);
        out += `[^${CLASS_ESCAPES[e.toLowerCase()]}]`;
      } else if (e in CONTROL) {
        out += CONTROL[e];
      } else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = src.slice(i, i + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) fail(`\\${e} escape without ${len} hex digits`);
        i += len;
        out += escapeLiteral(String.fromCharCode(parseInt(hex, 16)));
      } else if (/[A-Za-z0-9]/.test(e)) {
        fail(`escape \\${e} (word boundary, back-reference or Unicode class)`);
      } else {
        out += '\\' + e;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += LUCENE_ONLY.has(c) ? '\\' + c : c;
      i++;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (src[i] === '^') {
        out += '^';
        i++;
      }
      // A `]` right after `[` or `[^` is a literal in RE2.
      if (src[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      const named = /^(?:P?<[A-Za-z_][A-Za-z0-9_]*>)/.exec(rest);
      if (rest.startsWith(':')) i += 3;
      else if (named) i += 2 + named[0].length;
      else fail('look-around or inline flags inside the expression');
      out += '(';
      continue;
    }
    if (c === '^' || c === '$') fail(`anchor ${c} inside the expression`);
    if (c === '*' || c === '+' || c === '?' || c === '}') {
      out += c;
      i++;
      // Lazy and possessive quantifiers change which text matches, not whether something does.
      if (src[i] === '?' || src[i] === '+') i++;
      continue;
    }
    if (c === '.' && !flags.s) {
      out += '[^\n]';
      i++;
      continue;
    }
    out += LUCENE_ONLY.has(c) ? '\\' + c : c;
    i++;
  }
  if (inClass) fail('unterminated character class');
  return {
    value: `${anchoredStart ? '' : '.*'}(${out})${anchoredEnd ? '' : '.*'}`,
    caseInsensitive,
  };
}

function isEscaped(s: string, pos: number): boolean {
  let n = 0;
  for (let j = pos - 1; j >= 0 && s[j] === '\\'; j--) n++;
  return n % 2 === 1;
}
