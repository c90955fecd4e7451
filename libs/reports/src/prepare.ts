import { existsSync, readFileSync, statSync } from 'node:fs';
import { drillTouched } from '@citysoc/drills';
import { type Alert } from '@citysoc/ecs';
import {
  type ControlStore,
  type EventStore,
  type Incident,
  type IncidentStore,
  type ReportVersion,
} from '@citysoc/store';
import {
  type ReportKind,
  type RsitCategory,
  type StixBundle,
  buildIncidentBundle,
  categoryFromTags,
  isRsitCategory,
} from '@citysoc/stix';
import { type PolicyDecision, decide } from './policy';
import { type ReportSettings, privacyPolicy, reporterOf } from './settings';

/** Alerts read per report: the first and the last ones; the counts come from the incident itself. */
const ALERT_SAMPLE = 200;

export class ReportNotFoundError extends Error {
  readonly code = 'incident_not_found';
}

export type Prepared =
  | {
      report: true;
      bundle: StixBundle;
      kind: ReportKind;
      version: string;
      decision: PolicyDecision;
      category: RsitCategory;
    }
  | { report: false; reason: 'drill' | 'policy'; decision: PolicyDecision };

/**
 * Incident (incident store) + its alerts (event store) → one STIX bundle, through the privacy policy.
 * Reads only the incident columns reporting needs (id, title, level, status, entity, counts, timestamps,
 * assignee — the latter only to scrub it) and the alerts; the report's own annotations live in
 * report_annotations.
 */
export class ReportPreparer {
  constructor(
    private readonly control: ControlStore,
    /** Where the reports' incidents live (the watermark scan reads its changes there too). */
    readonly incidents: IncidentStore,
    private readonly events: EventStore,
    private readonly settings: ReportSettings,
  ) {}

  async prepare(incidentId: string, opts: { force?: boolean } = {}): Promise<Prepared> {
    const incident = await this.incidents.get(incidentId);
    if (!incident) throw new ReportNotFoundError(`incident ${incidentId} not found`);
    const ann = this.control.reports.annotation(incidentId);
    const alerts = await this.alerts(incident);
    // Drill runs (issue 9): anything a registered drill touched — a pure drill incident, a mixed one, or
    // one alert marked by a listener — never becomes a national report, whatever the policy or --force.
    if (drillTouched(incident) || alerts.some((a) => drillTouched(a)))
      return { report: false, reason: 'drill', decision: { report: false, because: 'drill data' } };
    const tags = alerts.flatMap((a) => a.rule.tags ?? []);
    const category = ann?.category && isRsitCategory(ann.category) ? ann.category : categoryFromTags(tags);
    const unitIds = [
      ...new Set(
        alerts.flatMap((a) =>
          [a.event.citysoc?.unit, a.event.citysoc?.source_unit, a.event.citysoc?.destination_unit]
            .filter((u) => u !== undefined)
            .flatMap((u) => u.path ?? [u.id]),
        ),
      ),
    ];
    const previous = this.control.reports.listVersions({ subject: incidentId, limit: 1 })[0];
    const decision: PolicyDecision =
      previous && !opts.force
        ? { report: true, because: 'update of a reported incident' }
        : opts.force
          ? { report: true, because: 'requested' }
          : decide(
              {
                severity: incident.severity,
                category,
                unitIds,
                requested: ann?.requested_by != null,
                drill: ann?.drill === true,
              },
              {
                levels: this.settings.reportLevels,
                categories: this.settings.reportCategories,
                units: this.settings.reportUnits,
              },
            );
    if (!decision.report) return { report: false, reason: 'policy', decision };

    const closed =
      incident.status === 'resolved' ||
      incident.status === 'false_positive' ||
      incident.status === 'duplicate';
    const kind: ReportKind = closed ? 'final' : previous ? 'update' : 'initial';
    const r = buildIncidentBundle(
      {
        incident,
        alerts,
        drill: ann?.drill === true,
        category,
        sigmaRules: sigmaTexts(alerts),
        form03: ann?.form03 ?? {},
        kind,
      },
      privacyPolicy(this.settings),
      {
        reporter: reporterOf(this.settings),
        reportNumberPrefix: this.settings.reportNumberPrefix,
        sourceName: this.settings.reporterKey,
      },
    );
    if (!r.report) return { report: false, reason: 'drill', decision };
    return { report: true, bundle: r.bundle, kind, version: incident.updated_at, decision, category };
  }

  /** Builds and stores the version (idempotent per incident version). */
  async prepareAndStore(
    incidentId: string,
    trigger: string,
    opts: { force?: boolean } = {},
  ): Promise<{ prepared: Prepared; version?: ReportVersion; created: boolean }> {
    const prepared = await this.prepare(incidentId, opts);
    if (!prepared.report) return { prepared, created: false };
    const { version, created } = this.control.reports.addVersion({
      id: prepared.bundle.id,
      kind: 'incident',
      subject: incidentId,
      version: prepared.version,
      report_kind: prepared.kind,
      trigger,
      bundle: prepared.bundle,
      object_count: prepared.bundle.objects.length,
    });
    return { prepared, version, created };
  }

  private async alerts(incident: Incident): Promise<Alert[]> {
    const ids = await this.incidents.alertIds(incident.id);
    const pick =
      ids.length <= ALERT_SAMPLE
        ? ids
        : [...ids.slice(0, ALERT_SAMPLE / 2), ...ids.slice(ids.length - ALERT_SAMPLE / 2)];
    const out: Alert[] = [];
    for (const id of pick) {
      const a = await this.events.getAlert(id);
      if (a) out.push(a);
    }
    return out;
  }
}

/** The Sigma rule files behind the alerts (for `pattern_type: sigma` indicators), when still readable. */
function sigmaTexts(alerts: readonly Alert[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of alerts) {
    const p = a.rule.path;
    if (out[a.rule.id] !== undefined || !p || !/\.ya?ml$/i.test(p) || !existsSync(p)) continue;
    if (statSync(p).size > 256 * 1024) continue;
    out[a.rule.id] = readFileSync(p, 'utf8');
  }
  return out;
}
