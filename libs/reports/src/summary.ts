import { isDrill } from '@citysoc/drills';
import { type ControlStore, type EventStore, type IncidentStore } from '@citysoc/store';
import {
  type StixBundle,
  type SummaryItem,
  buildSummaryBundle,
  categoryFromTags,
  isRsitCategory,
} from '@citysoc/stix';
import { type ReportSettings, privacyPolicy, reporterOf } from './settings';

export type SummaryLabel = 'daily' | 'six-monthly' | 'yearly';
export const SUMMARY_LABELS: readonly SummaryLabel[] = ['daily', 'six-monthly', 'yearly'];

/**
 * The period a summary run at `at` covers: the previous UTC day, half-year (Jan–Jun, Jul–Dec; Mẫu 05) or
 * year. A run late by hours still covers the same period, so the report id (derived from the period) holds.
 */
export function summaryPeriod(label: SummaryLabel, at: Date): { start: string; end: string } {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  if (label === 'daily') {
    const end = Date.UTC(y, m, at.getUTCDate());
    return { start: new Date(end - 86_400_000).toISOString(), end: new Date(end).toISOString() };
  }
  if (label === 'yearly')
    return {
      start: new Date(Date.UTC(y - 1, 0, 1)).toISOString(),
      end: new Date(Date.UTC(y, 0, 1)).toISOString(),
    };
  const end = m >= 6 ? Date.UTC(y, 6, 1) : Date.UTC(y, 0, 1);
  const start = m >= 6 ? Date.UTC(y, 0, 1) : Date.UTC(y - 1, 6, 1);
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}

/** Incidents opened or closed in the period, with category, unit and drill flag, as summary items. */
export async function summaryItems(
  control: ControlStore,
  incidents: IncidentStore,
  events: EventStore,
  period: { start: string; end: string },
): Promise<SummaryItem[]> {
  const rows = await incidents.activeIn({ start: Date.parse(period.start), end: Date.parse(period.end) });
  const items: SummaryItem[] = [];
  for (const r of rows) {
    const ann = control.reports.annotation(r.id);
    const first = (await incidents.alertIds(r.id))[0];
    const alert = first ? await events.getAlert(first) : undefined;
    const unit =
      alert?.event.citysoc?.destination_unit ??
      alert?.event.citysoc?.unit ??
      alert?.event.citysoc?.source_unit;
    const category =
      ann?.category && isRsitCategory(ann.category) ? ann.category : categoryFromTags(alert?.rule.tags ?? []);
    items.push({
      incident: {
        id: r.id,
        severity: r.severity as SummaryItem['incident']['severity'],
        status: r.status as SummaryItem['incident']['status'],
        created_at: new Date(r.created_at).toISOString(),
        updated_at: new Date(r.updated_at).toISOString(),
      },
      category,
      ...(unit ? { unit: { id: unit.id, name: unit.name } } : {}),
      // A drill incident tagged by the responder (issue 9) counts as an exercise; a mixed one is real.
      drill: ann?.drill === true || isDrill({ tags: r.tags }),
      reported: control.reports.listVersions({ subject: r.id, limit: 1 }).length > 0,
      supportRequested: typeof ann?.form03['supportRequested'] === 'string',
    });
  }
  return items;
}

/** Builds the summary of one period and stores it as a pending report version (idempotent per content). */
export async function prepareSummary(
  control: ControlStore,
  incidents: IncidentStore,
  events: EventStore,
  settings: ReportSettings,
  label: SummaryLabel,
  at: Date,
  trigger = 'schedule',
): Promise<{ bundle: StixBundle; reportId: string; created: boolean }> {
  const period = summaryPeriod(label, at);
  const items = await summaryItems(control, incidents, events, period);
  const bundle = buildSummaryBundle(items, privacyPolicy(settings), {
    reporter: reporterOf(settings),
    period,
    label,
    generatedAt: at.toISOString(),
    // Aggregates go out as TLP:GREEN with pseudonymous units; without a pseudonym key units can only be
    // named, and named units make the summary TLP:AMBER (national-center.md §3.3).
    tlp: settings.reportPseudonymKey ? 'green' : 'amber',
  });
  const report = bundle.objects.find((o) => o.type === 'report')!;
  const { version, created } = control.reports.addVersion({
    id: bundle.id,
    kind: 'summary',
    subject: `${label}/${period.start}/${period.end}`,
    version: String(report['modified']),
    report_kind: label,
    trigger,
    bundle,
    object_count: bundle.objects.length,
  });
  return { bundle, reportId: version.id, created };
}
