import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadScenario, type Scenario } from '@citysoc/drills';
import { parseGroupingPolicy } from '@citysoc/incidents';
import { loadRuleSet } from '../../../detector/src/rule-set';
import { runOffline } from './drill-offline';

/**
 * The offline core of the drill CI: every scenario of the starter library goes through the collector's
 * parsers and the detector's engine with the shipped rules. Attacks must meet every expectation; benign
 * twins must stay silent. Grouping is entity-based, as docs/drills.md asks the responder to run.
 */
const root = path.resolve(__dirname, '..', '..', '..', '..');
const dir = path.join(root, 'drills');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const rules = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' });
const grouping = parseGroupingPolicy('keys=entity');

/** Which payload decoder each scenario's syslog sources must hit (the "intended format"). */
const PARSERS: Record<string, Record<string, string>> = {
  'ssh-bruteforce-ward': { 'ward-syslog': 'linux_auth' },
  'ssh-bruteforce-ward-benign': { 'ward-syslog': 'linux_auth' },
  'fortigate-policy-tamper': { 'fw-syslog': 'fortigate' },
  'fortigate-policy-tamper-benign': { 'fw-syslog': 'fortigate' },
  'vpn-admin-abroad': { 'fw-syslog': 'fortigate' },
  'ward-firewall-silent': { 'fw-syslog': 'fortigate' },
  'ward-firewall-silent-benign': { 'fw-syslog': 'fortigate' },
  'vpn-admin-abroad-benign': { 'fw-syslog': 'fortigate' },
  'vms-credential-stuffing': { 'vms-syslog': 'cef' },
  'vms-credential-stuffing-benign': { 'vms-syslog': 'cef' },
  'ransomware-precursors-windows': { 'win-syslog': 'windows_json' },
  'ransomware-precursors-windows-benign': { 'win-syslog': 'windows_json' },
};

function load(f: string): { scenario: Scenario; sha256: string } {
  const l = loadScenario(readFileSync(path.join(dir, f), 'utf8'), f);
  expect(l.problems).toEqual([]);
  return { scenario: l.scenario!, sha256: l.sha256 };
}

describe('drill starter library (offline: parsers + detector engine)', () => {
  it('the rules load without errors', () => {
    expect(rules.errors).toEqual([]);
  });

  it('every attack has a benign twin and every twin names an attack of the library', () => {
    const all = files.map((f) => load(f).scenario);
    const ids = new Set(all.map((s) => s.id));
    const twins = all.filter((s) => s.twin_of);
    for (const t of twins) expect(ids.has(t.twin_of!)).toBe(true);
    for (const s of all.filter((x) => !x.twin_of)) expect(twins.some((t) => t.twin_of === s.id)).toBe(true);
  });

  it.each(files)('%s', (f) => {
    const { scenario, sha256 } = load(f);
    // A fresh engine per scenario: correlation state must not carry over.
    const engine = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
    const r = runOffline(scenario, sha256, engine, {
      seed: 7,
      startMs: Date.parse('2026-11-27T02:00:00Z'),
      runId: 'd-OFFLINE1',
      grouping,
    });
    expect(r.parseFailures).toEqual([]);
    expect(r.flowErrors).toEqual([]);
    for (const [src, parser] of Object.entries(PARSERS[scenario.id] ?? {}))
      expect(Object.keys(r.parsers[src] ?? {})).toEqual([parser]);
    const sc = r.scorecard;
    expect(sc.noise.must_not_fire_violations).toEqual([]);
    expect(sc.expectations.filter((e) => !e.detected).map((e) => e.id)).toEqual([]);
    expect(sc.incidents.filter((i) => !i.grouping_ok || !i.count_ok || i.severity_ok === false)).toEqual([]);
    expect(sc.noise.over_max).toEqual([]);
    expect(sc.result).toBe('pass');
    if (scenario.twin_of) {
      expect(scenario.expect.must_not_fire?.length).toBeGreaterThan(0);
    } else {
      expect(sc.coverage.detected).toBe(sc.coverage.expected);
      expect(sc.coverage.expected).toBeGreaterThan(0);
    }
  });

  it('is not vacuous: a spray below the threshold misses its expectations and fails the run', () => {
    const { scenario, sha256 } = load('ssh-bruteforce-ward.yaml');
    const weak: Scenario = {
      ...scenario,
      steps: scenario.steps.map((st) => (st.repeat ? { ...st, repeat: { ...st.repeat, count: 10 } } : st)),
    };
    const engine = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
    const sc = runOffline(weak, sha256, engine, {
      seed: 7,
      startMs: Date.parse('2026-11-27T02:00:00Z'),
      runId: 'd-OFFLINE2',
      grouping,
    }).scorecard;
    expect(sc.result).toBe('fail');
    expect(sc.expectations.map((e) => [e.id, e.status, e.category])).toEqual([
      // The per-line "SSH authentication failure" rule still fires (T1110, not T1110.001): general.
      ['ssh-failed-burst', 'missed', 'general'],
      ['ssh-flow-burst', 'missed', 'general'],
      // The accepted login reached the engine but nothing fired after it: telemetry.
      ['brute-then-success', 'missed', 'telemetry'],
    ]);
  });
  it('the silence pair depends on the threshold: a shorter one breaks the twin, none misses the attack', () => {
    const go = (f: string, silentAfterMs: number) => {
      const { scenario, sha256 } = load(f);
      const engine = loadRuleSet({ paths: [path.join(root, 'rules')], pipeline: 'citysoc' }).engine;
      return runOffline(scenario, sha256, engine, {
        seed: 7,
        startMs: Date.parse('2026-11-27T02:00:00Z'),
        runId: 'd-OFFLINE3',
        grouping,
        silentAfterMs,
      }).scorecard;
    };
    // The twin's 5-minute lulls against a 4-minute threshold: six silences while the run is active.
    const twin = go('ward-firewall-silent-benign.yaml', 240_000);
    expect(twin.result).toBe('fail');
    expect(twin.noise.must_not_fire_violations.map((v) => [v.rule, v.count])).toEqual([
      ['4d0a2fe0-8673-4613-969f-5106fb905550', 6],
    ]);
    // Silence reporting off: the attack is missed (only the silence can reveal it).
    const off = go('ward-firewall-silent.yaml', 0);
    expect(off.expectations.map((e) => [e.id, e.status])).toEqual([['source-silent', 'missed']]);
  });
});
