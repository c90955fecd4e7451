import { type Part, lit } from '../pattern';
import { type SValue } from './value';

/** `-`, `/`, en dash, em dash, horizontal bar: interchangeable as Windows option prefixes (spec 2.1). */
export const WINDASH_CHARS = '-/\u2013\u2014\u2015';

/**
 * Below this many variants the permutations are expanded, so each stays a plain substring test; above it
 * a character class keeps the rule linear instead of 5^n variants.
 */
const MAX_EXPANDED = 25;

export function windash(v: SValue): SValue[] {
  let count = 0;
  for (const p of v.parts) if (p.k === 'lit') for (const ch of p.s) if (WINDASH_CHARS.includes(ch)) count++;
  if (count === 0) return [v];
  if (5 ** count <= MAX_EXPANDED) {
    let variants: Part[][] = [[]];
    for (const p of v.parts) {
      if (p.k !== 'lit') {
        variants = variants.map((pre) => [...pre, p]);
        continue;
      }
      let texts = [''];
      for (const ch of p.s) {
        if (WINDASH_CHARS.includes(ch)) texts = texts.flatMap((t) => [...WINDASH_CHARS].map((d) => t + d));
        else texts = texts.map((t) => t + ch);
      }
      variants = variants.flatMap((pre) => texts.map((t) => [...pre, lit(t)]));
    }
    return variants.map((parts) => ({ parts }));
  }
  const parts: Part[] = [];
  for (const p of v.parts) {
    if (p.k !== 'lit') {
      parts.push(p);
      continue;
    }
    let buf = '';
    for (const ch of p.s) {
      if (WINDASH_CHARS.includes(ch)) {
        if (buf) parts.push(lit(buf));
        buf = '';
        parts.push({ k: 'class', chars: WINDASH_CHARS });
      } else {
        buf += ch;
      }
    }
    if (buf) parts.push(lit(buf));
  }
  return [{ parts }];
}
