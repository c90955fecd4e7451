import { type DrillRunRecord } from '@citysoc/drills';
import { mitreFromTags } from '@citysoc/incidents';
import { type LoadedRuleSet, type RuleSetCache, type SigmaRule } from '@citysoc/sigma';
import { type IncidentMitreCounts } from '@citysoc/store';
import { sharedRuleSet } from '../rules/rule-sets';

/** What the console shows about a rule on disk (the detector loads the same folders). */
export interface CatalogRule {
  id: string;
  title: string;
  level: string;
  /** Sigma status: stable, test, experimental… */
  status: string | null;
  kind: SigmaRule['kind'];
  /** Loaded and supported by the engine, so the detector evaluates it. */
  enabled: boolean;
  /** Why the engine cannot run it, when it cannot. */
  reason: string | null;
  tactics: string[];
  techniques: string[];
  file: string;
}

export interface Catalog {
  rules: CatalogRule[];
  /** Rule files that failed to load, with the first error line (they are not enabled either). */
  errors: Array<{ file: string; message: string }>;
  loaded_at: string;
}

/**
 * The rule folders as the console shows them. Reads through the API's shared rule-set cache (the one
 * retro-hunts use), so the folders are parsed once per change, and the catalog is rebuilt only when the set
 * was reloaded.
 */
export class RuleCatalog {
  private cached?: { set: LoadedRuleSet; catalog: Catalog };

  constructor(
    paths: string[],
    private readonly now: () => number = Date.now,
    private readonly rules: RuleSetCache = sharedRuleSet(paths),
  ) {}

  get(): Catalog {
    const set = this.rules.get();
    if (this.cached?.set === set) return this.cached.catalog;
    const catalog: Catalog = {
      rules: set.rules.map(toCatalogRule),
      errors: set.errors.map((e) => ({ file: e.file, message: e.message })),
      loaded_at: new Date(this.now()).toISOString(),
    };
    this.cached = { set, catalog };
    return catalog;
  }
}

export function toCatalogRule(r: SigmaRule): CatalogRule {
  const m = mitreFromTags(r.tags);
  // The loader marks correlations "unsupported" for the single-event compiler; the detector runs them in
  // its correlation engine, and filters are applied to the rules they name, so only detections can be off.
  const enabled = r.kind === 'detection' ? r.support.supported : true;
  return {
    id: r.id,
    title: r.title,
    level: r.level,
    status: r.status ?? null,
    kind: r.kind,
    enabled,
    reason: enabled ? null : (r.support.reason ?? null),
    tactics: m.tactics,
    techniques: m.techniques,
    file: r.source.file,
  };
}

export interface GridTechnique {
  id: string;
  /** Enabled rules tagged with it. */
  rules: number;
  /** Incidents in the caller's scope carrying it. */
  incidents: number;
  /** 1 when the latest finished drill run of a scenario covering it passed (set by the controller). */
  validated?: number;
  validated_by?: { run: string; scenario: string; at: string };
}

/**
 * Techniques placed under the tactics they are tagged with (by rules and by incidents, the latter as the
 * store's counts per technique and per (tactic, technique) pair). Sigma tags carry no
 * technique→tactic table, so a technique sits under every tactic its rules name, and one no rule pairs
 * with a tactic is returned apart. Ids are kept as tagged: classic ids and SigmaHQ's renumbered ones
 * (T1685.x…) both show, each under whatever tactic it came with.
 */
export function techniqueGrid(
  rules: CatalogRule[],
  incidents: Pick<IncidentMitreCounts, 'techniques' | 'pairs'>,
): { tactics: Array<{ key: string; techniques: GridTechnique[] }>; unplaced: GridTechnique[] } {
  const cells = new Map<string, GridTechnique>();
  const under = new Map<string, Set<string>>();
  const cell = (id: string) => {
    let c = cells.get(id);
    if (!c) cells.set(id, (c = { id, rules: 0, incidents: 0 }));
    return c;
  };
  const place = (tactics: string[], techniques: string[]) => {
    for (const tac of tactics) {
      let s = under.get(tac);
      if (!s) under.set(tac, (s = new Set()));
      for (const tech of techniques) s.add(tech);
    }
  };
  for (const r of rules) {
    if (!r.enabled) continue;
    for (const tech of r.techniques) cell(tech).rules++;
    place(r.tactics, r.techniques);
  }
  for (const t of incidents.techniques) cell(t.key).incidents += t.incidents;
  // An incident merges the tags of its rules: its pairs only place techniques no rule placed (under every
  // tactic they came with, whatever the incidents' order).
  const byRules = new Set([...under.values()].flatMap((s) => [...s]));
  for (const p of incidents.pairs) if (!byRules.has(p.technique)) place([p.tactic], [p.technique]);
  const placed = new Set<string>();
  const tactics = [...under.entries()].map(([key, ids]) => {
    for (const id of ids) placed.add(id);
    return {
      key,
      techniques: [...ids].sort().map((id) => cells.get(id) ?? { id, rules: 0, incidents: 0 }),
    };
  });
  const unplaced = [...cells.values()]
    .filter((c) => !placed.has(c.id))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { tactics, unplaced };
}

export interface ValidatedBy {
  run: string;
  scenario: string;
  at: string;
}

/**
 * Drill-validated techniques: for each scenario its latest finished run that reported techniques; a
 * technique is validated when such a run passed its expectations for it (a later failing run of the same
 * scenario takes the validation away).
 */
export function drillValidated(runs: DrillRunRecord[]): Map<string, ValidatedBy> {
  const latest = new Map<string, DrillRunRecord>();
  for (const r of runs) {
    if (r.status !== 'finished' || !r.techniques) continue;
    const cur = latest.get(r.scenario);
    if (!cur || cur.updatedAt < r.updatedAt) latest.set(r.scenario, r);
  }
  const out = new Map<string, ValidatedBy>();
  for (const r of latest.values())
    for (const [t, verdict] of Object.entries(r.techniques ?? {}))
      if (verdict === 'pass') {
        const id = t.toUpperCase();
        const prev = out.get(id);
        if (!prev || prev.at < r.updatedAt)
          out.set(id, { run: r.runId, scenario: r.scenario, at: r.updatedAt });
      }
  return out;
}
