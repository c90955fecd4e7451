import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command } from 'commander';
import { projectRoot } from '@citysoc/config';
import { openBus } from '@citysoc/bus';
import {
  DrillRunRegistry,
  ApiRunRegistry,
  type RunRegistry,
  loadScenario,
  newRunId,
  plan,
  renderScorecardHtml,
  runLive,
  scoreRun,
  type LoadedScenario,
  type Scenario,
  type Scorecard,
} from '@citysoc/drills';
import { DEFAULT_GROUPING, parseGroupingPolicy } from '@citysoc/incidents';
import { loadRules } from '@citysoc/sigma';
import { loadRuleSet } from '../../../detector/src/rule-set';
import { runOffline } from './drill-offline';

/** Exit codes of `drill run`: 0 every expectation passed, 1 one failed, 2 an error. */
export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
export const EXIT_ERROR = 2;

const defaultDir = () => process.env.CITYSOC_DRILLS_DIR ?? path.join(projectRoot(), 'drills');
const ruleDirs = () => [
  path.join(projectRoot(), 'rules'),
  ...(process.env.CITYSOC_RULE_PATHS ?? '').split(':').filter(Boolean),
];

interface Found {
  file: string;
  loaded: LoadedScenario;
}

/** Scenario files of a folder, or the files/ids given (an id is looked up in the folder). */
export function findScenarios(args: string[], dir: string): Found[] {
  const files =
    args.length === 0
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
          .sort()
          .map((f) => path.join(dir, f))
      : args.map((a) => {
          if (existsSync(a) && statSync(a).isFile()) return a;
          for (const ext of ['.yaml', '.yml'])
            if (existsSync(path.join(dir, a + ext))) return path.join(dir, a + ext);
          throw new Error(`no scenario ${a} (not a file, not in ${dir})`);
        });
  return files.map((file) => ({ file, loaded: loadScenario(readFileSync(file, 'utf8'), file) }));
}

function parseVars(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--var wants name=value, got ${kv}`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} is not a number: ${v}`);
  return n;
}

/** Every problem of the scenarios, plus expectation rules that no loaded rule has. */
export function validateScenarios(found: Found[], ruleIds?: Set<string>): string[] {
  const problems: string[] = [];
  for (const f of found) {
    for (const p of f.loaded.problems) problems.push(`${p.file}:${p.line}: ${p.message}`);
    const s = f.loaded.scenario;
    if (!s || !ruleIds) continue;
    for (const d of s.expect.detections ?? [])
      if (!ruleIds.has(d.rule.id))
        problems.push(`${f.file}:1: expectation ${d.id}: no loaded rule has id ${d.rule.id}`);
    for (const m of s.expect.must_not_fire ?? [])
      if (!m.includes('*') && !ruleIds.has(m))
        problems.push(`${f.file}:1: must_not_fire ${m}: no loaded rule has that id`);
  }
  const ids = new Map<string, string>();
  for (const f of found) {
    const s = f.loaded.scenario;
    if (!s) continue;
    if (ids.has(s.id)) problems.push(`${f.file}:1: scenario id ${s.id} also used by ${ids.get(s.id)}`);
    ids.set(s.id, f.file);
  }
  return problems;
}

function summary(sc: Scorecard): string {
  const n = sc.noise;
  return `RESULT  ${sc.result}  detections ${sc.coverage.detected}/${sc.coverage.expected}  incidents ${sc.incidents.filter((i) => i.grouping_ok && i.count_ok).length}/${sc.incidents.length}  noise ${n.unexpected_alerts.reduce((a, u) => a + u.count, 0)}  must-not-fire ${n.must_not_fire_violations.length}  delayed ${sc.coverage.delayed}  missed ${sc.coverage.missed}`;
}

function writeRun(outDir: string, sc: Scorecard, extra: Record<string, unknown>): string {
  const dir = path.join(outDir, sc.run);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'scorecard.json'), JSON.stringify(sc, null, 2) + '\n');
  writeFileSync(path.join(dir, 'scorecard.vi.html'), renderScorecardHtml(sc, 'vi'));
  writeFileSync(path.join(dir, 'scorecard.en.html'), renderScorecardHtml(sc, 'en'));
  writeFileSync(path.join(dir, 'observations.json'), JSON.stringify(extra, null, 2) + '\n');
  return dir;
}

function readScorecards(dir: string): Scorecard[] {
  if (!existsSync(dir)) return [];
  const out: Scorecard[] = [];
  for (const d of readdirSync(dir)) {
    const f = path.join(dir, d, 'scorecard.json');
    if (existsSync(f)) out.push(JSON.parse(readFileSync(f, 'utf8')) as Scorecard);
  }
  return out.sort((a, b) => a.started.localeCompare(b.started));
}

/** `--since 90d` → epoch ms. */
function since(v: string): number {
  const m = /^(\d+)([dh])$/.exec(v);
  if (!m) throw new Error(`--since wants Nd or Nh, got ${v}`);
  return Date.now() - Number(m[1]) * (m[2] === 'd' ? 86_400_000 : 3_600_000);
}

/** Validated ATT&CK coverage over runs: technique → last pass, last result; scenario → result trend. */
export function aggregate(cards: Scorecard[]): {
  techniques: Record<string, { last_pass: string | null; last_result: 'pass' | 'fail' }>;
  scenarios: Record<
    string,
    Array<{ run: string; started: string; result: string; ttd_ms: Array<number | null> }>
  >;
  regressions: string[];
} {
  const techniques: Record<string, { last_pass: string | null; last_result: 'pass' | 'fail' }> = {};
  const scenarios: Record<
    string,
    Array<{ run: string; started: string; result: string; ttd_ms: Array<number | null> }>
  > = {};
  for (const c of cards) {
    for (const [t, r] of Object.entries(c.coverage.by_technique)) {
      const cur = techniques[t] ?? { last_pass: null, last_result: r };
      techniques[t] = { last_pass: r === 'pass' ? c.started : cur.last_pass, last_result: r };
    }
    (scenarios[c.scenario.id] ??= []).push({
      run: c.run,
      started: c.started,
      result: c.result,
      ttd_ms: c.expectations.map((e) => e.ttd_ms),
    });
  }
  const regressions = Object.entries(scenarios)
    .filter(
      ([, runs]) => runs.length >= 2 && runs.at(-1)!.result === 'fail' && runs.at(-2)!.result === 'pass',
    )
    .map(([id]) => id);
  return { techniques, scenarios, regressions };
}

export function registerDrill(
  program: Command,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  const drill = program
    .command('drill')
    .description('Attack drills: replay scenarios through the live pipeline and score the SOC');
  const setExit = (code: number) => {
    process.exitCode = code;
  };

  drill
    .command('list')
    .description('List the scenario library')
    .option('--dir <dir>', 'scenario folder (CITYSOC_DRILLS_DIR, default drills/)')
    .option('--tag <tag>', 'only scenarios with this tag')
    .option('--technique <id>', 'only scenarios covering this ATT&CK technique')
    .action((o: { dir?: string; tag?: string; technique?: string }) => {
      for (const f of findScenarios([], o.dir ?? defaultDir())) {
        const s = f.loaded.scenario;
        if (!s) {
          out.write(`${path.basename(f.file)}  INVALID (citysoc drill validate ${f.file})\n`);
          continue;
        }
        if (o.tag && !(s.tags ?? []).includes(o.tag)) continue;
        if (
          o.technique &&
          !(s.attack?.techniques ?? []).some((t) => t === o.technique || t.startsWith(`${o.technique}.`))
        )
          continue;
        const kind = s.twin_of ? `twin of ${s.twin_of}` : (s.attack?.techniques ?? []).join(',');
        out.write(`${s.id.padEnd(34)} v${s.version}  ${kind.padEnd(34)} ${s.title.en}\n`);
      }
    });

  drill
    .command('validate')
    .description('Check scenarios against the schema, their cross-references and the loaded rules')
    .argument('[scenarios...]', 'files or ids (default: the whole library)')
    .option('--dir <dir>', 'scenario folder')
    .option('--no-rules', 'skip checking that expectation rule ids exist')
    .action((args: string[], o: { dir?: string; rules: boolean }) => {
      const found = findScenarios(args, o.dir ?? defaultDir());
      let ids: Set<string> | undefined;
      if (o.rules) {
        const r = loadRules(ruleDirs());
        ids = new Set(r.rules.map((x) => x.id));
      }
      const problems = validateScenarios(found, ids);
      for (const p of problems) err.write(p + '\n');
      out.write(`${found.length} scenario(s), ${problems.length} problem(s)\n`);
      setExit(problems.length > 0 ? EXIT_FAIL : EXIT_PASS);
    });

  drill
    .command('plan')
    .description('Print the timeline a run would send (nothing is sent)')
    .argument('<scenario>')
    .option('--dir <dir>', 'scenario folder')
    .option('--seed <n>', 'random seed', '1')
    .option('--speed <x>', 'time factor', '1')
    .option('--var <name=value...>', 'override a variable')
    .option('--json', 'one JSON line per record')
    .action(
      (id: string, o: { dir?: string; seed: string; speed: string; var?: string[]; json?: boolean }) => {
        const f = findScenarios([id], o.dir ?? defaultDir())[0]!;
        const s = requireValid(f);
        const speed = num(o.speed, '--speed', 1);
        const tl = plan(s, { seed: num(o.seed, '--seed', 1), vars: parseVars(o.var) });
        for (const it of tl.items) {
          const at = it.atMs / speed;
          if (o.json) out.write(JSON.stringify({ ...it, wallMs: Math.round(at) }) + '\n');
          else {
            const what =
              it.line ??
              `${it.flow!.proto} ${it.flow!.src}:${it.flow!.sport} → ${it.flow!.dst}:${it.flow!.dport} ${it.flow!.bytes} B`;
            out.write(
              `${(at / 1000).toFixed(3).padStart(9)}s  ${it.step.padEnd(14)} ${it.source.padEnd(14)} ${what}\n`,
            );
          }
        }
        if (!o.json)
          out.write(
            `${tl.items.length} records over ${(tl.durationMs / speed / 1000).toFixed(1)} s at speed ×${speed}\n`,
          );
      },
    );

  drill
    .command('run')
    .description('Run scenarios through the real listeners and score them (exit 0 pass, 1 fail, 2 error)')
    .argument('<scenarios...>')
    .option('--dir <dir>', 'scenario folder')
    .option('--seed <n>', 'random seed', '1')
    .option('--speed <x>', 'time factor (the --ci preset uses 20)')
    .option('--ci', 'CI preset: speed 20, no human phase, short timeout')
    .option('--blind', 'blind exercise (analysts see a normal incident)')
    .option('--var <name=value...>', 'override a variable')
    .option('--offline', "no pipeline: the collector's parsers and the detector's engine in-process")
    .option('--grouping <policy>', 'offline: incident grouping (CITYSOC_GROUPING syntax)', 'keys=entity')
    .option(
      '--host <host>',
      'collector host (CITYSOC_DRILL_HOST)',
      process.env.CITYSOC_DRILL_HOST ?? '127.0.0.1',
    )
    .option('--syslog-udp-port <n>', 'CITYSOC_SYSLOG_UDP_PORT', process.env.CITYSOC_SYSLOG_UDP_PORT ?? '5514')
    .option('--syslog-tcp-port <n>', 'CITYSOC_SYSLOG_TCP_PORT', process.env.CITYSOC_SYSLOG_TCP_PORT ?? '5514')
    .option('--syslog-tls-port <n>', 'CITYSOC_SYSLOG_TLS_PORT', process.env.CITYSOC_SYSLOG_TLS_PORT ?? '6514')
    .option(
      '--netflow-port <n>',
      'CITYSOC_FLOW_NETFLOW_PORT',
      process.env.CITYSOC_FLOW_NETFLOW_PORT ?? '2055',
    )
    .option('--ipfix-port <n>', 'CITYSOC_FLOW_IPFIX_PORT', process.env.CITYSOC_FLOW_IPFIX_PORT ?? '4739')
    .option(
      '--exporter <addr>',
      'local address flow exporters bind (CITYSOC_DRILL_EXPORTER)',
      process.env.CITYSOC_DRILL_EXPORTER ?? '127.0.0.1',
    )
    .option('--tls-ca <file>', 'CA of the syslog TLS listener')
    .option(
      '--tls-cert <file>',
      'drill client certificate: presented on TLS sources; with --register its SHA-256 is registered, so the run owns that connection from any port',
    )
    .option('--tls-key <file>', 'drill client key')
    .option(
      '--api <url>',
      'API base URL (CITYSOC_API_URL); token from CITYSOC_API_TOKEN',
      process.env.CITYSOC_API_URL,
    )
    .option(
      '--register',
      'register the run through the API (POST /api/v1/drills/runs; CITYSOC_API_TOKEN must be a drill controller token)',
    )
    .option(
      '--attribution <how>',
      'marker (only alerts the collectors marked) | window (every alert since start)',
      'window',
    )
    .option('--timeout <dur>', 'extra wait after the last deadline, seconds', undefined)
    .option('--out <dir>', 'where run folders go', 'runs')
    .action(async (args: string[], o: RunOpts) => {
      setExit(await runCommand(args, o, out, err));
    });

  drill
    .command('status')
    .description('A registered run (NATS drill-runs bucket)')
    .argument('[run-id]')
    .action(async (id: string | undefined) => {
      await withRegistry(async (reg) => {
        const runs = id ? [await reg.get(id)] : await reg.list();
        for (const r of runs) {
          if (!r) throw new Error(`no drill run ${id}`);
          out.write(
            `${r.runId}  ${r.scenario}  ${r.status}${r.result ? ` ${r.result}` : ''}  ${r.window.start} → ${r.window.end}  by ${r.registeredBy}\n`,
          );
        }
      });
    });

  drill
    .command('abort')
    .description('End a registered run now: later records from its senders count as real again')
    .argument('<run-id>')
    .option(
      '--api <url>',
      "API base URL (CITYSOC_API_URL): also closes the run's incidents",
      process.env.CITYSOC_API_URL,
    )
    .action(async (id: string, o: { api?: string }) => {
      const token = process.env.CITYSOC_API_TOKEN;
      if (o.api && token) {
        const r = (await new ApiRunRegistry({ url: o.api, token }).finish(id, 'aborted')) as {
          run: { runId: string; updatedAt: string };
          closed: string[];
        };
        out.write(
          `${r.run.runId} aborted at ${r.run.updatedAt}; ${r.closed.length} drill incident(s) closed\n`,
        );
        return;
      }
      // Without the API only the window closes: the run's incidents stay open.
      await withRegistry(async (reg) => {
        const r = await reg.finish(id, 'aborted');
        out.write(`${r.runId} aborted at ${r.updatedAt} (registry only: incidents not closed, use --api)\n`);
      });
    });

  drill
    .command('score')
    .description('Re-score a run from its stored observations')
    .argument('<run-dir>')
    .option('--dir <dir>', 'scenario folder')
    .option('--json', 'print the scorecard JSON')
    .action((runDir: string, o: { dir?: string; json?: boolean }) => {
      const obs = JSON.parse(readFileSync(path.join(runDir, 'observations.json'), 'utf8')) as StoredRun;
      const f = findScenarios([obs.scenarioFile], o.dir ?? defaultDir())[0]!;
      const s = requireValid(f);
      if (f.loaded.sha256 !== obs.sha256)
        err.write(`warning: scenario file changed since the run (sha256 differs)\n`);
      const tl = plan(s, { seed: obs.seed, vars: obs.vars, runId: obs.runId });
      const sc = scoreRun({
        ...obs.input,
        scenario: s,
        sha256: obs.sha256,
        timeline: tl,
        nowMs: obs.input.nowMs,
      });
      out.write(o.json ? JSON.stringify(sc, null, 2) + '\n' : summary(sc) + '\n');
      setExit(sc.result === 'pass' ? EXIT_PASS : EXIT_FAIL);
    });

  drill
    .command('report')
    .description('Render a run scorecard (HTML/JSON), or aggregate runs with --since')
    .argument('[run-dir]')
    .option('--lang <lang>', 'vi | en', 'vi')
    .option('--format <f>', 'html | json', 'html')
    .option('--since <age>', 'aggregate every run of --runs younger than this (90d, 12h)')
    .option('--runs <dir>', 'run folders', 'runs')
    .action(
      (runDir: string | undefined, o: { lang: string; format: string; since?: string; runs: string }) => {
        if (o.lang !== 'vi' && o.lang !== 'en') throw new Error('--lang must be vi or en');
        if (o.since) {
          const from = since(o.since);
          const cards = readScorecards(o.runs).filter((c) => Date.parse(c.started) >= from);
          out.write(
            JSON.stringify(
              { since: new Date(from).toISOString(), runs: cards.length, ...aggregate(cards) },
              null,
              2,
            ) + '\n',
          );
          return;
        }
        if (!runDir) throw new Error('give a run folder, or --since');
        const sc = JSON.parse(readFileSync(path.join(runDir, 'scorecard.json'), 'utf8')) as Scorecard;
        out.write(o.format === 'json' ? JSON.stringify(sc, null, 2) + '\n' : renderScorecardHtml(sc, o.lang));
      },
    );
}

interface RunOpts {
  dir?: string;
  seed: string;
  speed?: string;
  ci?: boolean;
  blind?: boolean;
  var?: string[];
  offline?: boolean;
  grouping: string;
  host: string;
  syslogUdpPort: string;
  syslogTcpPort: string;
  syslogTlsPort: string;
  netflowPort: string;
  ipfixPort: string;
  exporter: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  api?: string;
  register?: boolean;
  attribution: string;
  timeout?: string;
  out: string;
}

interface StoredRun {
  runId: string;
  scenarioFile: string;
  sha256: string;
  seed: number;
  vars: Record<string, string>;
  input: Omit<Parameters<typeof scoreRun>[0], 'scenario' | 'timeline' | 'sha256'>;
}

function requireValid(f: Found): Scenario {
  if (!f.loaded.scenario)
    throw new Error(f.loaded.problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  return f.loaded.scenario;
}

async function withRegistry(fn: (r: DrillRunRegistry) => Promise<void>): Promise<void> {
  const bus = await openBus(
    {
      natsUrl: process.env.CITYSOC_NATS_URL ?? 'nats://127.0.0.1:4222',
      natsCreds: process.env.CITYSOC_NATS_CREDS ?? '',
      streamPrefix: process.env.CITYSOC_STREAM_PREFIX ?? '',
      natsReplicas: 1,
      eventsMaxAgeHours: 168,
      eventsMaxBytes: -1,
      alertsMaxAgeHours: 720,
      deadletterMaxAgeHours: 720,
    },
    'drill-cli',
  );
  try {
    await fn(await DrillRunRegistry.open(bus));
  } finally {
    await bus.close();
  }
}

async function runCommand(
  args: string[],
  o: RunOpts,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  try {
    const found = findScenarios(args, o.dir ?? defaultDir());
    const scenarios = found.map((f) => ({ f, s: requireValid(f) }));
    const seed = num(o.seed, '--seed', 1);
    const speed = num(o.speed, '--speed', o.ci ? 20 : 1);
    if (speed <= 0) throw new Error('--speed must be positive');
    const vars = parseVars(o.var);
    const tty = (out as { isTTY?: boolean }).isTTY === true;
    const progress = (line: string) =>
      out.write(
        (tty ? line : line.replace(/[✔✘⚠]/g, (c) => ({ '✔': 'OK', '✘': 'FAIL', '⚠': 'LATE' })[c]!)) + '\n',
      );
    let worst = EXIT_PASS;
    for (const { f, s } of scenarios) {
      let sc: Scorecard;
      let stored: StoredRun;
      if (o.offline) {
        const engine = loadRuleSet({
          paths: ruleDirs(),
          pipeline: process.env.CITYSOC_DETECTOR_PIPELINE ?? 'citysoc',
        }).engine;
        const runId = newRunId();
        const startMs = Date.now();
        const grouping = o.grouping ? parseGroupingPolicy(o.grouping) : DEFAULT_GROUPING;
        const r = runOffline(s, f.loaded.sha256, engine, { seed, vars, startMs, runId, grouping });
        for (const p of [...r.parseFailures, ...r.flowErrors]) err.write(`${f.file}: ${p}\n`);
        sc = r.scorecard;
        progress(`DRILL ${runId}  ${s.id} v${s.version}  offline  seed ${seed}`);
        for (const e of sc.expectations)
          progress(
            `${e.status === 'pass' ? '✔' : '✘'} ${e.id.padEnd(22)} ${e.status}  ${e.matches} alert(s)`,
          );
        stored = {
          runId,
          scenarioFile: f.file,
          sha256: f.loaded.sha256,
          seed,
          vars,
          input: {
            runId,
            startMs,
            speed: 1,
            mode: 'offline',
            blind: false,
            alerts: r.observed,
            eventsStored: r.eventsStored,
            incidents: r.incidents,
            nowMs: r.nowMs,
          },
        };
      } else {
        const token = process.env.CITYSOC_API_TOKEN;
        if (!o.api || !token)
          throw new Error('a live run needs --api (or CITYSOC_API_URL) and CITYSOC_API_TOKEN to read alerts');
        const readFile = (p?: string) => (p ? readFileSync(p) : undefined);
        const ca = readFile(o.tlsCa);
        const cert = readFile(o.tlsCert);
        const key = readFile(o.tlsKey);
        const live = async (registry?: RunRegistry) =>
          runLive(s, f.loaded.sha256, {
            seed,
            speed,
            vars,
            mode: o.ci ? 'ci' : 'human',
            blind: Boolean(o.blind),
            targets: {
              host: o.host,
              syslogUdpPort: num(o.syslogUdpPort, '--syslog-udp-port', 5514),
              syslogTcpPort: num(o.syslogTcpPort, '--syslog-tcp-port', 5514),
              syslogTlsPort: num(o.syslogTlsPort, '--syslog-tls-port', 6514),
              netflowPort: num(o.netflowPort, '--netflow-port', 2055),
              ipfixPort: num(o.ipfixPort, '--ipfix-port', 4739),
              exporterAddress: o.exporter,
              tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) },
            },
            api: { url: o.api!, token },
            ...(registry ? { registry } : {}),
            attribution: o.attribution === 'marker' ? 'marker' : 'window',
            timeoutMs: num(o.timeout, '--timeout', o.ci ? 30 : 300) * 1000,
            pollMs: o.ci ? 1000 : 5000,
            settleMs: o.ci ? 10_000 : 60_000,
            progress,
            registeredBy: process.env.USER ?? 'citysoc-cli',
          });
        // Registration goes through the API (audited, same record as the NATS bucket the collectors watch).
        const r = await live(o.register ? new ApiRunRegistry({ url: o.api, token }) : undefined);
        sc = r.scorecard;
        stored = {
          runId: r.runId,
          scenarioFile: f.file,
          sha256: f.loaded.sha256,
          seed,
          vars,
          input: {
            runId: r.runId,
            startMs: r.startMs,
            speed,
            mode: o.ci ? 'ci' : 'human',
            blind: Boolean(o.blind),
            alerts: r.observation.alerts,
            incidents: r.observation.incidents,
            nowMs: Date.now(),
          },
        };
      }
      const dir = writeRun(o.out, sc, stored as unknown as Record<string, unknown>);
      progress(`${summary(sc)}  → ${dir}`);
      if (sc.result !== 'pass') worst = EXIT_FAIL;
    }
    return worst;
  } catch (e) {
    err.write(`citysoc drill: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_ERROR;
  }
}
