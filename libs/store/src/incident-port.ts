import { type Alert, type Severity } from '@citysoc/ecs';
import {
  type GroupingPolicy,
  type IncidentStatus,
  type Mitre,
  type SlaDeadline,
  type SlaKind,
} from '@citysoc/incidents';
import { type IncidentAggregates } from './incident-aggregates-port';
import {
  type Incident,
  type IncidentComment,
  type IncidentNote,
  type IncidentQuery,
  type Page,
  type RecordAlertResult,
  type SlaReportRow,
} from './ports';
import { type IncidentQueueViews } from './incident-queue-port';

// The vocabulary of the port lives here, not in sqlite/, so an implementation (Elasticsearch) and the
// consumers depend on the port alone; sqlite/incident-store.ts re-exports it for older imports.

export type EvidenceKind = 'alert' | 'event';

export interface EvidencePin {
  kind: EvidenceKind;
  ref_id: string;
  note: string;
  actor: string;
  at: string;
}

/** What the caller (who can read the alerts) computed for a set of alerts; the store only moves ids. */
export interface AlertSetSummary {
  severity: Severity;
  rule_ids: string[];
  mitre: Mitre;
  title: string;
}

export interface MergeResult {
  target: Incident;
  /** The merged incidents as they were before (now duplicates of the target). */
  merged: Incident[];
  moved: number;
}

export interface SplitResult {
  source: Incident;
  created: Incident;
}

export class IncidentNotFoundError extends Error {
  readonly code = 'incident_not_found';
}
export class IncidentConflictError extends Error {
  readonly code = 'incident_conflict';
}

/**
 * A unit scope: a user bound to `hanoi/ba-dinh` sees incidents of that unit and everything below it;
 * `undefined` is city-wide. Incidents with no known unit are city-wide only.
 */
export type UnitScope = string | undefined;

export function inScope(scope: UnitScope, unitPath: string | null): boolean {
  if (scope === undefined) return true;
  return unitPath !== null && (unitPath === scope || unitPath.startsWith(`${scope}/`));
}

export interface TransitionInput {
  to: IncidentStatus;
  reason?: string;
  duplicateOf?: string;
}

/**
 * The incident store port: what the responder, the API, reports and drills need from incidents. Async because
 * the city-scale implementation (Elasticsearch) answers over the network; the embedded one (SQLite) runs each
 * call as one synchronous transaction, so every method stays atomic on both.
 *
 * Semantics are those of SqliteIncidentStore (the reference); the incident contract suite holds every
 * implementation to them.
 */
export interface IncidentStore extends IncidentQueueViews, IncidentAggregates {
  recordAlert(alert: Alert, policyOrWindow: GroupingPolicy | number): Promise<RecordAlertResult>;
  markQueued(id: string): Promise<void>;
  listUnqueued(limit?: number): Promise<Incident[]>;
  get(id: string, scope?: UnitScope): Promise<Incident | undefined>;
  list(q: IncidentQuery): Promise<Page<Incident>>;
  alertIds(id: string): Promise<string[]>;
  notes(id: string): Promise<IncidentNote[]>;
  comments(id: string): Promise<IncidentComment[]>;
  claim(
    id: string,
    actor: string,
    opts?: { token?: string; lockMs?: number; scope?: UnitScope },
  ): Promise<Incident>;
  claimToken(
    id: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ token: string | null; incident: Incident }>;
  claimTokenFor(id: string, scope?: UnitScope): Promise<string | null>;
  renewClaim(id: string, actor: string, lockMs: number, scope?: UnitScope): Promise<Incident>;
  transition(
    id: string,
    input: TransitionInput | IncidentStatus,
    actor: string,
    note?: string,
    scope?: UnitScope,
  ): Promise<Incident>;
  transitionWithBefore(
    id: string,
    input: TransitionInput,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ before: Incident; after: Incident }>;
  assign(id: string, assignee: string | null, actor: string, scope?: UnitScope): Promise<Incident>;
  comment(id: string, actor: string, text: string, scope?: UnitScope): Promise<IncidentComment>;
  setTags(id: string, add: string[], remove: string[], actor: string, scope?: UnitScope): Promise<Incident>;
  setSlaDeadlines(id: string, deadlines: SlaDeadline[]): Promise<void>;
  recordSlaBreach(id: string, kind: SlaKind, atMs: number, generation?: number): Promise<boolean>;
  pinEvidence(
    id: string,
    pin: { kind: EvidenceKind; ref: string; note: string },
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin>;
  unpinEvidence(
    id: string,
    kind: EvidenceKind,
    ref: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin>;
  evidence(id: string): Promise<EvidencePin[]>;
  merge(
    targetId: string,
    sourceIds: string[],
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<MergeResult>;
  split(
    id: string,
    alertIds: string[],
    summaries: { moved: AlertSetSummary; kept: AlertSetSummary | null },
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<SplitResult>;
  slaReport(q: { from?: number; to?: number; scope?: UnitScope }): Promise<SlaReportRow[]>;
}
