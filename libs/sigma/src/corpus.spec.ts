import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { compileRules, loadRules } from './index';

/**
 * Loads and compiles every SigmaHQ rule folder of the shared corpus. Counts and timings are printed, not
 * asserted (CI machines vary); correctness is asserted: every document loads and compiles.
 */
const repoRoot = path.resolve(__dirname, '../../..');
const corpusDir = process.env['CITYSOC_CORPUS_DIR'] ?? path.resolve(repoRoot, '../shared/corpus');
const sigmaDir = path.join(corpusDir, 'sigma');
const present = existsSync(sigmaDir);
if (!present) console.warn(`sigma corpus load test skipped: ${sigmaDir} not found (set CITYSOC_CORPUS_DIR)`);

(present ? describe : describe.skip)('SigmaHQ corpus', () => {
  it('loads and compiles every rule of the rules* folders', () => {
    const folders = readdirSync(sigmaDir)
      .filter((n) => n.startsWith('rules'))
      .sort()
      .map((n) => path.join(sigmaDir, n));
    const t0 = process.hrtime.bigint();
    const loaded = loadRules(folders);
    const t1 = process.hrtime.bigint();
    // rules-placeholder needs values for its placeholders; any value exercises the expand path.
    const names = new Set<string>();
    for (const r of loaded.rules)
      for (const m of JSON.stringify(r.detection).matchAll(/%([A-Za-z0-9_.-]+)%/g)) names.add(m[1] as string);
    const placeholders = Object.fromEntries([...names].map((n) => [n, [`placeholder-${n}`, `${n}-*`]]));
    const set = compileRules(loaded.rules, { placeholders });
    const t2 = process.hrtime.bigint();
    const ms = (a: bigint, b: bigint): string => (Number(b - a) / 1e6).toFixed(0);
    console.log(
      `sigma corpus: ${loaded.files} files, ${loaded.rules.length} rules loaded in ${ms(t0, t1)} ms, ` +
        `${set.size} compiled in ${ms(t1, t2)} ms; ${loaded.errors.length} load errors, ${set.errors.length} compile errors` +
        [...loaded.errors, ...set.errors]
          .map((e) => `\n  ${e.file}:${e.line}: [${e.code}] ${e.message}`)
          .join(''),
    );
    expect(loaded.errors).toEqual([]);
    expect(set.errors).toEqual([]);
    expect(set.size).toBe(loaded.rules.length);

    // A rough figure for the unindexed baseline; the index (issue 3) is what makes this fast.
    const events: Record<string, unknown>[] = [
      {
        EventID: 4688,
        Image: 'C:\\Windows\\System32\\cmd.exe',
        CommandLine: 'cmd.exe /c whoami',
        User: 'CORP\\bob',
      },
      {
        message: 'Failed password for invalid user admin from 10.1.2.3 port 22 ssh2',
        process: { name: 'sshd' },
      },
      { 'c-uri': '/index.php?id=1', 'cs-method': 'GET', 'sc-status': 200, 'c-useragent': 'Mozilla/5.0' },
      { query: 'example.com', answer: '93.184.216.34', src_ip: '192.168.1.10', dst_port: 53 },
    ];
    const n = 400;
    const t3 = process.hrtime.bigint();
    let matches = 0;
    for (let i = 0; i < n; i++)
      matches += set.match(events[i % events.length] as Record<string, unknown>).length;
    const t4 = process.hrtime.bigint();
    const secs = Number(t4 - t3) / 1e9;
    console.log(
      `sigma corpus: ${n} events x ${set.size} rules in ${secs.toFixed(2)} s = ${(n / secs).toFixed(0)} events/s (${matches} matches)`,
    );
  });

  it('reports, rather than throws on, the legacy rules of deprecated/ and unsupported/', () => {
    const folders = ['deprecated', 'unsupported']
      .map((n) => path.join(sigmaDir, n))
      .filter((p) => existsSync(p));
    const loaded = loadRules(folders, { includeStatuses: { deprecated: true, unsupported: true } });
    const set = compileRules(loaded.rules);
    const byCode = new Map<string, number>();
    for (const e of [...loaded.errors, ...set.errors])
      byCode.set(e.code ?? '?', (byCode.get(e.code ?? '?') ?? 0) + 1);
    console.log(
      `sigma legacy folders: ${loaded.files} files, ${loaded.rules.length} rules loaded, ${set.size} compiled; ` +
        `problems by code: ${JSON.stringify(Object.fromEntries(byCode))}`,
    );
    expect(set.size + set.errors.length + set.unsupported.length).toBe(loaded.rules.length);
  });
});
