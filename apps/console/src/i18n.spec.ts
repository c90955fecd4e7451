import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import en from './locales/en.json';
import vi from './locales/vi.json';

const SRC = __dirname;
const PLURAL = /_(zero|one|two|few|many|other)$/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    // Tests and test helpers (ui.test.tsx, a page for a browser test) are not what analysts see.
    return /\.tsx?$/.test(f) && !/\.(spec|test)\.tsx?$/.test(f) ? [p] : [];
  });
}

const files = sources(SRC).map((f) => ({ f, text: readFileSync(f, 'utf8') }));
const base = (k: string) => k.replace(PLURAL, '');
/** Text between a tag's '>' and the next '<' that holds letters and no expression. */
const RAW_TEXT = /(?<!=)>([^<>{}]*\p{L}[^<>{}]*)</gu;

/** Literal keys t('a.b') and template-key prefixes t(`a.${x}`): every catalog key under a prefix counts. */
function usedKeys(): { literal: Set<string>; prefixes: Set<string> } {
  const literal = new Set<string>();
  const prefixes = new Set<string>();
  for (const { text } of files) {
    for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) literal.add(m[1]!);
    for (const m of text.matchAll(/\bt\(\s*`([^`$]*)\$\{/g)) prefixes.add(m[1]!);
    // Keys held in constants (navigation table): 'nav.x' strings.
    for (const m of text.matchAll(/'(nav\.[a-z]+)'/g)) literal.add(m[1]!);
  }
  return { literal, prefixes };
}

describe('console i18n catalogs', () => {
  const { literal, prefixes } = usedKeys();
  const catalogs = { vi: vi as Record<string, string>, en: en as Record<string, string> };

  it.each(Object.entries(catalogs))('%s has every key the code uses', (_lang, cat) => {
    const have = new Set(Object.keys(cat).map(base));
    expect([...literal].filter((k) => !have.has(k))).toEqual([]);
    for (const p of prefixes) expect([p, Object.keys(cat).some((k) => k.startsWith(p))]).toEqual([p, true]);
  });

  it.each(Object.entries(catalogs))('%s has no unused keys', (_lang, cat) => {
    const unused = Object.keys(cat)
      .map(base)
      .filter((k) => !literal.has(k) && ![...prefixes].some((p) => p && k.startsWith(p)));
    expect(unused).toEqual([]);
  });

  it('vi and en have the same keys, none empty', () => {
    expect(Object.keys(vi).sort()).toEqual(Object.keys(en).sort());
    for (const cat of Object.values(catalogs))
      expect(Object.entries(cat).filter(([, v]) => !v.trim())).toEqual([]);
  });

  it('no raw text in JSX: every visible string goes through t()', () => {
    const raw: string[] = [];
    for (const { f, text } of files.filter((x) => x.f.endsWith('.tsx'))) {
      // Key names in <kbd> are the same in every language.
      const jsx = text.replace(/<kbd>[^<]*<\/kbd>/g, '');
      // The '>' of an arrow (`() => Promise<void>`) closes no tag.
      for (const m of jsx.matchAll(RAW_TEXT)) {
        const s = m[1]!.trim();
        // TypeScript generics (useState<T>(…)) also sit between < and >: code characters rule them out.
        if (s && !/[;=(){}[\]`'"?|&]/.test(s)) raw.push(`${path.basename(f)}: ${s}`);
      }
      for (const m of text.matchAll(/\b(?:aria-label|title|placeholder|alt)="([^"]*\p{L}[^"]*)"/gu))
        if (!/^[a-z.]+:[\d.]+$/.test(m[1]!)) raw.push(`${path.basename(f)}: ${m[1]!}`);
    }
    expect(raw).toEqual([]);
  });

  it('the raw-string check catches a raw string', () => {
    const sample = '<p>Hello world</p> onSubmit: () => Promise<void>;';
    expect([...sample.matchAll(RAW_TEXT)].map((m) => m[1])).toEqual(['Hello world']);
  });
});
