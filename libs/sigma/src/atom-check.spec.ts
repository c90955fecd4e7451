import { LOWERS_TO_ASCII, literalHolds, reqCheck, reqHolds } from './atom-check';
import { newCtx, scalarString } from './event';
import { type Atom } from './prefilter/atoms';

describe('LOWERS_TO_ASCII', () => {
  it('holds every code point outside ASCII whose lowercase has an ASCII code unit', () => {
    const missed: number[] = [];
    for (let cp = 0x80; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const lower = ch.toLowerCase();
      let ascii = false;
      for (let i = 0; i < lower.length; i++) if (lower.charCodeAt(i) < 128) ascii = true;
      if (ascii && !LOWERS_TO_ASCII.test(ch)) missed.push(cp);
    }
    expect(missed).toEqual([]);
  });
});

/** What the check stands for: the atom on the lowercased value (any element of an array). */
function reference(a: Atom & { text: string }, v: unknown): boolean {
  const one = (x: unknown): boolean => {
    const s = scalarString(x);
    if (s === undefined) return false;
    return literalHolds(a, s.toLowerCase());
  };
  return Array.isArray(v) ? v.some(one) : one(v);
}

describe('reqHolds', () => {
  const texts = ['k', 'ki', 'msg=audit(', 'a.b', '$x', 'i', '1.5', 'tru'];
  const values: unknown[] = [
    'MSG=AUDIT(1)',
    'x msg=audit( y',
    'msg=audit',
    'K',
    '\u212a',
    '\u212ai',
    'x\u212a',
    '\u0130',
    'k\u0130',
    'A.B',
    'aXb',
    '$X',
    '\u017f',
    'I',
    1.5,
    true,
    null,
    ['no', 'MSG=AUDIT(x'],
    [],
    { k: 'k' },
  ];
  const cases: [Atom & { text: string }, unknown][] = [];
  for (const k of ['eq', 'prefix', 'suffix', 'contains'] as const)
    for (const text of texts) for (const v of values) cases.push([{ k, path: 'f', text }, v]);

  it.each(cases)('%j on %j is the atom on the lowercased value', (atom, v) => {
    const check = reqCheck([atom], new Map());
    expect(reqHolds(check, newCtx({ f: v }), undefined)).toBe(reference(atom, v));
  });

  it('reads a path from the slots of a walk when given them, not from the event', () => {
    const check = reqCheck([{ k: 'contains', path: 'a.b', text: 'x' }], new Map([['a.b', 1]]));
    const ctx = newCtx({ a: { b: 'none' } });
    expect(reqHolds(check, ctx, [undefined, 'X'])).toBe(true);
    expect(reqHolds(check, ctx, undefined)).toBe(false);
  });

  it('holds without a requirement, and for a keyword or non-ASCII piece of text', () => {
    const ctx = newCtx({});
    expect(reqHolds(undefined, ctx, undefined)).toBe(true);
    expect(
      reqHolds(reqCheck([{ k: 'contains', path: '\u0000any', text: 'zz' }], new Map()), ctx, undefined),
    ).toBe(true);
    expect(reqHolds(reqCheck([{ k: 'contains', path: 'f', text: 'ß' }], new Map()), ctx, undefined)).toBe(
      true,
    );
    expect(reqHolds(reqCheck([{ k: 'present', path: 'f' }], new Map()), ctx, undefined)).toBe(false);
  });
});
