import { type Severity } from '@citysoc/ecs';
import { type BuildOptions } from './bundle';
import { CITYSOC_EXTENSION_ID, citysocExtensionDefinition } from './extension';
import { deterministicId, incidentObjectId } from './ids';
import { Minimiser, type ReportableIncident } from './minimise';
import { type PrivacyPolicy } from './policy';
import { reporterId, reporterIdentity } from './reporter';
import { type RsitCategory, UNDETERMINED, vnCategoryOf } from './taxonomy';
import { TLP_MARKING_IDS, tlpMarking } from './tlp';
import { type StixBundle, type StixObject, type TlpLevel } from './types';

export interface SummaryItem {
  incident: Pick<ReportableIncident, 'id' | 'severity' | 'status' | 'created_at' | 'updated_at'>;
  category?: RsitCategory;
  unit?: { id: string; name: string };
  drill?: boolean;
  /** Whether the incident was reported on its own (then the summary refers to its `incident` object). */
  reported?: boolean;
  supportRequested?: boolean;
}

export interface SummaryOptions extends BuildOptions {
  period: { start: string; end: string };
  /** `hourly`, `daily`, `six-monthly` (Mẫu 05), `yearly`… only names the report. */
  label: string;
  /** When this summary was computed; a recomputation with late data becomes a new version. */
  generatedAt: string;
  /** Aggregates are TLP:GREEN by default (national-center.md §2.5). */
  tlp?: TlpLevel;
  /** Cells smaller than this lose their unit at GREEN or wider, so a count cannot single out a unit. */
  minCell?: number;
}

export interface SummaryCount {
  category: RsitCategory;
  vn_category: string;
  severity: Severity;
  unit: string;
  opened: number;
  closed: number;
  support_requested: number;
}

const CLOSED = new Set(['resolved', 'false_positive', 'duplicate', 'closed']);

/** Counts by RSIT category, severity and unit for one period, as a `report` with our extension. */
export function buildSummaryBundle(
  items: readonly SummaryItem[],
  policy: Partial<PrivacyPolicy>,
  opts: SummaryOptions,
): StixBundle {
  const tlp = opts.tlp ?? 'green';
  const m = new Minimiser({ ...policy, tlp });
  const start = new Date(opts.period.start).toISOString();
  const end = new Date(opts.period.end).toISOString();
  const within = (t: string): boolean => {
    const x = new Date(t).toISOString();
    return x >= start && x < end;
  };
  const wide = tlp === 'clear' || tlp === 'green';
  const minCell = wide ? (opts.minCell ?? 3) : 0;

  const cells = new Map<string, SummaryCount>();
  const refs: string[] = [];
  for (const it of items) {
    if (it.drill && m.policy.drills === 'skip') continue;
    const opened = within(it.incident.created_at);
    const closed = CLOSED.has(it.incident.status) && within(it.incident.updated_at);
    if (!opened && !closed) continue;
    // Drills that are shown at all are shown as what they are: RSIT's own test category.
    const category = it.drill ? 'test:test' : (it.category ?? UNDETERMINED);
    const unit = it.unit ? m.unitLabel(it.unit.id, it.unit.name).label : 'unattributed';
    const key = `${category}|${it.incident.severity}|${unit}`;
    const c = cells.get(key) ?? {
      category,
      vn_category: vnCategoryOf(category),
      severity: it.incident.severity,
      unit,
      opened: 0,
      closed: 0,
      support_requested: 0,
    };
    if (opened) c.opened += 1;
    if (closed) c.closed += 1;
    if (it.supportRequested && opened) c.support_requested += 1;
    cells.set(key, c);
    if (it.reported && !it.drill) refs.push(incidentObjectId('incident', it.incident.id, 'incident'));
  }

  const merged = new Map<string, SummaryCount>();
  for (const c of cells.values()) {
    const small = c.opened + c.closed < minCell;
    const unit = small ? 'suppressed' : c.unit;
    const key = `${c.category}|${c.severity}|${unit}`;
    const t = merged.get(key);
    if (!t) merged.set(key, { ...c, unit });
    else {
      t.opened += c.opened;
      t.closed += c.closed;
      t.support_requested += c.support_requested;
    }
  }
  const counts = [...merged.values()].sort((a, b) =>
    `${a.category}|${a.severity}|${a.unit}` < `${b.category}|${b.severity}|${b.unit}` ? -1 : 1,
  );

  const soc = reporterIdentity(opts.reporter);
  const socId = reporterId(opts.reporter);
  const extId = opts.extensionId ?? CITYSOC_EXTENSION_ID;
  const generated = new Date(opts.generatedAt).toISOString();
  const modified = generated > end ? generated : end;
  const report: StixObject = {
    type: 'report',
    spec_version: '2.1',
    id: deterministicId('report', `summary/${opts.reporter.key}/${opts.label}/${start}/${end}`),
    created: end,
    modified,
    created_by_ref: socId,
    name: `${opts.label} summary ${start}/${end}`,
    description: 'Incidents opened and closed in the period, by ENISA RSIT category, severity and unit.',
    report_types: ['threat-report'],
    published: modified,
    object_refs: refs.length > 0 ? [...new Set(refs)].sort() : [socId],
    extensions: {
      [extId]: {
        extension_type: 'property-extension',
        period_start: start,
        period_end: end,
        taxonomy: 'rsit',
        counts,
        ...(minCell > 0 ? { small_cells_suppressed_below: minCell } : {}),
      },
    },
    object_marking_refs: [TLP_MARKING_IDS[tlp]],
  };
  return {
    type: 'bundle',
    id: deterministicId('bundle', `summary/${opts.reporter.key}/${opts.label}/${start}/${end}/${modified}`),
    objects: [tlpMarking(tlp), soc, citysocExtensionDefinition(socId, extId), report],
  };
}
