import { Prng } from './prng';
import {
  parseDuration,
  resolveVars,
  type FlowSourceDef,
  type FlowSpec,
  type Scenario,
  type SyslogSourceDef,
} from './scenario';

/** A flow with every template resolved: what the encoder turns into a record. */
export interface PlannedFlow {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
  durationMs: number;
  tcpFlags: number;
}

export interface PlannedItem {
  /** Scenario time: milliseconds after the start, before `--speed` is applied. */
  atMs: number;
  step: string;
  /** Repeat index within the step (0 for a step without repeat). */
  index: number;
  source: string;
  kind: 'syslog' | 'flow';
  /** Syslog message part (TAG + CONTENT); the header is written at send time with the send clock. */
  line?: string;
  flow?: PlannedFlow;
}

export interface Timeline {
  scenario: string;
  /** Syslog source → HOSTNAME of its header (variables expanded). */
  hostnames: Record<string, string>;
  seed: number;
  vars: Record<string, string>;
  items: PlannedItem[];
  /** First item time of each step (scenario time), the reference for time to detect. */
  stepStartMs: Record<string, number>;
  durationMs: number;
}

export interface PlanOptions {
  seed: number;
  vars?: Record<string, string>;
  runId?: string;
}

const FLAG_BITS: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 };

/**
 * scenario + seed → timeline. Pure: the same inputs give the same items in the same order, which is what
 * makes a drill reproducible and lets `plan` show exactly what `run` will send.
 */
export function plan(s: Scenario, opts: PlanOptions): Timeline {
  const vars = resolveVars(s, opts.vars);
  const rng = new Prng(opts.seed);
  const items: PlannedItem[] = [];
  let seq = 0;
  const stepStartMs: Record<string, number> = {};
  for (const step of s.steps) {
    const at = parseDuration(step.at);
    const count = step.repeat?.count ?? 1;
    const every = step.repeat ? parseDuration(step.repeat.every) : 0;
    const jitter = step.repeat?.jitter ? Number(step.repeat.jitter.slice(0, -1)) / 100 : 0;
    for (let i = 0; i < count; i++) {
      const offset = jitter > 0 ? (rng.next() * 2 - 1) * jitter * every : 0;
      const t = Math.max(at, Math.round(at + i * every + offset));
      stepStartMs[step.id] = Math.min(stepStartMs[step.id] ?? t, t);
      for (const e of step.emit) {
        const fill = (tpl: string) => expand(tpl, { vars, rng, i, seq: seq++, runId: opts.runId ?? '' });
        const src = s.sources[e.source]!;
        if (e.line !== undefined && (src as SyslogSourceDef).kind === 'syslog') {
          items.push({
            atMs: t,
            step: step.id,
            index: i,
            source: e.source,
            kind: 'syslog',
            line: fill(e.line),
          });
        } else if (e.flow && (src as FlowSourceDef).kind === 'netflow') {
          items.push({
            atMs: t,
            step: step.id,
            index: i,
            source: e.source,
            kind: 'flow',
            flow: resolveFlow(e.flow, fill),
          });
        }
      }
    }
  }
  // Stable sort: items of one instant keep scenario order (a template-first exporter relies on it).
  items.sort((a, b) => a.atMs - b.atMs);
  const durationMs = items.reduce((m, x) => Math.max(m, x.atMs + (x.flow?.durationMs ?? 0)), 0);
  const hostnames: Record<string, string> = {};
  for (const [name, src] of Object.entries(s.sources))
    if (src.kind === 'syslog')
      hostnames[name] = expand(src.hostname ?? 'citysoc-drill', {
        vars,
        rng: new Prng(0),
        i: 0,
        seq: 0,
        runId: opts.runId ?? '',
      });
  return { scenario: s.id, seed: opts.seed, vars, hostnames, items, stepStartMs, durationMs };
}

interface ExpandCtx {
  vars: Record<string, string>;
  rng: Prng;
  i: number;
  seq: number;
  runId: string;
}

const LABEL = 'abcdefghijklmnopqrstuvwxyz0234567';

/** Replaces `${…}` references; unknown names were refused by loadScenario, so they throw here. */
export function expand(tpl: string, c: ExpandCtx): string {
  return tpl.replace(/\$\{([^}]+)\}/g, (_m, ref: string) => {
    if (ref in c.vars) return c.vars[ref]!;
    if (ref === 'i') return String(c.i);
    if (ref === 'i1') return String(c.i + 1);
    if (ref.startsWith('@')) return `\${${ref}}`;
    if (ref === 'seq') return String(c.seq);
    if (ref === 'drill.run_id') return c.runId;
    if (ref === 'rand.port') return String(c.rng.int(1024, 65535));
    if (ref === 'rand.pid') return String(c.rng.int(300, 65000));
    const [fn, ...args] = ref.split(':');
    if (fn === 'rand.int') return String(c.rng.int(Number(args[0]), Number(args[1])));
    if (fn === 'rand.hex') return c.rng.chars(Number(args[0]), '0123456789abcdef');
    if (fn === 'rand.label') return c.rng.chars(Number(args[0]), LABEL);
    if (fn === 'rand.pick') return c.rng.pick(args.join(':').split('|'));
    throw new Error(`unknown variable \${${ref}}`);
  });
}

function resolveFlow(f: FlowSpec, fill: (t: string) => string): PlannedFlow {
  const num = (v: number | string | undefined, dflt: number, what: string): number => {
    if (v === undefined) return dflt;
    const n = typeof v === 'number' ? v : Number(fill(v));
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`flow ${what} is not a non-negative integer: ${String(v)}`);
    return n;
  };
  const flags = (f.tcp_flags ?? (f.proto === 'tcp' ? ['SYN', 'ACK', 'FIN'] : [])).reduce(
    (acc, x) => acc | FLAG_BITS[x]!,
    0,
  );
  return {
    src: fill(f.src),
    dst: fill(f.dst),
    proto: f.proto,
    sport: num(f.sport, 0, 'sport'),
    dport: num(f.dport, 0, 'dport'),
    packets: num(f.packets, 1, 'packets'),
    bytes: num(f.bytes, 64, 'bytes'),
    durationMs: f.duration ? parseDuration(f.duration) : 0,
    tcpFlags: f.proto === 'tcp' ? flags : 0,
  };
}
