import { parseDuration, type Scenario } from './scenario';
import { type Timeline } from './plan';
import scorecardSchema from './scorecard.schema.json';

export const SCORECARD_SCHEMA = scorecardSchema;

export const SCORECARD_VERSION = 'citysoc.drill.scorecard/v1';

export type Category = 'none' | 'telemetry' | 'general' | 'tactic' | 'technique' | 'incident';

/** An alert as the scorer needs it (from the API or from the offline engine). */
export interface ObservedAlert {
  id: string;
  ruleId: string;
  ruleTitle: string;
  /** When the pipeline created it (epoch ms): the detect time. */
  createdMs: number;
  techniques: string[];
  tactics: string[];
}

export interface ObservedIncident {
  id: string;
  ruleIds: string[];
  severity: string;
  unit: string | null;
  createdMs: number;
  acknowledgedMs: number | null;
  closedMs: number | null;
  disposition: string | null;
  slaBreaches: Array<'acknowledge' | 'resolve'>;
}

export interface ScoreInput {
  scenario: Scenario;
  sha256: string;
  timeline: Timeline;
  runId: string;
  /** Wall-clock start of the run (epoch ms); step times are startMs + stepStart / speed. */
  startMs: number;
  speed: number;
  mode: 'ci' | 'human' | 'offline';
  blind: boolean;
  alerts: ObservedAlert[];
  incidents: ObservedIncident[];
  /** Events of the run that reached storage; undefined when the runner could not count them. */
  eventsStored?: number;
  /** When scoring happened (epoch ms): an expectation still inside its deadline is `pending`. */
  nowMs: number;
}

export interface ExpectationScore {
  id: string;
  rule: string;
  rule_title: string | null;
  step: string;
  techniques: string[];
  detected: boolean;
  status: 'pass' | 'delayed' | 'missed' | 'pending';
  category: Category;
  modifiers: string[];
  matches: number;
  ttd_ms: number | null;
  tti_ms: number | null;
  alert_ids: string[];
}

export interface IncidentScore {
  expected: string;
  incident_ids: string[];
  grouping_ok: boolean;
  count_ok: boolean;
  severity_ok: boolean | null;
  unit_ok: boolean | null;
  severity: string | null;
  unit: string | null;
  tta_ms: number | null;
  ttr_ms: number | null;
  disposition: string | null;
  sla: { tta: 'met' | 'breached' | 'n/a'; ttr: 'met' | 'breached' | 'n/a' };
}

export interface Scorecard {
  schema: typeof SCORECARD_VERSION;
  run: string;
  scenario: {
    id: string;
    version: number;
    sha256: string;
    title: { vi?: string; en: string };
    twin_of: string | null;
  };
  started: string;
  speed: number;
  seed: number;
  mode: 'ci' | 'human' | 'offline';
  blind: boolean;
  attack_version: string | null;
  injected: { syslog: number; flows: number; events_stored: number | null };
  expectations: ExpectationScore[];
  incidents: IncidentScore[];
  coverage: {
    expected: number;
    detected: number;
    delayed: number;
    missed: number;
    by_technique: Record<string, 'pass' | 'fail'>;
    by_source: Record<string, 'pass' | 'fail' | 'telemetry-only'>;
  };
  noise: {
    unexpected_alerts: Array<{ rule: string; title: string; count: number }>;
    must_not_fire_violations: Array<{ pattern: string; rule: string; title: string; count: number }>;
    over_max: Array<{ expectation: string; matches: number; max: number }>;
  };
  result: 'pass' | 'fail' | 'pending';
}

/** `*` matches any run of characters; rule ids and titles are both accepted as patterns. */
export function ruleMatches(pattern: string, a: { ruleId: string; ruleTitle: string }): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(a.ruleId) || re.test(a.ruleTitle);
}

function tacticOfTechnique(scenarioTactics: string[], a: ObservedAlert): boolean {
  return a.tactics.some((t) => scenarioTactics.includes(t));
}

/**
 * Scores a run from what the pipeline produced. Pure: the same inputs give the same scorecard, so
 * `citysoc drill score` can re-score from stored observations and golden files stay stable.
 */
export function scoreRun(inp: ScoreInput): Scorecard {
  const { scenario: s, timeline } = inp;
  const stepWall = (step: string) => inp.startMs + (timeline.stepStartMs[step] ?? 0) / inp.speed;
  const expectedRules = new Set((s.expect.detections ?? []).map((d) => d.rule.id));
  const alertsByRule = new Map<string, ObservedAlert[]>();
  for (const a of [...inp.alerts].sort((x, y) => x.createdMs - y.createdMs || x.id.localeCompare(y.id))) {
    const l = alertsByRule.get(a.ruleId) ?? [];
    l.push(a);
    alertsByRule.set(a.ruleId, l);
  }
  const incidentOf = (ruleId: string) =>
    [...inp.incidents].sort((a, b) => a.createdMs - b.createdMs).find((i) => i.ruleIds.includes(ruleId));
  // Tactics the expected rules carry, for the `tactic` rung of the ladder.
  const expectedTactics = inp.alerts.filter((a) => expectedRules.has(a.ruleId)).flatMap((a) => a.tactics);

  const expectations: ExpectationScore[] = (s.expect.detections ?? []).map((d) => {
    const start = stepWall(d.step);
    // Only alerts raised after the step began can be its detection (speed-scaled deadlines apply to pipeline
    // time, which --speed does not compress: within/deadline are wall-clock).
    const hits = (alertsByRule.get(d.rule.id) ?? []).filter((a) => a.createdMs >= start - 1000);
    const deadline = d.deadline ? parseDuration(d.deadline) : 10 * 60_000;
    const within = d.within ? parseDuration(d.within) : deadline;
    const first = hits[0];
    const ttd = first ? Math.max(0, first.createdMs - start) : null;
    const inc = first ? incidentOf(d.rule.id) : undefined;
    // The detection is "in an incident" from the later of its alert and the incident's creation (an
    // incident another alert of the entity opened earlier does not make this detection faster).
    const tti = inc && first ? Math.max(0, Math.max(inc.createdMs, first.createdMs) - start) : null;
    const min = d.min ?? 1;
    const detected = hits.length >= min && ttd !== null && ttd <= deadline;
    const status: ExpectationScore['status'] = detected
      ? ttd > within
        ? 'delayed'
        : 'pass'
      : inp.nowMs - start < deadline
        ? 'pending'
        : 'missed';
    const techniques = d.techniques ?? [];
    let category: Category;
    if (detected && inc) category = 'incident';
    else if (detected) category = 'technique';
    else {
      const others = inp.alerts.filter((a) => a.createdMs >= start - 1000);
      if (others.some((a) => a.techniques.some((t) => techniques.includes(t)))) category = 'technique';
      else if (others.some((a) => tacticOfTechnique(expectedTactics, a))) category = 'tactic';
      else if (others.length > 0) category = 'general';
      else category = inp.eventsStored === 0 ? 'none' : inp.eventsStored === undefined ? 'none' : 'telemetry';
    }
    const modifiers: string[] = [];
    if (status === 'delayed') modifiers.push('delayed');
    if (!detected && inp.eventsStored === undefined) modifiers.push('telemetry-unknown');
    return {
      id: d.id,
      rule: d.rule.id,
      rule_title: d.rule.title ?? first?.ruleTitle ?? null,
      step: d.step,
      techniques,
      detected,
      status,
      category,
      modifiers,
      matches: hits.length,
      ttd_ms: ttd,
      tti_ms: tti,
      alert_ids: hits.map((h) => h.id),
    };
  });
  const byExp = new Map(expectations.map((e) => [e.id, e]));

  const human = inp.mode === 'human';
  const incidents: IncidentScore[] = (s.expect.incidents ?? []).map((ie) => {
    const rules = ie.contains.map((c) => byExp.get(c)!.rule);
    const matching = inp.incidents.filter((i) => rules.some((r) => i.ruleIds.includes(r)));
    const grouped = matching.filter((i) => rules.every((r) => i.ruleIds.includes(r)));
    const inc = grouped[0] ?? matching[0];
    const tta = inc?.acknowledgedMs != null ? inc.acknowledgedMs - inc.createdMs : null;
    const ttr = inc?.closedMs != null ? inc.closedMs - inc.createdMs : null;
    return {
      expected: ie.id,
      incident_ids: matching.map((i) => i.id),
      grouping_ok: grouped.length > 0,
      count_ok: ie.count === undefined ? matching.length > 0 : matching.length === ie.count,
      severity_ok: ie.severity === undefined ? null : inc?.severity === ie.severity,
      unit_ok: ie.unit === undefined ? null : inc?.unit === ie.unit,
      severity: inc?.severity ?? null,
      unit: inc?.unit ?? null,
      tta_ms: human ? tta : null,
      ttr_ms: human ? ttr : null,
      disposition: human ? (inc?.disposition ?? null) : null,
      sla: {
        tta: !human || !inc ? 'n/a' : inc.slaBreaches.includes('acknowledge') ? 'breached' : 'met',
        ttr: !human || !inc ? 'n/a' : inc.slaBreaches.includes('resolve') ? 'breached' : 'met',
      },
    };
  });

  const by_technique: Record<string, 'pass' | 'fail'> = {};
  for (const t of s.attack?.techniques ?? []) by_technique[t] = 'fail';
  for (const e of expectations)
    for (const t of e.techniques)
      by_technique[t] = e.detected || by_technique[t] === 'pass' ? 'pass' : 'fail';
  for (const t of s.attack?.techniques ?? [])
    if (!expectations.some((e) => e.techniques.includes(t))) delete by_technique[t];

  const by_source: Record<string, 'pass' | 'fail' | 'telemetry-only'> = {};
  for (const [name, src] of Object.entries(s.sources)) {
    const kind = src.kind;
    const steps = new Set(timeline.items.filter((i) => i.source === name).map((i) => i.step));
    const exps = expectations.filter((e) => steps.has(e.step));
    by_source[`${name} (${kind})`] =
      exps.length === 0 ? 'telemetry-only' : exps.every((e) => e.detected) ? 'pass' : 'fail';
  }

  const unexpected = new Map<string, { rule: string; title: string; count: number }>();
  for (const a of inp.alerts) {
    if (expectedRules.has(a.ruleId)) continue;
    const u = unexpected.get(a.ruleId) ?? { rule: a.ruleId, title: a.ruleTitle, count: 0 };
    u.count++;
    unexpected.set(a.ruleId, u);
  }
  const violations: Scorecard['noise']['must_not_fire_violations'] = [];
  for (const pattern of s.expect.must_not_fire ?? []) {
    const hit = new Map<string, { rule: string; title: string; count: number }>();
    for (const a of inp.alerts.filter((x) => ruleMatches(pattern, x))) {
      const v = hit.get(a.ruleId) ?? { rule: a.ruleId, title: a.ruleTitle, count: 0 };
      v.count++;
      hit.set(a.ruleId, v);
    }
    for (const v of hit.values()) violations.push({ pattern, ...v });
  }
  const over_max = (s.expect.detections ?? [])
    .map((d) => ({ expectation: d.id, matches: byExp.get(d.id)!.matches, max: d.max ?? Infinity }))
    .filter((o) => o.matches > o.max)
    .map((o) => ({ ...o, max: o.max }));

  // An incident expectation is judged once the detections it groups are; before that it can still come.
  const incidentPending = (id: string) =>
    (s.expect.incidents ?? [])
      .find((x) => x.id === id)!
      .contains.some((c) => byExp.get(c)!.status === 'pending');
  const failed =
    expectations.some((e) => e.status === 'missed') ||
    incidents.some(
      (i) =>
        !incidentPending(i.expected) &&
        (!i.grouping_ok || !i.count_ok || i.severity_ok === false || i.unit_ok === false),
    ) ||
    violations.length > 0;
  const pending = expectations.some((e) => e.status === 'pending');

  return {
    schema: SCORECARD_VERSION,
    run: inp.runId,
    scenario: {
      id: s.id,
      version: s.version,
      sha256: inp.sha256,
      title: s.title,
      twin_of: s.twin_of ?? null,
    },
    started: new Date(inp.startMs).toISOString(),
    speed: inp.speed,
    seed: timeline.seed,
    mode: inp.mode,
    blind: inp.blind,
    attack_version: s.attack?.version ?? null,
    injected: {
      syslog: timeline.items.filter((i) => i.kind === 'syslog').length,
      flows: timeline.items.filter((i) => i.kind === 'flow').length,
      events_stored: inp.eventsStored ?? null,
    },
    expectations,
    incidents,
    coverage: {
      expected: expectations.length,
      detected: expectations.filter((e) => e.detected).length,
      delayed: expectations.filter((e) => e.status === 'delayed').length,
      missed: expectations.filter((e) => e.status === 'missed').length,
      by_technique,
      by_source,
    },
    noise: {
      unexpected_alerts: [...unexpected.values()].sort((a, b) => a.rule.localeCompare(b.rule)),
      must_not_fire_violations: violations,
      over_max,
    },
    result: failed ? 'fail' : pending ? 'pending' : 'pass',
  };
}
