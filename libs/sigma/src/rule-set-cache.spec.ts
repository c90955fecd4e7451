import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RuleSetCache } from './rule-set-cache';

const rule = (id: string, title: string) => `title: ${title}
id: ${id}
status: test
logsource:
  product: citysoc
detection:
  sel:
    event.action: ${id}
  condition: sel
level: high
`;

describe('RuleSetCache', () => {
  let dir: string;
  const clock = { ms: 1_000_000 };
  const at = (f: string, sec: number) => utimesSync(f, sec, sec);
  let cache: RuleSetCache;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-rule-cache-'));
    mkdirSync(path.join(dir, 'linux'));
    writeFileSync(path.join(dir, 'a.yml'), rule('rule-a', 'Rule A'));
    writeFileSync(path.join(dir, 'linux', 'b.yml'), rule('rule-b', 'Rule B'));
    // Fixed modification times: a change below is seen by its mtime, not by how fast the test runs.
    at(path.join(dir, 'a.yml'), 1_700_000_000);
    at(path.join(dir, 'linux', 'b.yml'), 1_700_000_000);
    clock.ms = 1_000_000;
    cache = new RuleSetCache([dir], { recheckMs: 5_000, now: () => clock.ms });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const titles = () => cache.get().rules.map((r) => r.title);

  it('loads once, and an unchanged set is checked (stat only) but not reloaded', () => {
    expect(titles()).toEqual(['Rule A', 'Rule B']);
    const first = cache.get();
    clock.ms += 1_000;
    expect(cache.get()).toBe(first);
    expect(cache.stats).toEqual({ checks: 1, loads: 1 });
    for (let i = 0; i < 3; i++) {
      clock.ms += 5_000;
      expect(cache.get()).toBe(first);
    }
    expect(cache.stats).toEqual({ checks: 4, loads: 1 });
  });

  it('picks up a changed, an added and a removed rule file at the next check', () => {
    expect(titles()).toEqual(['Rule A', 'Rule B']);
    const b = path.join(dir, 'linux', 'b.yml');
    writeFileSync(b, rule('rule-b', 'Rule B, reworded'));
    at(b, 1_700_000_100);
    // Within the recheck interval the loaded set is answered as it is.
    clock.ms += 1_000;
    expect(titles()).toEqual(['Rule A', 'Rule B']);
    clock.ms += 5_000;
    expect(titles()).toEqual(['Rule A', 'Rule B, reworded']);
    expect(cache.stats.loads).toBe(2);

    writeFileSync(path.join(dir, 'linux', 'c.yaml'), rule('rule-c', 'Rule C'));
    clock.ms += 5_000;
    expect(titles()).toEqual(['Rule A', 'Rule B, reworded', 'Rule C']);
    unlinkSync(path.join(dir, 'a.yml'));
    clock.ms += 5_000;
    expect(titles()).toEqual(['Rule B, reworded', 'Rule C']);
    expect(cache.stats).toEqual({ checks: 4, loads: 4 });
  });

  it('sees a same-size rewrite by its modification time', () => {
    const a = path.join(dir, 'a.yml');
    expect(titles()).toEqual(['Rule A', 'Rule B']);
    writeFileSync(a, rule('rule-a', 'Rule Z'));
    at(a, 1_700_000_001);
    clock.ms += 5_000;
    expect(titles()).toEqual(['Rule Z', 'Rule B']);
  });
});
