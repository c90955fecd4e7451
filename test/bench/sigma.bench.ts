/**
 * Sigma matching benchmark (issue 3, item 10): one thread, a generated ECS event mix, and two rule sets:
 *   (a) the SigmaHQ rules whose logsources the collectors produce — product linux (all services and
 *       categories); network devices (cisco, fortigate, huawei, juniper, paloalto) and the firewall and
 *       dns categories; the webserver and proxy categories and apache/nginx services; and Windows
 *       forwarded over syslog as the Security channel (service security);
 *   (b) every rule of the main corpus folders `rules*`.
 * Events are fed as the detector sees them, decoded from JSON text.
 * Each set runs unrouted (every rule meets every event, `--pipeline none`) and routed through the shipped
 * processing pipeline rules/pipelines/citysoc.yml (logsource selection + field mappings, as the detector).
 * Prints events/s on one thread (wall clock and process CPU time, untimed pass, with the median and best
 * of its slices per CPU second), p50/p99 per-event latency (separate timed pass) and memory.
 *
 *   npm run build && node dist/test/bench/sigma.bench.js   (BENCH_EVENTS, BENCH_ONLY, BENCH_SET,
 *   BENCH_ROUNDS, CITYSOC_CORPUS_DIR)
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '@citysoc/config';
import {
  type CompiledRuleSet,
  type CompileOptions,
  type SigmaRule,
  compileRules,
  loadPipelineFile,
  loadRules,
} from '@citysoc/sigma';
import { AhoCorasick } from '../../libs/sigma/src/prefilter/aho';
import { corpusDir } from '../support/corpus';
import { type Event, eventMix } from './sigma-events';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const DISTINCT = 20_000;
/** `BENCH_ONLY=routed` (or `unrouted`, or `floor`) runs only those configurations, e.g. for `node --cpu-prof`. */
const ONLY = process.env.BENCH_ONLY;
/** `BENCH_SET=a` (or `b`) runs only that rule set. */
const SET = process.env.BENCH_SET;
/** Slices of the untimed pass, each timed on its own (`BENCH_ROUNDS`). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 10));

const NETWORK_PRODUCTS = new Set(['cisco', 'fortigate', 'huawei', 'juniper', 'paloalto']);
const WEB_CATEGORIES = new Set(['webserver', 'proxy', 'firewall', 'dns']);
const WEB_SERVICES = new Set(['apache', 'nginx']);

function collectorsProduce(r: SigmaRule): boolean {
  const { product, category, service } = r.logsource;
  if (product === 'linux') return true;
  if (product && NETWORK_PRODUCTS.has(product)) return true;
  if (!product && category && WEB_CATEGORIES.has(category)) return true;
  if (!product && service && WEB_SERVICES.has(service)) return true;
  return product === 'windows' && service === 'security';
}

/** rules-placeholder needs values for `%name%`; any value exercises the expand path. */
function placeholdersFor(rules: SigmaRule[]): Record<string, string[]> {
  const names = new Set<string>();
  for (const r of rules)
    for (const m of JSON.stringify(r.detection).matchAll(/%([A-Za-z0-9_.-]+)%/g)) names.add(m[1] as string);
  return Object.fromEntries([...names].map((n) => [n, [`placeholder-${n}`, `${n}-*`]]));
}

const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MB`;

function run(label: string, set: CompiledRuleSet, events: Event[]): void {
  // Warm-up lets V8 optimize the matchers before anything is measured.
  for (let i = 0; i < Math.min(events.length, 20_000); i++) set.match(events[i] as Event);
  set.resetStats();
  let matches = 0;
  // The untimed pass in ROUNDS slices, each with its own CPU time: on a machine shared with other work
  // one pass's rate swings by ±20 % between runs, and the median slice says more than the whole pass.
  const perRound = Math.ceil(EVENTS / ROUNDS);
  const roundRates: number[] = [];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let from = 0; from < EVENTS; from += perRound) {
    const to = Math.min(EVENTS, from + perRound);
    const r0 = process.cpuUsage();
    for (let i = from; i < to; i++) matches += set.match(events[i % events.length] as Event).length;
    const r = process.cpuUsage(r0);
    roundRates.push((to - from) / ((r.user + r.system) / 1e6));
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  roundRates.sort((a, b) => a - b);
  const perCpu = (n: number): string => Math.round(n).toLocaleString('en-US');
  const lat = new Float64Array(EVENTS);
  for (let i = 0; i < EVENTS; i++) {
    const s = performance.now();
    set.match(events[i % events.length] as Event);
    lat[i] = performance.now() - s;
  }
  lat.sort();
  const q = (p: number): number => (lat[Math.min(EVENTS - 1, Math.floor(p * EVENTS))] as number) * 1000;
  const st = set.stats();
  const mem = process.memoryUsage();
  console.log(
    `${label}: ${set.size} rules, ${EVENTS} events in ${secs.toFixed(2)} s = ` +
      `${Math.round(EVENTS / secs).toLocaleString('en-US')} events/s ` +
      `(${perCpu(EVENTS / cpuSecs)} per CPU second; median of ${roundRates.length} rounds ` +
      `${perCpu(roundRates[roundRates.length >> 1] as number)}, best ${perCpu(roundRates[roundRates.length - 1] as number)}); ` +
      `latency p50 ${q(0.5).toFixed(1)} µs, p99 ${q(0.99).toFixed(1)} µs, max ${q(1).toFixed(0)} µs; ` +
      `${(matches / EVENTS).toFixed(3)} matches/event, ` +
      `${(st.evaluations / st.events).toFixed(1)} rule evaluations/event ` +
      `(${st.index.always} always evaluated); heapUsed ${mb(mem.heapUsed)}, rss ${mb(mem.rss)}`,
  );
}

/**
 * The floor of set (a) on these events: what any matcher that honours Sigma keywords must do at least.
 * A keyword matches in any field value (the corpus convention), so every value of an event is visited
 * and every character of every string goes through one automaton of the keyword needles (here the
 * keyword strings of the set's rules, lowercased and cut at wildcards, as the index cuts them). Nothing
 * else: no routing, no field index, no rule evaluated. Printed per event beside the matcher's own cost.
 */
function floor(rules: SigmaRule[], events: Event[]): void {
  const needles: string[] = [];
  for (const r of rules)
    for (const [name, v] of Object.entries(r.detection))
      if (name !== 'condition' && Array.isArray(v))
        for (const x of v)
          if (typeof x === 'string')
            for (const piece of x.toLowerCase().split(/[*?]/)) if (piece.length > 0) needles.push(piece);
  const ac = new AhoCorasick(needles);
  let hits = 0;
  const onHit = (): void => {
    hits++;
  };
  const scan = (s: string): void => {
    if (!ac.scanFolded(s, onHit)) ac.scan(s.toLowerCase(), onHit);
  };
  const walk = (obj: Record<string, unknown>, depth: number): void => {
    for (const k in obj) {
      const v = obj[k];
      if (typeof v === 'string') scan(v);
      else if (typeof v === 'number' || typeof v === 'boolean') scan(String(v));
      else if (v !== null && typeof v === 'object' && depth < 64) {
        if (Array.isArray(v)) {
          for (const x of v) if (typeof x === 'string') scan(x);
        } else walk(v as Record<string, unknown>, depth + 1);
      }
    }
  };
  const perEvent = (f: (e: Event) => void): number => {
    for (let i = 0; i < 20_000; i++) f(events[i % events.length] as Event);
    hits = 0;
    const c0 = process.cpuUsage();
    for (let i = 0; i < EVENTS; i++) f(events[i % events.length] as Event);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / EVENTS;
  };
  const bare = perEvent((e) => walk(e, 0));
  console.log(
    `(a) floor: every value visited and every string scanned by one automaton of the set's ${needles.length} ` +
      `keyword needles (${ac.states} states): ${bare.toFixed(2)} µs per event of CPU ` +
      `(${Math.round(1e6 / bare).toLocaleString('en-US')} per CPU second; ${(hits / EVENTS).toFixed(1)} hits per event); ` +
      `a target of 500,000 per CPU second leaves ${(2 - bare).toFixed(2)} µs for routing, the field index and rule evaluation`,
  );
}

function main(): void {
  const dir = corpusDir();
  if (!dir) {
    console.log('sigma bench skipped: shared corpus not found (set CITYSOC_CORPUS_DIR)');
    return;
  }
  const sigma = path.join(dir, 'sigma');
  const folders = readdirSync(sigma)
    .filter((n) => n.startsWith('rules'))
    .sort()
    .map((n) => path.join(sigma, n));
  const loaded = loadRules(folders);
  const opts = { placeholders: placeholdersFor(loaded.rules) };
  // As the detector receives them: decoded from the JSON text of a bus message (flat strings, keys V8
  // has internalized), not the generator's objects, whose template-literal values are rope strings that
  // every character scan must first flatten.
  const events = eventMix(DISTINCT).map((e) => JSON.parse(JSON.stringify(e)) as Event);
  console.log(
    `node ${process.version}, ${process.arch}; ${loaded.rules.length} rules loaded, ${DISTINCT} distinct events`,
  );
  const subset = loaded.rules.filter(collectorsProduce);
  // Unrouted: every rule meets every event (what `citysoc rules match` does without a pipeline).
  // Routed: through the shipped citysoc pipeline (logsource selection + field mappings), as the detector.
  const piped = loadPipelineFile(path.join(projectRoot(), 'rules', 'pipelines', 'citysoc.yml'));
  if (!piped.pipeline)
    throw new Error(piped.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  const pipeline = piped.pipeline;
  const routedOpts: CompileOptions = {
    ...opts,
    logsource: (ls) => pipeline.logsource(ls),
    fieldsFor: (ls) => pipeline.fieldsFor(ls),
  };
  for (const [label, rules] of [
    ['(a) collector logsources', subset],
    ['(b) whole main corpus', loaded.rules],
  ] as const) {
    if (SET !== undefined && !label.startsWith(`(${SET})`)) continue;
    for (const routed of [false, true]) {
      if (ONLY !== undefined && ONLY !== (routed ? 'routed' : 'unrouted')) continue;
      const t0 = performance.now();
      const set = compileRules(rules, routed ? routedOpts : opts);
      const name = `${label}, ${routed ? 'routed by the citysoc pipeline' : 'unrouted'}`;
      console.log(
        `${name}: compiled in ${(performance.now() - t0).toFixed(0)} ms` +
          (routed
            ? ` (${set.notApplicable.length} rules of logsources the collectors do not produce left out)`
            : ''),
      );
      run(name, set, events);
    }
    if (label.startsWith('(a)') && (ONLY === undefined || ONLY === 'floor')) floor(rules, events);
  }
}

main();
