import { newCtx } from '../event';
import { ANY_VALUE, type Atom } from './atoms';
import { CandidateIndex, type Indexed, mayHold, sieveOf } from './candidates';

describe('edge sieve', () => {
  // Same length and first code unit put keys in one bucket; '' and non-ASCII keys have buckets too.
  const keys = ['Image', 'Imagx', '', 'a', 'a.b', 'ü', 'x'.repeat(300), 'constructor', '__proto__'];

  it('holds every key it was built from', () => {
    const sieve = sieveOf(keys);
    for (const k of keys) expect(mayHold(sieve, k)).toBe(true);
  });

  it('rejects keys of buckets none of its keys fall in', () => {
    const sieve = sieveOf(['Image']);
    expect(mayHold(sieve, 'CommandLine')).toBe(false);
    expect(mayHold(sieve, 'image')).toBe(false);
    expect(mayHold(sieve, '')).toBe(false);
  });
});

function entry(idx: number, req: Atom[]): Indexed {
  return { req, idx, seen: 0 };
}

function candidates(index: CandidateIndex<Indexed>, event: Record<string, unknown>): number[] {
  return index.candidates(newCtx(event)).map((e) => e.idx);
}

// With a keyword atom the index takes the walk that also scans every value (`walkAll`), else `walk`.
describe.each([false, true])(
  'CandidateIndex walk with keys that share a sieve bucket (keywords: %s)',
  (kw) => {
    const index = new CandidateIndex([
      entry(0, [{ k: 'suffix', path: 'Image', text: 'cmd.exe' }]),
      entry(1, [{ k: 'eq', path: 'a.b', text: 'v' }]),
      entry(2, [{ k: 'present', path: 'p.q.r' }]),
      entry(3, [{ k: 'eq', path: '', text: 'e' }]),
      ...(kw ? [entry(4, [{ k: 'contains', path: ANY_VALUE, text: 'never-in-these-events' }])] : []),
    ]);

    it.each<[string, Record<string, unknown>, number[]]>([
      ['the indexed key', { Image: 'C:\\cmd.exe' }, [0]],
      ['only a key of the same bucket', { Imagx: 'C:\\cmd.exe' }, []],
      ['both', { Imagx: 'x', Image: 'C:\\CMD.EXE' }, [0]],
      ['a nested path', { a: { b: 'V' } }, [1]],
      ['the path as one dotted key', { 'a.b': 'v' }, [1]],
      ['a dotted key of the same bucket', { 'a.c': 'v', a: { c: 'v' } }, []],
      ['a mixed dotted and nested path', { p: { 'q.r': 1 } }, [2]],
      ['an empty key', { '': 'E' }, [3]],
      ['inherited keys only', Object.create({ Image: 'cmd.exe' }) as Record<string, unknown>, []],
    ])('%s', (_name, event, want) => {
      expect(candidates(index, event)).toEqual(want);
    });
  },
);
