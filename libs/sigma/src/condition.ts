import { SigmaError } from './errors';
import { compilePattern, lit, star } from './pattern';

/** Condition AST. `of` keeps its pattern; compile.ts resolves it against the rule's identifiers. */
export type CondNode =
  | { t: 'id'; name: string }
  | { t: 'and'; items: CondNode[] }
  | { t: 'or'; items: CondNode[] }
  | { t: 'not'; item: CondNode }
  | { t: 'of'; quant: 'all' | number; pattern: string };

type Token =
  | { k: 'lp' | 'rp' | 'and' | 'or' | 'not' | 'of' | 'end'; pos: number }
  | { k: 'word'; v: string; pos: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'of']);

function tokenize(src: string, line?: number): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ k: c === '(' ? 'lp' : 'rp', pos: i });
      i++;
      continue;
    }
    if (c === '|') {
      throw new SigmaError(
        'UNSUPPORTED_AGGREGATION',
        'legacy pipe aggregation in condition (removed in Sigma 2.0; use a correlation rule)',
        line,
      );
    }
    let j = i;
    while (j < src.length && !/[\s()|]/.test(src[j] as string)) j++;
    const word = src.slice(i, j);
    const lower = word.toLowerCase();
    if (KEYWORDS.has(lower)) out.push({ k: lower as 'and' | 'or' | 'not' | 'of', pos: i });
    else out.push({ k: 'word', v: word, pos: i });
    i = j;
  }
  out.push({ k: 'end', pos: src.length });
  return out;
}

/**
 * Recursive descent with the spec's precedence, loosest first: or < and < not < `x of` < parentheses.
 * `near` and pipe aggregations were removed in Sigma 2.0 and are reported as unsupported.
 */
export function parseCondition(src: string, line?: number): CondNode {
  const toks = tokenize(src, line);
  let p = 0;
  const peek = (): Token => toks[p] as Token;
  const fail = (msg: string): never => {
    throw new SigmaError('CONDITION_SYNTAX', `condition "${src}": ${msg} at column ${peek().pos + 1}`, line);
  };

  const parseOr = (): CondNode => {
    const items = [parseAnd()];
    while (peek().k === 'or') {
      p++;
      items.push(parseAnd());
    }
    return items.length === 1 ? (items[0] as CondNode) : { t: 'or', items };
  };
  const parseAnd = (): CondNode => {
    const items = [parseNot()];
    while (peek().k === 'and') {
      p++;
      items.push(parseNot());
    }
    return items.length === 1 ? (items[0] as CondNode) : { t: 'and', items };
  };
  const parseNot = (): CondNode => {
    if (peek().k === 'not') {
      p++;
      return { t: 'not', item: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): CondNode => {
    const tok = peek();
    if (tok.k === 'lp') {
      p++;
      const inner = parseOr();
      if (peek().k !== 'rp') fail('expected ")"');
      p++;
      return inner;
    }
    if (tok.k === 'word') {
      p++;
      const next = peek();
      if (next.k === 'of') {
        p++;
        const target = peek();
        if (target.k !== 'word') return fail('expected an identifier pattern or "them" after "of"');
        p++;
        const q = tok.v.toLowerCase();
        let quant: 'all' | number;
        if (q === 'all') quant = 'all';
        else if (q === 'any') quant = 1;
        else if (/^[1-9]\d*$/.test(q)) quant = Number(q);
        else return fail(`"${tok.v} of" is not a quantifier (use "1 of", "all of" or "N of")`);
        return { t: 'of', quant, pattern: target.v };
      }
      if (tok.v.toLowerCase() === 'near') {
        throw new SigmaError(
          'UNSUPPORTED_AGGREGATION',
          'legacy "near" operator (removed in Sigma 2.0)',
          line,
        );
      }
      return { t: 'id', name: tok.v };
    }
    return fail(tok.k === 'end' ? 'unexpected end' : `unexpected "${src.slice(tok.pos, tok.pos + 6)}"`);
  };

  const node = parseOr();
  if (peek().k !== 'end') fail('unexpected trailing input');
  return node;
}

/** `*` (any run) and `?` (one char) in identifier patterns; everything else literal, case-sensitive. */
export function identifierPatternMatcher(pattern: string): (name: string) => boolean {
  const parts = [...pattern].map((c) => (c === '*' ? star() : c === '?' ? ({ k: 'one' } as const) : lit(c)));
  return compilePattern(parts, (s) => s);
}
