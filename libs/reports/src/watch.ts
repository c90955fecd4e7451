import { type IncidentStatus } from '@citysoc/incidents';
import { investigationStatus } from '@citysoc/stix';
import { type ControlStore } from '@citysoc/store';
import { type ReportPreparer } from './prepare';

/** Re-read this far behind the watermark: a writer's transaction may commit after a later one. */
const LOOKBACK_MS = 5_000;

export interface ScanResult {
  scanned: number;
  /** New report versions stored (their ids, for the outbox). */
  versions: string[];
  skippedDrills: number;
  /** Incidents whose report could not be built this time; retried on the next scan (the watermark waits). */
  errors: Array<{ id: string; error: string }>;
}

/**
 * Finds incidents that changed since the last scan and stores a report version for each one the policy
 * covers. Polling the incident store (`changedSince`, SQLite or Elasticsearch) with a watermark on
 * `updated_at` (rather than a NATS notification) because every writer — the responder's grouping, the API's
 * lifecycle changes, SLA escalations — already bumps `updated_at` in the same write, and none of them
 * publishes a change event: the store is the one complete source, and the watermark (kept in SQLite) makes
 * a restart resume where it stopped. On Elasticsearch a change becomes searchable at the next refresh,
 * which the look-back below covers as it covers SQLite's late commits.
 * Idempotent: a version is unique per (incident, updated_at), so re-reading the lookback window is free.
 *
 * Updates of a reported incident are debounced: a new version at most every `minUpdateMs` unless the status
 * changed, so an incident growing by hundreds of alerts is not hundreds of reports.
 */
export async function scanIncidents(
  control: ControlStore,
  preparer: ReportPreparer,
  opts: { minUpdateMs: number; batch?: number; now?: number },
): Promise<ScanResult> {
  const key = 'incident-watermark';
  const [wmTs, wmId] = JSON.parse(control.reports.getMeta(key) ?? '[0,""]') as [number, string];
  const from = Math.max(0, wmTs - LOOKBACK_MS);
  const rows = await preparer.incidents.changedSince({
    since: from,
    inclusive: true,
    limit: opts.batch ?? 500,
  });
  const out: ScanResult = { scanned: rows.length, versions: [], skippedDrills: 0, errors: [] };
  let last: [number, string] = [wmTs, wmId];
  let blocked = false;
  const now = opts.now ?? Date.now();
  for (const r of rows) {
    const prev = control.reports.listVersions({ subject: r.id, limit: 1 })[0];
    const already = prev && Date.parse(prev.version) >= r.updated_at;
    if (!already) {
      const prevStatus = prev ? statusOf(prev.bundle) : undefined;
      const tooSoon =
        prev !== undefined &&
        now - Date.parse(prev.created_at) < opts.minUpdateMs &&
        prevStatus === investigationStatus(r.status as IncidentStatus);
      if (tooSoon) {
        // The watermark stops before it, so a later scan (after the interval) picks it up again.
        blocked = true;
        continue;
      }
      try {
        const res = await preparer.prepareAndStore(r.id, prev ? 'update' : 'policy');
        if (res.version && res.created) out.versions.push(res.version.id);
        if (!res.prepared.report && res.prepared.reason === 'drill') out.skippedDrills++;
      } catch (err) {
        // One bad incident must not stop the others; it is retried from here on the next scan.
        out.errors.push({ id: r.id, error: err instanceof Error ? err.message : String(err) });
        blocked = true;
        continue;
      }
    }
    if (blocked) continue;
    if (r.updated_at > last[0] || (r.updated_at === last[0] && r.id > last[1])) last = [r.updated_at, r.id];
  }
  control.reports.setMeta(key, JSON.stringify(last));
  return out;
}

function statusOf(bundle: { objects: Array<Record<string, unknown>> }): string | undefined {
  const inc = bundle.objects.find((o) => o['type'] === 'incident');
  const exts = (inc?.['extensions'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const e of Object.values(exts))
    if (typeof e['investigation_status'] === 'string') return e['investigation_status'];
  return undefined;
}
