import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type SigmaRule,
  loadPipelineFile,
  loadRulesFromText,
  pipelineCompileOptions,
  ruleToElasticsearch,
} from '@citysoc/sigma';
import { parse } from 'yaml';
import { ElasticsearchEventStore } from '../elasticsearch/event-store';
import { FakeCluster } from '../elasticsearch/testing/fake-cluster.test';
import { logsourceToElasticsearch, retroHunt, storeBackendOptions } from './retro-hunt';

/**
 * The logsource push-down of Elasticsearch hunts, for every entry of the shipped processing pipeline:
 * the query is recorded in a golden file, and the fake cluster's evaluation of it agrees with the pipeline's
 * own predicate (the detector's routing) on events built from every selection's values and their variants.
 */
const root = path.resolve(__dirname, '..', '..', '..', '..');
const file = path.join(root, 'rules', 'pipelines', 'citysoc.yml');
const pipeline = (() => {
  const loaded = loadPipelineFile(file);
  if (!loaded.pipeline) throw new Error(JSON.stringify(loaded.errors));
  return loaded.pipeline;
})();
const entries = (
  parse(readFileSync(file, 'utf8')) as {
    logsources: Array<{ name: string; logsource: Record<string, string> }>;
  }
).logsources.map((e) => ({
  name: e.name,
  // A '*' key accepts a rule without that key: the logsource a rule of this entry would have.
  logsource: Object.fromEntries(Object.entries(e.logsource).filter(([, v]) => v !== '*')),
}));

function setPath(doc: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

/** Events holding each selection's values (one per listed value), alone and together, plus near misses. */
function eventsFrom(detection: Record<string, unknown>, resolve: (f: string) => readonly string[]) {
  const maps = Object.entries(detection)
    .filter(([k, v]) => k !== 'condition' && v !== null && typeof v === 'object')
    .flatMap(([, v]) => (Array.isArray(v) ? v : [v]))
    .filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v));
  const variants: Array<Record<string, unknown>> = [];
  const fill = (m: Record<string, unknown>, pick: number, miss?: string): Record<string, unknown> => {
    const doc: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(m)) {
      const [field = '', ...mods] = key.split('|');
      const list = Array.isArray(raw) ? raw : [raw];
      let v = list[Math.min(pick, list.length - 1)] as string | number | boolean | null;
      if (mods.includes('exists')) v = 'present';
      if (key === miss) v = typeof v === 'number' ? v + 1 : `${String(v)}-other`;
      if (v === null) continue;
      setPath(doc, resolve(field)[0] ?? field, mods.includes('contains') ? `x ${String(v)} y` : v);
    }
    return doc;
  };
  for (const m of maps) {
    const width = Math.max(...Object.values(m).map((v) => (Array.isArray(v) ? v.length : 1)), 1);
    for (let i = 0; i < width; i++) variants.push(fill(m, i));
    for (const k of Object.keys(m)) variants.push(fill(m, 0, k));
  }
  const together: Record<string, unknown> = {};
  for (const m of maps) for (const [k, v] of Object.entries(fill(m, 0))) together[k] = v;
  variants.push(together);
  return variants;
}

describe('logsource push-down for Elasticsearch hunts', () => {
  const update = process.env.CITYSOC_UPDATE_GOLDEN === '1';
  const golden = path.join(__dirname, 'logsource-pushdown.golden.json');

  it('translates every pipeline entry, exactly as the golden file records', () => {
    const got: Record<string, unknown> = {};
    for (const e of entries) {
      const sels = pipeline.eventsFor(e.logsource);
      if (!sels) {
        got[e.name] = { selectsNothing: true };
        continue;
      }
      const t = logsourceToElasticsearch(sels);
      got[e.name] = t.ok ? t.query : { notPushedDown: t.reason };
    }
    if (update || !existsSync(golden)) writeFileSync(golden, JSON.stringify(got, null, 2) + '\n');
    expect(got).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
    // Every entry that selects events is pushed down: none falls back to the matcher alone.
    expect(Object.entries(got).filter(([, q]) => 'notPushedDown' in (q as object))).toEqual([]);
  });

  it('selects on the cluster exactly the events the detector routes to the logsource', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    await store.insertEvents([]); // installs the templates, so the fake knows the field types
    const events = entries.flatMap((e) =>
      (pipeline.eventsFor(e.logsource) ?? []).flatMap((s) => eventsFrom(s.detection, s.fields)),
    );
    expect(events.length).toBeGreaterThan(entries.length * 2);
    let agreed = 0;
    let positives = 0;
    for (const e of entries) {
      const sels = pipeline.eventsFor(e.logsource);
      const predicate = pipeline.logsource(e.logsource);
      if (!sels || !predicate) continue;
      const t = logsourceToElasticsearch(sels);
      if (!t.ok) throw new Error(`${e.name}: ${t.reason}`);
      events.forEach((doc, i) => {
        const want = predicate(doc);
        expect([e.name, i, fake.matches(t.query, { id: String(i), doc })]).toEqual([e.name, i, want]);
        agreed++;
        if (want) positives++;
      });
    }
    expect(agreed).toBeGreaterThan(0);
    expect(positives).toBeGreaterThan(entries.length);
    await store.close();
  });
});

describe('retro-hunt with the logsource pushed down', () => {
  it('ANDs the logsource into the rule query and says so', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    const rule = loadRulesFromText(
      `title: t\nid: 6f1e3c52-6a2f-4e0b-9b8a-0000000000aa\nlogsource: { product: linux, service: sshd }\nlevel: low\ndetection:\n  sel: { message|contains: failed }\n  condition: sel\n`,
      't.yml',
    ).rules[0] as SigmaRule;
    const o = pipelineCompileOptions(pipeline);
    const r = await retroHunt(
      store,
      rule,
      {},
      {
        logsource: o.logsource,
        logsourceSelections: o.eventsFor,
        compile: { fieldsFor: o.fieldsFor },
      },
    );
    const ls = logsourceToElasticsearch(pipeline.eventsFor(rule.logsource) ?? []);
    const ruleOnly = ruleToElasticsearch(rule, storeBackendOptions({ fieldsFor: o.fieldsFor }));
    if (!ls.ok || !ruleOnly.ok) throw new Error('not translatable');
    expect(r.logsourcePushedDown).toBe(true);
    expect(r.query).toEqual({ bool: { filter: [ruleOnly.query, ls.query] } });
    const [search] = fake.requestsTo('POST', '/logs-citysoc.syslog-*,logs-citysoc.flow-*/_search');
    // Inside the store's (here empty) time-range filter.
    expect((search?.body as { query: unknown }).query).toEqual({ bool: { filter: [r.query] } });
    await store.close();
  });

  it('falls back to the matcher alone, with a warning, when the logsource does not translate', async () => {
    const fake = new FakeCluster();
    const store = new ElasticsearchEventStore(fake.client());
    const rule = loadRulesFromText(
      `title: t\nid: 6f1e3c52-6a2f-4e0b-9b8a-0000000000ab\nlogsource: { product: x }\nlevel: low\ndetection:\n  sel: { process.name: a }\n  condition: sel\n`,
      't.yml',
    ).rules[0] as SigmaRule;
    const r = await retroHunt(
      store,
      rule,
      {},
      {
        logsourceSelections: () => [
          { entry: 'x', detection: { s: { 'user.name|fieldref': 'a' }, condition: 's' }, fields: (f) => [f] },
        ],
      },
    );
    expect(r.logsourcePushedDown).toBe(false);
    expect(r.warnings).toEqual([expect.stringMatching(/^logsource not pushed into the query: .*fieldref/)]);
    expect(r.query).toEqual({ term: { 'process.name': { value: 'a', case_insensitive: true } } });
    await store.close();
  });
});
