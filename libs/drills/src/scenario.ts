import { createHash } from 'node:crypto';
import Ajv, { type ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import schema from './drill.schema.json';

export const DRILL_API_VERSION = 'citysoc.drill/v1';
export const DRILL_SCHEMA = schema;

export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export interface Text {
  vi?: string;
  en: string;
}
export interface VarDef {
  type: 'string' | 'ip' | 'hostname' | 'int' | 'port';
  default: string | number;
  description?: string;
}
export interface SyslogSourceDef {
  kind: 'syslog';
  transport: 'udp' | 'tcp' | 'tls';
  framing?: 'lf' | 'octet';
  format: 'rfc3164' | 'rfc5424';
  tz?: string;
  hostname?: string;
  app?: string;
  facility?: number;
  severity?: number;
}
export interface FlowSourceDef {
  kind: 'netflow';
  version: 'v5' | 'v9' | 'ipfix';
  observation_domain?: number;
}
export type SourceDef = SyslogSourceDef | FlowSourceDef;
export interface FlowSpec {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  sport?: number | string;
  dport?: number | string;
  packets?: number | string;
  bytes?: number | string;
  duration?: string;
  tcp_flags?: Array<'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG'>;
}
export interface EmitDef {
  source: string;
  line?: string;
  flow?: FlowSpec;
}
export interface StepDef {
  id: string;
  at: string;
  repeat?: { count: number; every: string; jitter?: string };
  emit: EmitDef[];
}
export interface DetectionExpectation {
  id: string;
  rule: { id: string; title?: string };
  step: string;
  min?: number;
  max?: number;
  within?: string;
  deadline?: string;
  techniques?: string[];
}
export interface IncidentExpectation {
  id: string;
  contains: string[];
  count?: number;
  severity?: Severity;
  unit?: string;
}
export interface Scenario {
  apiVersion: typeof DRILL_API_VERSION;
  id: string;
  version: number;
  title: Text;
  description?: Text;
  twin_of?: string;
  tags?: string[];
  attack?: { version?: string; techniques: string[] };
  units?: string[];
  severity_expected?: Severity;
  vars?: Record<string, VarDef>;
  sources: Record<string, SourceDef>;
  steps: StepDef[];
  expect: {
    detections?: DetectionExpectation[];
    incidents?: IncidentExpectation[];
    must_not_fire?: string[];
  };
  human?: {
    blind?: boolean;
    notifications?: 'dry-run' | 'deliver';
    targets?: { tta?: string; ttr?: string };
  };
}

export interface ScenarioProblem {
  file: string;
  line: number;
  message: string;
}

export interface LoadedScenario {
  scenario?: Scenario;
  /** sha256 of the file bytes: the identity a run registers and a scorecard records. */
  sha256: string;
  problems: ScenarioProblem[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile<Scenario>(schema);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1.5s`, `70s`, `2m`, `500ms` → milliseconds (the schema has already checked the shape). */
export function parseDuration(d: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** `${name}` references in a template; `rand.*`, `i`, `seq` and `drill.*` are built in. */
const REF = /\$\{([^}]+)\}/g;
const RAND = /^rand\.(port|pid|int:\d+:\d+|hex:\d+|label:\d+|pick:[^}]+)$/;
/** `@date`/`@time`/`@iso`/`@epoch` are filled at send time, in the source's zone (device clocks in payloads). */
const BUILTIN = /^(i|i1|seq|drill\.run_id|@date|@time|@iso|@epoch)$/;

export function templateRefs(s: string): string[] {
  return [...s.matchAll(REF)].map((m) => m[1]!);
}

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lc: LineCounter,
  path: Array<string | number>,
): number {
  let node: unknown = doc.contents;
  let last = node;
  for (const key of path) {
    if (isMap(node)) node = node.get(key, true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else break;
    if (node) last = node;
  }
  const range = (last as YamlNode | undefined)?.range;
  return range ? lc.linePos(range[0]).line : 1;
}

function pathOf(e: ErrorObject): Array<string | number> {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Parses and validates a scenario: YAML syntax, the shipped JSON Schema, then the cross-references the
 * schema cannot express (sources, steps, expectation ids, variables). Every problem carries file:line.
 */
export function loadScenario(text: string, file: string): LoadedScenario {
  const sha256 = createHash('sha256').update(text).digest('hex');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const problems: ScenarioProblem[] = [];
  for (const e of doc.errors) {
    problems.push({ file, line: lc.linePos(e.pos[0]).line, message: e.message.split('\n')[0]! });
  }
  if (problems.length > 0) return { sha256, problems };
  const data: unknown = doc.toJS();
  if (!validateSchema(data)) {
    for (const e of validateSchema.errors ?? []) {
      // oneOf failures repeat the branch errors; the branch errors say more.
      if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
      const where = e.instancePath || '/';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
          : '';
      const at = pathOf(e);
      // Point at the offending key itself, not at the map that holds it.
      if (e.keyword === 'additionalProperties')
        at.push((e.params as { additionalProperty: string }).additionalProperty);
      problems.push({ file, line: lineOf(doc, lc, at), message: `${where} ${e.message ?? ''}${extra}` });
    }
    return { sha256, problems };
  }
  const s = data;
  const at = (...p: Array<string | number>) => lineOf(doc, lc, p);
  const vars = new Set(Object.keys(s.vars ?? {}));
  const checkRefs = (t: string, p: Array<string | number>) => {
    for (const r of templateRefs(t)) {
      if (vars.has(r) || RAND.test(r) || BUILTIN.test(r)) continue;
      problems.push({ file, line: at(...p), message: `unknown variable \${${r}}` });
    }
  };
  for (const [name, src] of Object.entries(s.sources))
    if (src.kind === 'syslog' && src.hostname) checkRefs(src.hostname, ['sources', name, 'hostname']);
  for (const [name, v] of Object.entries(s.vars ?? {})) {
    const err = checkVarValue(v.type, v.default);
    if (err) problems.push({ file, line: at('vars', name), message: `vars.${name}: ${err}` });
  }
  const stepIds = new Set<string>();
  s.steps.forEach((step, i) => {
    if (stepIds.has(step.id))
      problems.push({ file, line: at('steps', i), message: `duplicate step ${step.id}` });
    stepIds.add(step.id);
    step.emit.forEach((e, j) => {
      const src = s.sources[e.source];
      if (!src) {
        problems.push({ file, line: at('steps', i, 'emit', j), message: `unknown source ${e.source}` });
        return;
      }
      if (e.line !== undefined && src.kind !== 'syslog')
        problems.push({
          file,
          line: at('steps', i, 'emit', j),
          message: `a line needs a syslog source, ${e.source} is ${src.kind}`,
        });
      if (e.flow !== undefined && src.kind !== 'netflow')
        problems.push({
          file,
          line: at('steps', i, 'emit', j),
          message: `a flow needs a netflow source, ${e.source} is ${src.kind}`,
        });
      if (e.line !== undefined) checkRefs(e.line, ['steps', i, 'emit', j, 'line']);
      if (e.flow)
        for (const [k, v] of Object.entries(e.flow))
          if (typeof v === 'string') checkRefs(v, ['steps', i, 'emit', j, 'flow', k]);
    });
  });
  const detIds = new Set<string>();
  (s.expect.detections ?? []).forEach((d, i) => {
    if (detIds.has(d.id))
      problems.push({ file, line: at('expect', 'detections', i), message: `duplicate expectation ${d.id}` });
    detIds.add(d.id);
    if (!stepIds.has(d.step))
      problems.push({ file, line: at('expect', 'detections', i, 'step'), message: `unknown step ${d.step}` });
    if (d.min !== undefined && d.max !== undefined && d.max < d.min)
      problems.push({ file, line: at('expect', 'detections', i, 'max'), message: 'max is below min' });
    if (d.within && d.deadline && parseDuration(d.deadline) < parseDuration(d.within))
      problems.push({
        file,
        line: at('expect', 'detections', i, 'deadline'),
        message: 'deadline is before the target time (within)',
      });
  });
  (s.expect.incidents ?? []).forEach((inc, i) => {
    inc.contains.forEach((c, j) => {
      if (!detIds.has(c))
        problems.push({
          file,
          line: at('expect', 'incidents', i, 'contains', j),
          message: `unknown detection expectation ${c}`,
        });
    });
  });
  return problems.length > 0 ? { sha256, problems } : { scenario: s, sha256, problems };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** Checks a variable value against its declared type; returns a message or undefined. */
export function checkVarValue(type: VarDef['type'], v: string | number): string | undefined {
  switch (type) {
    case 'ip':
      return typeof v === 'string' && IPV4.test(v) ? undefined : `${String(v)} is not an IPv4 address`;
    case 'hostname':
      return typeof v === 'string' && HOST.test(v) ? undefined : `${String(v)} is not a host name`;
    case 'int':
      return Number.isInteger(Number(v)) ? undefined : `${String(v)} is not an integer`;
    case 'port': {
      const n = Number(v);
      return Number.isInteger(n) && n >= 0 && n <= 65535 ? undefined : `${String(v)} is not a port`;
    }
    case 'string':
      return undefined;
  }
}

/** Defaults overridden by `name=value` pairs from the command line, each checked against its type. */
export function resolveVars(s: Scenario, overrides: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, def] of Object.entries(s.vars ?? {})) out[name] = String(def.default);
  for (const [name, value] of Object.entries(overrides)) {
    const def = s.vars?.[name];
    if (!def) throw new Error(`scenario ${s.id} has no variable ${name}`);
    const err = checkVarValue(def.type, value);
    if (err) throw new Error(`--var ${name}: ${err}`);
    out[name] = value;
  }
  return out;
}
