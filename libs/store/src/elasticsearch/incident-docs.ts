import { createHash, randomUUID } from 'node:crypto';
import { type Client, errors } from '@elastic/elasticsearch';
import { isDrill, nextIncidentTags } from '@citysoc/drills';
import { type Alert, type Severity, type UnitAttribution } from '@citysoc/ecs';
import {
  DEFAULT_GROUPING,
  type GroupingPolicy,
  type IncidentStatus,
  type Mitre,
  type SlaKind,
  checkTransition,
  groupOf,
  incidentIdFor,
  incidentTitle,
  isClosed,
  maxSeverity,
  mergeMitre,
  mitreFromTags,
  placeAlert,
  priorityScore,
  unitOf,
  unitPathOf,
} from '@citysoc/incidents';
import { type AuditEntry, type AuditInput } from '../sqlite/audit-log';
import {
  type EvidenceKind,
  IncidentConflictError,
  IncidentNotFoundError,
  inScope,
  type TransitionInput,
  type UnitScope,
} from '../sqlite/incident-store';
import { type MappingUpgrade, upgradeIndexMappings } from './mapping-upgrade';
import { QUEUE_FIELDS_MAPPING, type QueueFields, queueFields } from './queue-fields';

/**
 * The lifecycle part of incidents on Elasticsearch: one document per incident (`_id` = incident id) in a
 * regular index, changed only by read → check → write with `if_seq_no`/`if_primary_term`, so two people
 * acting on the same incident at once cannot overwrite each other: the second write answers 409, the
 * transition is re-read and re-checked against the state the first one left (and refused if that state no
 * longer allows it, exactly as SQLite's IMMEDIATE transaction would have).
 *
 * Human actions (transition, assignment, comment, tags, claim) each produce an audit entry, and Elasticsearch
 * cannot write the incident and the audit entry in one transaction. So the entry travels in the incident
 * document: the same conditional write that changes the incident appends the entry to the document's
 * `outbox`. Then the outbox is drained: each entry is appended to the audit log (idempotently, keyed by the
 * entry's `key`, searching only entries after the `since` seq read before the write), and the drained keys
 * are removed from the document under the same optimistic concurrency. A failure anywhere leaves the entry
 * in the outbox — the change and its audit record are never separated — and the next action on the incident
 * drains older entries before its own (so the log keeps the incidents' order), or `drainPending()` sweeps.
 *
 * ElasticsearchIncidentStore (incident-store.ts) builds the whole incident port on these documents.
 */

/** An audit entry waiting in an incident document until the audit log has it. */
export interface OutboxEntry {
  key: string;
  /** The audit log's last seq before the incident write: a re-drain looks for `key` after it. */
  since: number;
  input: AuditInput;
}

/** The audit log the outbox drains into (ElasticsearchAuditLog). */
export interface OutboxAuditLog {
  append(e: AuditInput, once?: { key: string; since: number }): Promise<AuditEntry>;
  headSeq(): Promise<number>;
}

export interface IncidentHistoryEntry {
  at: number;
  actor: string;
  /** null on the line that opened the incident (as SQLite's incident_history). */
  from: IncidentStatus | null;
  to: IncidentStatus;
  text: string;
}

/** The lifecycle fields of an incident, as SqliteIncidentStore keeps them (times in ms since the epoch). */
export interface IncidentLifecycleDoc {
  id: string;
  status: IncidentStatus;
  assignee: string | null;
  reason: string | null;
  duplicate_of: string | null;
  created_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  closed_at: number | null;
  reopened_at: number | null;
  claim_token: string | null;
  claim_expires_at: number | null;
  /** Status changes, oldest first: the document carries its own trail, written in the same request. */
  history: IncidentHistoryEntry[];
  /** The unit the incident concerns (path joined with `/`), for the unit scope; null = city-wide only. */
  unit_path: string | null;
  tags: string[];
  comments: Array<{ at: number; actor: string; text: string }>;
  /** Audit entries of changes already made, not yet in the audit log (drained after each write). */
  outbox: OutboxEntry[];
  /** For incidents opened by recordAlert: what grouped them and what they hold. */
  group?: IncidentGroupFields;
  /** The queue job exists (markQueued); a reopen clears it. Absent = false. */
  queued?: boolean;
  /** For an incident split off another: the incident its alerts came from. */
  split_from?: string | null;
  sla?: IncidentSlaDoc;
  evidence?: EvidenceDoc[];
  /** Merges (as their target) and splits (as their source) started here and not completed yet. */
  pending?: PendingOp[];
  /** On a merge source: its alerts, on their way to the target (cleared once the target has them). */
  transfer?: MergeTransfer | null;
  /** Keys of the last merges applied to this incident as target: a retried merge is recognised. */
  applied_ops?: string[];
  /** Computed from the fields above on every write, for searches and aggregations (slaReport). */
  derived?: DerivedFields;
}

export interface IncidentSlaDoc {
  acknowledge_due?: number;
  resolve_due?: number;
  breaches: Array<{ kind: SlaKind; at: number; generation?: number }>;
}

export interface EvidenceDoc {
  kind: EvidenceKind;
  ref_id: string;
  note: string;
  actor: string;
  at: number;
}

/** A multi-document operation in flight (docs/elasticsearch.md, "Merge and split without transactions"). */
export type PendingOp =
  | { op: 'merge'; key: string; sources: string[]; reason: string; actor: string; at: number }
  | { op: 'split'; key: string; alert_ids: string[]; created: IncidentLifecycleDoc };

export interface MergeTransfer {
  key: string;
  to: string;
  alert_ids: string[];
  alert_ts: number[];
  evidence: EvidenceDoc[];
  severity: Severity;
  rule_ids: string[];
  mitre: Mitre;
  tags: string[];
  acknowledge_due?: number;
  resolve_due?: number;
  /** What the source was before the merge, to undo it if its target never took the alerts. */
  before: IncidentLifecycleDoc;
}

export interface DerivedFields {
  drill: boolean;
  /** Milliseconds from creation to acknowledgement / closing; absent while not reached. */
  ack_ms?: number;
  close_ms?: number;
  ack_breaches: number;
  resolve_breaches: number;
  queue?: QueueFields;
}

/** The search/aggregation fields of a document, recomputed on every write so they never drift. */
export function withDerived(doc: IncidentLifecycleDoc): IncidentLifecycleDoc {
  const breaches = doc.sla?.breaches ?? [];
  return {
    ...doc,
    derived: {
      drill: isDrill({ tags: doc.tags }),
      ...(doc.acknowledged_at !== null ? { ack_ms: doc.acknowledged_at - doc.created_at } : {}),
      ...(doc.closed_at !== null ? { close_ms: doc.closed_at - doc.created_at } : {}),
      ack_breaches: breaches.filter((b) => b.kind === 'acknowledge').length,
      resolve_breaches: breaches.filter((b) => b.kind === 'resolve').length,
      queue: queueFields(doc),
    },
  };
}

export interface IncidentGroupFields {
  key: string;
  title: string;
  severity: Severity;
  rule_ids: string[];
  entity: string;
  alert_count: number;
  first_seen: number;
  last_seen: number;
  reason: string;
  mitre: Mitre;
  priority: number;
  /** How many times a late alert reopened it. */
  generation: number;
  unit: UnitAttribution | null;
  /** Every alert recorded in it: the redelivery check that survives a crash before the alert's link. */
  alert_ids: string[];
  /** The alerts' times, index for index with alert_ids (alertIds sorts by them, as SQLite). */
  alert_ts?: number[];
  rule_author?: string | null;
  rule_license?: string | null;
}

/** What recordAlert answers, as SqliteIncidentStore.recordAlert. */
export interface RecordedAlert {
  incident: IncidentLifecycleDoc;
  created: boolean;
  duplicate: boolean;
  reopened: boolean;
  severityRaised?: boolean;
}

/** What an action answers: the document before and after, and audit entries still waiting in its outbox. */
export interface ActionResult {
  before: IncidentLifecycleDoc;
  after: IncidentLifecycleDoc;
  /** 0 once the audit log has every entry of the incident; more when the log could not be reached. */
  auditPending: number;
  /** False when the action found nothing to change and wrote nothing. */
  changed?: boolean;
}

export interface IncidentLifecycleStore {
  create(
    id: string,
    actor: string,
    init?: { unitPath?: string | null; tags?: string[] },
  ): Promise<IncidentLifecycleDoc>;
  get(id: string, scope?: UnitScope): Promise<IncidentLifecycleDoc | undefined>;
  transition(id: string, input: TransitionInput, actor: string, scope?: UnitScope): Promise<ActionResult>;
}

export interface ElasticsearchIncidentDocsOptions {
  index?: string;
  /** Where human actions are audited (through each document's outbox); without it nothing is audited. */
  audit?: OutboxAuditLog;
  /** Re-reads after a 409 before the transition is refused as a conflict. */
  maxAttempts?: number;
  now?: () => number;
}

export const DEFAULT_INCIDENT_INDEX = 'citysoc-incidents';

/**
 * Index template of the incident indices (documents, group heads, alert links): documents are read by id;
 * only what a search needs is mapped (`dynamic: false` keeps the rest stored, unindexed, so an audit detail
 * or a history text can never cause a mapping conflict). `outbox.key` is what drainPending searches for.
 */
export function incidentIndexTemplate(index: string): Record<string, unknown> {
  const keyword = { type: 'keyword' };
  const millis = { type: 'date', format: 'epoch_millis' };
  return {
    index_patterns: [index, `${index}-groups`, `${index}-alerts`],
    priority: 300,
    template: {
      settings: { number_of_shards: 1, 'index.hidden': true },
      mappings: {
        dynamic: false,
        properties: {
          id: keyword,
          status: keyword,
          assignee: keyword,
          unit_path: keyword,
          tags: keyword,
          created_at: millis,
          updated_at: millis,
          closed_at: millis,
          queued: { type: 'boolean' },
          outbox: { properties: { key: keyword } },
          pending: { properties: { key: keyword } },
          transfer: { properties: { key: keyword } },
          group: {
            properties: {
              key: keyword,
              entity: keyword,
              severity: keyword,
              priority: { type: 'integer' },
              // Substring search (IncidentQuery.text) runs a case-insensitive wildcard on these; a longer
              // value is stored but not indexed rather than rejecting the incident.
              title: { type: 'keyword', ignore_above: 8191 },
              reason: { type: 'keyword', ignore_above: 8191 },
              rule_ids: keyword,
              first_seen: millis,
              last_seen: millis,
              // For the statistics (incident-aggregates.ts): alerts summed, ATT&CK and unit names grouped.
              alert_count: { type: 'integer' },
              mitre: { properties: { tactics: keyword, techniques: keyword } },
              unit: { properties: { name: keyword } },
            },
          },
          sla: { properties: { acknowledge_due: millis, resolve_due: millis } },
          derived: {
            properties: {
              drill: { type: 'boolean' },
              ack_ms: { type: 'long' },
              close_ms: { type: 'long' },
              ack_breaches: { type: 'integer' },
              resolve_breaches: { type: 'integer' },
              queue: QUEUE_FIELDS_MAPPING,
            },
          },
          incident_id: keyword,
          group_key: keyword,
        },
      },
    },
    _meta: { managed_by: 'citysoc' },
  };
}

/** The lifecycle fields of an incident just opened: `new`, unclaimed, never acknowledged, closed or reopened. */
export function freshLifecycle(
  id: string,
  now: number,
): Pick<
  IncidentLifecycleDoc,
  | 'id'
  | 'status'
  | 'assignee'
  | 'reason'
  | 'duplicate_of'
  | 'created_at'
  | 'updated_at'
  | 'acknowledged_at'
  | 'closed_at'
  | 'reopened_at'
  | 'claim_token'
  | 'claim_expires_at'
> {
  return {
    id,
    status: 'new',
    assignee: null,
    reason: null,
    duplicate_of: null,
    created_at: now,
    updated_at: now,
    acknowledged_at: null,
    closed_at: null,
    reopened_at: null,
    claim_token: null,
    claim_expires_at: null,
  };
}

/** `_id` of a group's head document: the group key hashed (keys hold entity values of any length). */
export function groupHeadId(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex');
}

function isStatus(e: unknown, status: number): boolean {
  return e instanceof errors.ResponseError && e.statusCode === status;
}

/**
 * The state after a transition, with SqliteIncidentStore.transition's rules: who is assigned, which
 * timestamps move, and that closing or releasing drops the queue claim. Pure, so both stores can share it.
 */
export function applyTransition(
  cur: IncidentLifecycleDoc,
  req: TransitionInput,
  actor: string,
  now: number,
): IncidentLifecycleDoc {
  checkTransition({
    from: cur.status,
    to: req.to,
    id: cur.id,
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    ...(req.duplicateOf !== undefined ? { duplicateOf: req.duplicateOf } : {}),
  });
  const closing = isClosed(req.to);
  const reopening = isClosed(cur.status);
  const dropClaim = closing || req.to === 'new';
  const text =
    req.to === 'duplicate'
      ? `duplicate of ${req.duplicateOf}: ${req.reason ?? ''}`
      : (req.reason ?? (req.to === 'new' ? 'released back to the queue' : ''));
  return {
    ...cur,
    status: req.to,
    assignee:
      req.to === 'new'
        ? null
        : req.to === 'acknowledged' || req.to === 'in_progress'
          ? (cur.assignee ?? actor)
          : cur.assignee,
    updated_at: now,
    reason: closing ? (req.reason ?? null) : reopening ? null : cur.reason,
    duplicate_of: req.to === 'duplicate' ? (req.duplicateOf ?? null) : null,
    closed_at: closing ? now : null,
    acknowledged_at:
      cur.acknowledged_at ?? (req.to === 'acknowledged' || req.to === 'in_progress' ? now : null),
    claim_token: dropClaim ? null : cur.claim_token,
    claim_expires_at: dropClaim ? null : cur.claim_expires_at,
    reopened_at: reopening ? now : cur.reopened_at,
    history: [...cur.history, { at: now, actor, from: cur.status, to: req.to, text }],
  };
}

/** A history line without a status change (assignment, tags), as SqliteIncidentStore writes them. */
function note(cur: IncidentLifecycleDoc, actor: string, now: number, text: string): IncidentHistoryEntry {
  return { at: now, actor, from: cur.status, to: cur.status, text };
}

export class ElasticsearchIncidentDocs implements IncidentLifecycleStore {
  readonly index: string;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private readonly audit: OutboxAuditLog | undefined;
  /** Writes that lost to a concurrent one and were re-read (for tests and metrics). */
  conflicts = 0;

  constructor(
    private readonly client: Client,
    o: ElasticsearchIncidentDocsOptions = {},
  ) {
    this.index = o.index ?? DEFAULT_INCIDENT_INDEX;
    this.maxAttempts = o.maxAttempts ?? 10;
    this.now = o.now ?? Date.now;
    this.audit = o.audit;
  }

  /**
   * PUTs the index template (idempotent) and maps on the existing indices the fields a newer template added
   * (`upgradeIndexMappings`); call once at start, before the first write. Returns what was upgraded.
   */
  async install(): Promise<MappingUpgrade[]> {
    const template = incidentIndexTemplate(this.index);
    const body: Parameters<Client['indices']['putIndexTemplate']>[0] = { name: this.index, ...template };
    await this.client.indices.putIndexTemplate(body);
    const { properties } = (template['template'] as { mappings: { properties: Record<string, never> } })
      .mappings;
    return upgradeIndexMappings(this.client, [this.index, this.groupsIndex, this.alertsIndex], properties);
  }

  /** Index of the group heads: one document per group naming its latest incident. */
  get groupsIndex(): string {
    return `${this.index}-groups`;
  }

  /** Index of the alert links: `_id` = alert id → its incident (the redelivery check). */
  get alertsIndex(): string {
    return `${this.index}-alerts`;
  }

  /**
   * Records an alert in its incident with SqliteIncidentStore.recordAlert's rules (groupOf, placeAlert,
   * re-open, follow duplicates, severity/priority/MITRE/drill tags), without a transaction:
   * - the alert's link (`<index>-alerts/_doc/<alert id>`) and the incident's `alert_ids` say "already
   *   recorded" (the link is written last, so `alert_ids` covers a crash before it);
   * - the group's head document (`<index>-groups/_doc/<sha256 of the group key>`) names the group's latest
   *   incident and only moves under `if_seq_no`: it serialises writers of one group, as the audit head does;
   * - attaching is a conditional write of the incident; opening creates the incident with the
   *   deterministic id (`incidentIdFor`, as SQLite) and `op_type=create`, then moves the head. If the head
   *   moved in between, the just-created incident is deleted (under its own seq_no) and the alert placed
   *   again; if a replay finds its incident already created (a crash before the head moved) it adopts it.
   * Every 409 re-reads and re-decides, at most `maxAttempts` times.
   */
  async recordAlert(alert: Alert, policyOrWindow: GroupingPolicy | number): Promise<RecordedAlert> {
    const policy =
      typeof policyOrWindow === 'number' ? { ...DEFAULT_GROUPING, windowMs: policyOrWindow } : policyOrWindow;
    const group = groupOf(alert, policy);
    const headId = groupHeadId(group.key);
    const t = Date.parse(alert['@timestamp']);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const link = await this.readFrom<{ incident_id: string }>(this.alertsIndex, alert.id);
      if (link) {
        const inc = await this.read(link.doc.incident_id);
        if (inc) return { incident: inc.doc, created: false, duplicate: true, reopened: false };
      }
      const now = this.now();
      const at = Number.isNaN(t) ? now : t;
      const head = await this.readFrom<{ incident_id: string }>(this.groupsIndex, headId);
      let latest = head ? await this.read(head.doc.incident_id) : undefined;
      if (latest?.doc.group?.alert_ids.includes(alert.id)) {
        await this.writeLink(alert.id, latest.doc.id, at);
        return { incident: latest.doc, created: false, duplicate: true, reopened: false };
      }
      let placement = latest?.doc.group
        ? placeAlert(
            {
              status: latest.doc.status,
              firstSeenMs: latest.doc.group.first_seen,
              lastSeenMs: latest.doc.group.last_seen,
            },
            at,
            policy.windowMs,
            policy.reopen,
          )
        : 'open';
      // A duplicate passes its alerts to the incident it duplicates (a short chain at most).
      for (let hops = 0; placement === 'follow_duplicate' && latest?.doc.duplicate_of && hops < 5; hops++) {
        latest = await this.read(latest.doc.duplicate_of);
        if (!latest) break;
        placement =
          latest.doc.status === 'duplicate'
            ? 'follow_duplicate'
            : isClosed(latest.doc.status)
              ? 'attach'
              : 'join';
      }
      if (placement === 'follow_duplicate') placement = 'attach';

      if (latest?.doc.group && placement !== 'open') {
        const cur = latest.doc;
        const g = cur.group as IncidentGroupFields;
        const severity = maxSeverity(g.severity, alert.rule.level);
        let after: IncidentLifecycleDoc = {
          ...cur,
          updated_at: now,
          tags: nextIncidentTags(cur.tags, alert, false),
          group: {
            ...g,
            alert_count: g.alert_count + 1,
            first_seen: Math.min(g.first_seen, at),
            last_seen: Math.max(g.last_seen, at),
            severity,
            rule_ids: [...new Set([...g.rule_ids, alert.rule.id])],
            mitre: mergeMitre(g.mitre, mitreFromTags(alert.rule.tags)),
            priority: priorityScore(severity, g.unit?.criticality),
            alert_ids: [...g.alert_ids, alert.id],
            alert_ts: [...(g.alert_ts ?? []), at],
          },
        };
        if (placement === 'reopen') {
          after = {
            ...after,
            status: 'new',
            assignee: null,
            claim_token: null,
            claim_expires_at: null,
            reason: null,
            closed_at: null,
            reopened_at: now,
            queued: false,
            group: { ...(after.group as IncidentGroupFields), generation: g.generation + 1 },
            history: [
              ...cur.history,
              {
                at: now,
                actor: 'system',
                from: cur.status,
                to: 'new',
                text: `reopened: alert ${alert.id} arrived within the grouping window after the incident was ${cur.status}`,
              },
            ],
          };
        }
        if (!(await this.writeIf(after, latest))) continue;
        await this.writeLink(alert.id, cur.id, at);
        return {
          incident: after,
          created: false,
          duplicate: false,
          reopened: placement === 'reopen',
          severityRaised: severity !== g.severity,
        };
      }

      const id = incidentIdFor(group.key, alert.id);
      const unit = unitOf(alert) ?? null;
      const doc: IncidentLifecycleDoc = {
        ...freshLifecycle(id, now),
        history: [{ at: now, actor: 'system', from: null, to: 'new', text: group.reason }],
        unit_path: unitPathOf(unit ?? undefined),
        tags: nextIncidentTags([], alert, true),
        comments: [],
        outbox: [],
        queued: false,
        split_from: null,
        sla: { breaches: [] },
        evidence: [],
        group: {
          key: group.key,
          title: incidentTitle(alert, group.entity),
          severity: alert.rule.level,
          rule_ids: [alert.rule.id],
          entity: group.entity,
          alert_count: 1,
          first_seen: at,
          last_seen: at,
          reason: group.reason,
          mitre: mitreFromTags(alert.rule.tags),
          priority: priorityScore(alert.rule.level, unit?.criticality),
          generation: 0,
          unit,
          alert_ids: [alert.id],
          alert_ts: [at],
          rule_author: alert.rule.author ?? null,
          rule_license: alert.rule.license ?? null,
        },
      };
      let mine: { seqNo: number; primaryTerm: number } | undefined;
      try {
        const r = await this.client.index({
          index: this.index,
          id,
          op_type: 'create',
          document: withDerived(doc),
        });
        mine = { seqNo: r._seq_no as number, primaryTerm: r._primary_term as number };
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        // Created by an earlier attempt with this alert that died before moving the head: adopt it.
        const existing = await this.read(id);
        if (!existing?.doc.group?.alert_ids.includes(alert.id)) {
          this.conflicts++;
          continue;
        }
      }
      try {
        await this.client.index({
          index: this.groupsIndex,
          id: headId,
          document: { group_key: group.key, incident_id: id },
          ...(head
            ? { if_seq_no: head.seqNo, if_primary_term: head.primaryTerm }
            : { op_type: 'create' as const }),
        });
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        // Another writer placed an alert of this group meanwhile: withdraw ours and decide again.
        this.conflicts++;
        if (mine)
          await this.client
            .delete({ index: this.index, id, if_seq_no: mine.seqNo, if_primary_term: mine.primaryTerm })
            .catch(ignoreStatus(404, 409));
        continue;
      }
      await this.writeLink(alert.id, id, at);
      const incident = (await this.read(id))?.doc ?? doc;
      return { incident, created: true, duplicate: false, reopened: false };
    }
    throw new IncidentConflictError(
      `alert ${alert.id}: its group kept changing under ${this.maxAttempts} attempts`,
    );
  }

  private async writeLink(alertId: string, incidentId: string, at: number): Promise<void> {
    await this.client
      .index({
        index: this.alertsIndex,
        id: alertId,
        op_type: 'create',
        document: { incident_id: incidentId, ts: at },
      })
      .catch(ignoreStatus(409));
  }

  /** A conditional write of `doc` over what was read; false when someone else wrote first (409). */
  private async writeIf(
    doc: IncidentLifecycleDoc,
    read: { seqNo: number; primaryTerm: number },
  ): Promise<boolean> {
    try {
      await this.client.index({
        index: this.index,
        id: doc.id,
        document: withDerived(doc),
        if_seq_no: read.seqNo,
        if_primary_term: read.primaryTerm,
      });
      return true;
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
      this.conflicts++;
      return false;
    }
  }

  /** Opened by the system (the responder), so not a human action: no audit entry. */
  async create(
    id: string,
    actor: string,
    init: { unitPath?: string | null; tags?: string[] } = {},
  ): Promise<IncidentLifecycleDoc> {
    const now = this.now();
    const doc: IncidentLifecycleDoc = {
      ...freshLifecycle(id, now),
      history: [{ at: now, actor, from: 'new', to: 'new', text: 'created' }],
      unit_path: init.unitPath ?? null,
      tags: [...new Set(init.tags ?? [])].sort(),
      comments: [],
      outbox: [],
    };
    try {
      await this.client.index({
        index: this.index,
        id,
        op_type: 'create',
        document: withDerived(doc),
        refresh: 'wait_for',
      });
    } catch (e) {
      if (isStatus(e, 409)) throw new IncidentConflictError(`incident ${id} already exists`);
      throw e;
    }
    return doc;
  }

  async get(id: string, scope?: UnitScope): Promise<IncidentLifecycleDoc | undefined> {
    const doc = (await this.read(id))?.doc;
    return doc && inScope(scope, doc.unit_path) ? doc : undefined;
  }

  async transition(
    id: string,
    input: TransitionInput,
    actor: string,
    scope?: UnitScope,
  ): Promise<ActionResult> {
    // The original must exist and be visible to the same user (as on SQLite): no probing other units' ids.
    if (
      input.duplicateOf !== undefined &&
      input.duplicateOf !== id &&
      !(await this.get(input.duplicateOf, scope))
    )
      throw new IncidentNotFoundError(`incident ${input.duplicateOf} (duplicate_of) not found`);
    // Checked against the state just read, so a lost race is re-judged, not replayed blindly.
    return this.act(id, actor, scope, (cur, now) => ({
      after: applyTransition(cur, input, actor, now),
      audit: {
        action: 'incident.transition',
        detail: {
          from: cur.status,
          to: input.to,
          ...(input.reason !== undefined ? { reason: input.reason } : {}),
          ...(input.duplicateOf !== undefined ? { duplicate_of: input.duplicateOf } : {}),
        },
      },
    }));
  }

  /** Assigns (or, with null, unassigns) an open incident; the SQLite store's history line. */
  async assign(id: string, assignee: string | null, actor: string, scope?: UnitScope): Promise<ActionResult> {
    return this.act(id, actor, scope, (cur, now) => {
      if (isClosed(cur.status))
        throw new IncidentConflictError(`incident ${id} is ${cur.status}; reopen it first`);
      const text = assignee
        ? `assigned to ${assignee}${cur.assignee ? ` (was ${cur.assignee})` : ''}`
        : `unassigned (was ${cur.assignee ?? 'nobody'})`;
      return {
        after: { ...cur, assignee, updated_at: now, history: [...cur.history, note(cur, actor, now, text)] },
        audit: { action: 'incident.assign', detail: { assignee, was: cur.assignee } },
      };
    });
  }

  async comment(id: string, actor: string, text: string, scope?: UnitScope): Promise<ActionResult> {
    return this.act(id, actor, scope, (cur, now) => ({
      after: { ...cur, updated_at: now, comments: [...cur.comments, { at: now, actor, text }] },
      // The text is in the incident; the audit entry says that a comment was made, and its size.
      audit: { action: 'incident.comment', detail: { chars: text.length } },
    }));
  }

  async setTags(
    id: string,
    add: string[],
    remove: string[],
    actor: string,
    scope?: UnitScope,
  ): Promise<ActionResult> {
    return this.act(id, actor, scope, (cur, now) => {
      const tags = new Set(cur.tags);
      for (const t of add) tags.add(t);
      for (const t of remove) tags.delete(t);
      const text = `tags${add.length ? ` +${add.join(' +')}` : ''}${remove.length ? ` -${remove.join(' -')}` : ''}`;
      return {
        after: {
          ...cur,
          tags: [...tags].sort(),
          updated_at: now,
          history: [...cur.history, note(cur, actor, now, text)],
        },
        audit: { action: 'incident.tags', detail: { add, remove } },
      };
    });
  }

  /**
   * Acknowledges an incident handed out by the queue, with SqliteIncidentStore.claim's rules: a new incident
   * is taken; an acknowledged or in-progress one whose lease lapsed (its responder vanished) is taken over,
   * keeping its status; anything else is a conflict, never a steal. The lease (`token`, expiry) lives in the
   * document; two claimants race on `if_seq_no`, so exactly one write lands and the other is re-judged
   * against the winner's state (and refused).
   */
  async claim(
    id: string,
    actor: string,
    opts: { token?: string; lockMs?: number; scope?: UnitScope } = {},
  ): Promise<ActionResult> {
    return this.act(id, actor, opts.scope, (cur, now) => {
      const abandoned =
        (cur.status === 'acknowledged' || cur.status === 'in_progress') &&
        cur.claim_expires_at !== null &&
        cur.claim_expires_at < now;
      if (cur.status !== 'new' && !abandoned)
        throw new IncidentConflictError(`incident ${id} is ${cur.status}, not new`);
      const status: IncidentStatus = cur.status === 'in_progress' ? 'in_progress' : 'acknowledged';
      const expires = opts.lockMs ? now + opts.lockMs : null;
      return {
        after: {
          ...cur,
          status,
          assignee: actor,
          claim_token: opts.token ?? null,
          claim_expires_at: expires,
          acknowledged_at: cur.acknowledged_at ?? now,
          updated_at: now,
          history: [
            ...cur.history,
            {
              at: now,
              actor,
              from: cur.status,
              to: status,
              text: abandoned
                ? `claimed from the queue (the claim of ${cur.assignee ?? 'nobody'} had lapsed)`
                : 'claimed from the queue',
            },
          ],
        },
        audit: {
          action: 'incident.claim',
          detail: {
            from: cur.status,
            to: status,
            expires_at: expires === null ? null : new Date(expires).toISOString(),
          },
        },
      };
    });
  }

  /**
   * Read → change → conditional write, with the change's audit entry in the same write (the outbox), then
   * the drain. Older entries still in the outbox are drained before this one, so they keep their order.
   * `change` answers undefined when there is nothing to write (an idempotent repeat), and no `audit` for
   * what is not a human action (system bookkeeping: queue marks, SLA deadlines, lease renewals). The write
   * waits for a refresh: the lists the analyst reloads next (searches) show it.
   */
  async act(
    id: string,
    actor: string,
    scope: UnitScope,
    change: (
      cur: IncidentLifecycleDoc,
      now: number,
    ) =>
      | { after: IncidentLifecycleDoc; audit?: { action: string; detail: Record<string, unknown> } }
      | undefined,
  ): Promise<ActionResult> {
    // Read before the write: an entry appended by an earlier drain of this key can only come after it.
    const since = this.audit ? await this.audit.headSeq() : 0;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const cur = await this.read(id);
      if (!cur || !inScope(scope, cur.doc.unit_path))
        throw new IncidentNotFoundError(`incident ${id} not found`);
      const res = change(cur.doc, this.now());
      if (!res) return { before: cur.doc, after: cur.doc, auditPending: 0, changed: false };
      const { after: changed, audit } = res;
      const after: IncidentLifecycleDoc = withDerived(
        this.audit && audit
          ? {
              ...changed,
              outbox: [
                ...cur.doc.outbox,
                {
                  key: randomUUID(),
                  since,
                  input: {
                    actor,
                    action: audit.action,
                    target: `incident/${id}`,
                    outcome: 'success',
                    detail: audit.detail,
                  },
                },
              ],
            }
          : changed,
      );
      try {
        await this.client.index({
          index: this.index,
          id,
          document: after,
          if_seq_no: cur.seqNo,
          if_primary_term: cur.primaryTerm,
          refresh: 'wait_for',
        });
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        this.conflicts++;
        continue;
      }
      // Pending: this action's entry and the older ones it wrote behind, unless some drain (this one, or a
      // concurrent one that found them in the document) has appended and cleared them.
      const waiting = await this.drainKeys(id).catch(() => undefined);
      const auditPending = waiting
        ? after.outbox.filter((o) => waiting.has(o.key)).length
        : after.outbox.length;
      return { before: cur.doc, after, auditPending, changed: true };
    }
    throw new IncidentConflictError(
      `incident ${id} kept changing under ${this.maxAttempts} attempts; try again`,
    );
  }

  /**
   * Appends the incident's outbox entries to the audit log in order and removes them from the document.
   * Returns how many are still waiting (0 when done). An append that fails stops the drain: later entries
   * wait behind it, so the log never has them out of order.
   */
  async drain(id: string): Promise<number> {
    return (await this.drainKeys(id)).size;
  }

  /** The keys still waiting in the outbox after the drain (throws when the audit log refused an append). */
  private async drainKeys(id: string): Promise<Set<string>> {
    if (!this.audit) return new Set();
    const start = await this.read(id);
    if (!start || start.doc.outbox.length === 0) return new Set();
    const done = new Set<string>();
    let failed: Error | undefined;
    for (const o of start.doc.outbox) {
      try {
        await this.audit.append(o.input, { key: o.key, since: o.since });
        done.add(o.key);
      } catch (e) {
        failed = e instanceof Error ? e : new Error(String(e));
        break;
      }
    }
    let left = new Set(start.doc.outbox.map((o) => o.key));
    for (let attempt = 0; attempt < this.maxAttempts && done.size > 0; attempt++) {
      const cur = attempt === 0 ? start : await this.read(id);
      if (!cur) return new Set();
      const outbox = cur.doc.outbox.filter((o) => !done.has(o.key));
      try {
        await this.client.index({
          index: this.index,
          id,
          document: { ...cur.doc, outbox },
          if_seq_no: cur.seqNo,
          if_primary_term: cur.primaryTerm,
        });
        left = new Set(outbox.map((o) => o.key));
        break;
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        this.conflicts++;
      }
    }
    // Not cleared under contention: those entries are in the log, and a later drain finds them by key.
    if (failed) throw failed;
    return left;
  }

  /**
   * Drains every incident that still has audit entries waiting (after an audit log outage, or a crash
   * between an incident write and its drain). Finds them by search, which sees documents written before the
   * last refresh: run it periodically, not as part of a request.
   */
  async drainPending(limit = 1000): Promise<{ incidents: number; pending: number }> {
    if (!this.audit) return { incidents: 0, pending: 0 };
    let res;
    try {
      res = await this.client.search<IncidentLifecycleDoc>({
        index: this.index,
        query: { exists: { field: 'outbox.key' } },
        _source: false,
        size: limit,
      });
    } catch (e) {
      if (isStatus(e, 404)) return { incidents: 0, pending: 0 };
      throw e;
    }
    let pending = 0;
    for (const h of res.hits.hits) if (h._id) pending += await this.drain(h._id).catch(() => 1);
    return { incidents: res.hits.hits.length, pending };
  }

  private async readFrom<T>(
    index: string,
    id: string,
  ): Promise<{ doc: T; seqNo: number; primaryTerm: number } | undefined> {
    try {
      const r = await this.client.get<T>({ index, id });
      if (!r.found || !r._source) return undefined;
      return { doc: r._source, seqNo: r._seq_no as number, primaryTerm: r._primary_term as number };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  private async read(
    id: string,
  ): Promise<{ doc: IncidentLifecycleDoc; seqNo: number; primaryTerm: number } | undefined> {
    try {
      const r = await this.client.get<IncidentLifecycleDoc>({ index: this.index, id });
      if (!r.found || !r._source) return undefined;
      return { doc: r._source, seqNo: r._seq_no as number, primaryTerm: r._primary_term as number };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }
}

function ignoreStatus(...statuses: number[]): (e: unknown) => void {
  return (e) => {
    if (!statuses.some((st) => isStatus(e, st))) throw e;
  };
}
