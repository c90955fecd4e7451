import { AhoCorasick } from './aho';

function hits(f: (hit: (id: number, end: number) => void) => unknown): string[] {
  const out: string[] = [];
  f((id, end) => out.push(`${id}@${end}`));
  return out;
}

describe('AhoCorasick.scanFolded', () => {
  const ac = new AhoCorasick(['cmd.exe', 'powershell', 'a', '\\temp\\']);
  it.each([
    ['lowercase text', 'c:\\windows\\cmd.exe /c powershell'],
    ['mixed case text', 'C:\\Windows\\CMD.EXE /C PowerShell'],
    ['uppercase only', 'AAA \\TEMP\\ X'],
    ['no needle', 'xyz 123'],
    ['empty', ''],
  ])('reports what scan reports on the lowercased text: %s', (_n, text) => {
    let ascii = false;
    const folded = hits((h) => (ascii = ac.scanFolded(text, h)));
    expect(ascii).toBe(true);
    expect(folded).toEqual(hits((h) => ac.scan(text.toLowerCase(), h)));
  });

  it.each([
    // KELVIN SIGN lowercases to ASCII k; DOTTED CAPITAL I to two code units.
    ['a non-ASCII letter with an ASCII lowercase', 'cmd.exe \u212a'],
    ['a letter whose lowercase is longer', '\u0130 a'],
  ])('gives up at the first non-ASCII code unit: %s', (_n, text) => {
    expect(ac.scanFolded(text, () => undefined)).toBe(false);
  });
});

/** Every (needle id, end) of the lowercased text, by brute force. */
function naive(needles: readonly string[], text: string): string[] {
  const out: string[] = [];
  for (let end = 1; end <= text.length; end++)
    needles.forEach((n, id) => {
      if (end >= n.length && text.slice(end - n.length, end) === n) out.push(`${id}@${end}`);
    });
  return out;
}

const sorted = (xs: string[]): string[] => [...xs].sort();

describe('AhoCorasick against brute force', () => {
  // Needles share prefixes and suffixes (failure links, inherited outputs) and differ in length
  // (the shortest-needle skip); texts include ones shorter than every needle.
  const cases: [string, string[], string[]][] = [
    ['one-character needles', [':', '@', 'ab'], ['2026-01-01T00:00:00Z', 'a@b', '', 'x', 'abab:']],
    ['overlapping needles', ['he', 'she', 'his', 'hers'], ['ushers', 'ahishers', 'h', 'SHE HIS']],
    ['long needles only', ['powershell', 'cmd.exe'], ['cmd', 'c:\\Windows\\CMD.EXE', 'PowerShell -enc']],
    ['nested suffixes', ['a', 'aa', 'aaa'], ['aaaa', 'baab', 'A']],
  ];
  it.each(cases)('%s', (_n, needles, texts) => {
    const ac = new AhoCorasick(needles);
    for (const text of texts) {
      const lower = text.toLowerCase();
      const want = sorted(naive(needles, lower));
      expect(sorted(hits((h) => ac.scan(lower, h)))).toEqual(want);
      expect(sorted(hits((h) => expect(ac.scanFolded(text, h)).toBe(true)))).toEqual(want);
      const some = hits((h) => ac.some(lower, (id, end) => (h(id, end), false)));
      expect(sorted(some)).toEqual(want);
    }
  });

  it('finds the same occurrences in random texts over a small alphabet', () => {
    let seed = 7;
    const rnd = (n: number): number => (((seed = (seed * 1103515245 + 12345) % 2147483648) % n) + n) % n;
    const word = (len: number): string => Array.from({ length: len }, () => 'abc:'.charAt(rnd(4))).join('');
    for (let round = 0; round < 50; round++) {
      const needles = Array.from({ length: 1 + rnd(6) }, () => word(1 + rnd(4)));
      const ac = new AhoCorasick(needles);
      for (let t = 0; t < 10; t++) {
        const text = word(rnd(30));
        expect(sorted(hits((h) => ac.scan(text, h)))).toEqual(sorted(naive(needles, text)));
      }
    }
  });
});
