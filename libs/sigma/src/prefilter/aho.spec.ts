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
