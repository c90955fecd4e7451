import { readFileSync } from 'node:fs';
import { type ControlStore, type ReportDelivery } from '@citysoc/store';
import {
  type StixObject,
  TaxiiClient,
  TaxiiError,
  isRetryable,
  objectVersion,
  splitEnvelopes,
} from '@citysoc/stix';
import { type ReportSettings } from './settings';

export function taxiiClientOf(s: ReportSettings, over: { pollIntervalMs?: number } = {}): TaxiiClient {
  const tls =
    s.taxiiClientCert || s.taxiiClientKey || s.taxiiCa
      ? {
          ...(s.taxiiClientCert ? { cert: readFileSync(s.taxiiClientCert) } : {}),
          ...(s.taxiiClientKey ? { key: readFileSync(s.taxiiClientKey) } : {}),
          ...(s.taxiiCa ? { ca: readFileSync(s.taxiiCa) } : {}),
        }
      : undefined;
  return new TaxiiClient({
    apiRootUrl: s.taxiiUrl,
    ...(s.taxiiUser ? { user: s.taxiiUser, password: s.taxiiPassword } : {}),
    ...(tls ? { tls } : {}),
    ...over,
  });
}

export type DeliveryResult =
  | { outcome: 'delivered'; delivery: ReportDelivery }
  | { outcome: 'failed'; delivery: ReportDelivery; error: string }
  | { outcome: 'retry'; delivery: ReportDelivery; error: unknown; retryAfterMs?: number };

export interface DeliveryHooks {
  /** After each acknowledged envelope (tests use it to kill the process between envelopes). */
  afterEnvelope?: (n: number) => void | Promise<void>;
}

/**
 * Sends one stored report version to the collection: only the object versions the server has not yet
 * acknowledged (report_sent_objects), envelope by envelope, each acknowledgement recorded before the next
 * envelope goes. A crash between a POST and its record re-sends that one envelope, which the server answers
 * as already held (counted as success). Every outcome is a report_deliveries row and an audit entry.
 */
export class Deliverer {
  constructor(
    private readonly control: ControlStore,
    private readonly client: TaxiiClient,
    private readonly collection: string,
    private readonly hooks: DeliveryHooks = {},
  ) {}

  async deliver(reportId: string, attempt = 1): Promise<DeliveryResult> {
    const reports = this.control.reports;
    const v = reports.get(reportId);
    if (!v) throw new Error(`report version ${reportId} not found`);
    const objects = v.bundle.objects as StixObject[];
    const versions = new Map(objects.map((o) => [o.id, objectVersion(o)]));
    const acked = reports.acknowledged(
      this.collection,
      objects.map((o) => ({ id: o.id, version: versions.get(o.id)! })),
    );
    const missing = objects.filter((o) => !acked.has(`${o.id}|${versions.get(o.id)!}`));
    const counts = { sent: 0, successes: 0, already: 0, failures: 0, statusIds: [] as string[] };
    const failures: string[] = [];
    try {
      if (missing.length > 0) {
        const root = await this.client.apiRoot();
        const envelopes = splitEnvelopes(missing, root.max_content_length);
        let n = 0;
        for (const env of envelopes) {
          const r = await this.client.addObjects(this.collection, env);
          counts.sent += env.length;
          counts.statusIds.push(...r.statusIds);
          counts.already += r.alreadyPresent.length;
          counts.successes += r.successes.length;
          counts.failures += r.failures.length;
          const ok = new Set(r.successes.map((s) => s.id));
          reports.markAcknowledged(
            this.collection,
            r.statusIds[r.statusIds.length - 1] ?? '',
            env.filter((o) => ok.has(o.id)).map((o) => ({ id: o.id, version: versions.get(o.id)! })),
          );
          failures.push(...r.failures.map((f) => `${f.id}@${f.version}: ${f.message ?? 'rejected'}`));
          n += 1;
          await this.hooks.afterEnvelope?.(n);
        }
      }
    } catch (err) {
      const retry = isRetryable(err);
      const te = err instanceof TaxiiError ? err : undefined;
      const message = err instanceof Error ? err.message : String(err);
      const delivery = this.record(reportId, retry ? 'retrying' : 'failed', objects.length, counts, {
        code: te?.code ?? 'error',
        http: te?.httpStatus ?? null,
        message,
      });
      if (!retry) reports.setState(reportId, 'failed', message);
      this.audit(reportId, retry ? 'retrying' : 'failed', delivery, attempt);
      return retry
        ? {
            outcome: 'retry',
            delivery,
            error: err,
            ...(te?.retryAfterMs !== undefined ? { retryAfterMs: te.retryAfterMs } : {}),
          }
        : { outcome: 'failed', delivery, error: message };
    }
    if (failures.length > 0) {
      // The server refused objects: re-sending the same bytes cannot help; an admin must look.
      const message = `the server rejected ${failures.length} object(s): ${failures.slice(0, 5).join('; ')}`;
      const delivery = this.record(reportId, 'failed', objects.length, counts, {
        code: 'objects_rejected',
        http: null,
        message,
      });
      reports.setState(reportId, 'failed', message);
      this.audit(reportId, 'failed', delivery, attempt);
      return { outcome: 'failed', delivery, error: message };
    }
    const delivery = this.record(reportId, 'delivered', objects.length, counts);
    reports.setState(reportId, 'delivered');
    this.audit(reportId, 'delivered', delivery, attempt);
    return { outcome: 'delivered', delivery };
  }

  private record(
    reportId: string,
    outcome: ReportDelivery['outcome'],
    total: number,
    c: { sent: number; successes: number; already: number; failures: number; statusIds: string[] },
    err?: { code: string; http: number | null; message: string },
  ): ReportDelivery {
    return this.control.reports.recordDelivery({
      report_id: reportId,
      collection: this.collection,
      outcome,
      status_ids: c.statusIds,
      total,
      sent: c.sent,
      successes: c.successes,
      already_present: c.already,
      failures: c.failures,
      skipped: total - c.sent,
      error_code: err?.code ?? null,
      http_status: err?.http ?? null,
      error: err?.message ?? null,
    });
  }

  private audit(reportId: string, outcome: string, d: ReportDelivery, attempt: number): void {
    this.control.audit.append({
      actor: 'system:reporter',
      action: 'report.deliver',
      target: reportId,
      outcome: outcome === 'delivered' ? 'success' : 'failure',
      detail: {
        result: outcome,
        attempt,
        collection: d.collection,
        status_ids: d.status_ids,
        total: d.total,
        sent: d.sent,
        successes: d.successes,
        already_present: d.already_present,
        failures: d.failures,
        skipped: d.skipped,
        ...(d.error_code ? { error_code: d.error_code, http_status: d.http_status, error: d.error } : {}),
      },
    });
  }
}
