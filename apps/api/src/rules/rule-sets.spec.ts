import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RuleCatalog } from '../console/rule-catalog';
import { sharedRuleSet } from './rule-sets';

describe('sharedRuleSet', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'citysoc-rule-sets-'));
    writeFileSync(
      path.join(dir, 'a.yml'),
      'title: Rule A\nid: rule-a\nlogsource: { product: citysoc }\ndetection:\n  sel: { event.action: a }\n  condition: sel\nlevel: low\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is one cache per folder list: the console catalog and hunts parse the folders once between them', () => {
    const rules = sharedRuleSet([dir]);
    expect(sharedRuleSet([dir])).toBe(rules);
    const catalog = new RuleCatalog([dir]);
    expect(catalog.get().rules.map((r) => r.id)).toEqual(['rule-a']);
    // What the hunt reads (its filters and rule ids) is the set the catalog was built from.
    expect(rules.get().rules.map((r) => r.id)).toEqual(['rule-a']);
    expect(catalog.get()).toBe(catalog.get());
    expect(rules.stats.loads).toBe(1);
    expect(sharedRuleSet([dir, `${dir}-other`])).not.toBe(rules);
  });
});
