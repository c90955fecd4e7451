import { type MappingUpgrade } from './mapping-upgrade';
import { createHash } from 'node:crypto';
import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { mergedIncidentTags } from '@citysoc/drills';
import { type Alert } from '@citysoc/ecs';
import {
  checkTransition,
  type GroupingPolicy,
  TransitionArgumentError,
  TransitionError,
  incidentIdFor,
  type IncidentStatus,
  isClosed,
  maxSeverity,
  mergeMitre,
  priorityScore,
  type SlaDeadline,
  type SlaKind,
} from '@citysoc/incidents';
import { type IncidentStore } from '../incident-port';
import { ElasticsearchIncidentAggregates } from './incident-aggregates';
import {
  type Incident,
  type IncidentComment,
  type IncidentNote,
  type IncidentQuery,
  type Page,
  type RecordAlertResult,
  type SlaReportRow,
} from '../ports';
import { clampLimit, decodeCursor, encodeCursor } from '../sqlite/db';
import {
  type AlertSetSummary,
  type EvidenceKind,
  type EvidencePin,
  IncidentConflictError,
  IncidentNotFoundError,
  inScope,
  type MergeResult,
  type SplitResult,
  type TransitionInput,
  type UnitScope,
} from '../sqlite/incident-store';
import {
  type ElasticsearchIncidentDocsOptions,
  ElasticsearchIncidentDocs,
  type EvidenceDoc,
  freshLifecycle,
  type IncidentLifecycleDoc,
  type IncidentHistoryEntry,
  type MergeTransfer,
  type PendingOp,
  withDerived,
} from './incident-docs';
import { ElasticsearchIncidentQueue } from './incident-queue';
import {
  type IncidentActivity,
  type IncidentChange,
  type QueueContext,
  type QueueFilter,
  type QueueGroup,
  type QueuePageResult,
} from '../incident-queue-port';

/**
 * The incident port on Elasticsearch: ElasticsearchIncidentDocs (one document per incident, changed only by
 * conditional writes, human actions audited through the document's outbox) answering exactly what
 * SqliteIncidentStore answers; the incident contract suite holds both to it.
 *
 * Reads by id are real-time (GET); lists, the unqueued sweep and the SLA report are searches, which see
 * what the last refresh made visible. Human actions wait for that refresh (`refresh=wait_for`), so the
 * analyst's next list shows them; recordAlert does not (the alert hot path), so a just-opened incident may
 * reach the lists up to one refresh interval later (docs/elasticsearch.md, known limits).
 *
 * Merge and split change several documents without a transaction: see `merge` and `split`.
 */
export class ElasticsearchIncidentStore implements IncidentStore {
  readonly docs: ElasticsearchIncidentDocs;
  private readonly now: () => number;
  private readonly queueViews: ElasticsearchIncidentQueue;

  constructor(
    private readonly client: Client,
    o: ElasticsearchIncidentDocsOptions = {},
  ) {
    this.docs = new ElasticsearchIncidentDocs(client, o);
    this.now = o.now ?? Date.now;
    this.queueViews = new ElasticsearchIncidentQueue(client, () => this.index, toIncident);
    this.aggregates = new ElasticsearchIncidentAggregates(client, this.docs.index);
  }

  // Statistics (IncidentAggregates): aggregations kept in incident-aggregates.ts.
  private readonly aggregates: ElasticsearchIncidentAggregates;
  incidentDashboard: IncidentStore['incidentDashboard'] = (q) => this.aggregates.incidentDashboard(q);
  incidentUnits: IncidentStore['incidentUnits'] = (scope) => this.aggregates.incidentUnits(scope);
  incidentRuleStats: IncidentStore['incidentRuleStats'] = (scope, limit) =>
    this.aggregates.incidentRuleStats(scope, limit);
  incidentMitre: IncidentStore['incidentMitre'] = (scope) => this.aggregates.incidentMitre(scope);
  slaBreachCounts: IncidentStore['slaBreachCounts'] = () => this.aggregates.slaBreachCounts();

  get index(): string {
    return this.docs.index;
  }

  /** Templates, and the mapping of indices from an earlier release brought up to date (see incident-docs). */
  install(): Promise<MappingUpgrade[]> {
    return this.docs.install();
  }

  /** Makes every write visible to search now (tests and operators; requests never need it). */
  async refresh(): Promise<void> {
    await this.client.indices.refresh({ index: this.index });
  }

  async recordAlert(alert: Alert, policyOrWindow: GroupingPolicy | number): Promise<RecordAlertResult> {
    const r = await this.docs.recordAlert(alert, policyOrWindow);
    return {
      incident: toIncident(r.incident),
      created: r.created,
      duplicate: r.duplicate,
      reopened: r.reopened,
      ...(r.severityRaised !== undefined ? { severityRaised: r.severityRaised } : {}),
    };
  }

  async markQueued(id: string): Promise<void> {
    await this.docs.act(id, 'system', undefined, (cur) =>
      cur.queued ? undefined : { after: { ...cur, queued: true } },
    );
  }

  async listUnqueued(limit = 1000): Promise<Incident[]> {
    const res = await this.search({
      query: { bool: { must_not: [{ term: { queued: true } }] } },
      sort: [{ created_at: { order: 'asc' } }, { id: { order: 'asc' } }],
      size: limit,
    });
    return res.map(toIncident);
  }

  async get(id: string, scope?: UnitScope): Promise<Incident | undefined> {
    const d = await this.docs.get(id, scope);
    return d ? toIncident(d) : undefined;
  }

  /** IncidentQuery as query DSL; newest first, `id` breaking ties, the cursor = SQLite's (created_at, id). */
  async list(q: IncidentQuery): Promise<Page<Incident>> {
    const filter: estypes.QueryDslQueryContainer[] = [...scopeFilter(q.scope)];
    const term = (field: string, v: string | undefined) => {
      if (v !== undefined) filter.push({ term: { [field]: v } });
    };
    term('status', q.status);
    term('group.severity', q.severity);
    term('assignee', q.assignee);
    if (q.unit !== undefined) filter.push(...scopeFilter(q.unit));
    term('tags', q.tag);
    term('group.rule_ids', q.ruleId);
    term('group.entity', q.entity);
    if (q.text !== undefined) {
      // SQLite: LIKE '%text%' (case-insensitive) on title, entity and grouping reason.
      const value = `*${q.text.replace(/[\\*?]/g, (c) => `\\${c}`)}*`;
      filter.push({
        bool: {
          should: ['group.title', 'group.entity', 'group.reason'].map((f) => ({
            wildcard: { [f]: { value, case_insensitive: true } },
          })),
          minimum_should_match: 1,
        },
      });
    }
    const from = q.from === undefined ? NaN : Date.parse(q.from);
    const to = q.to === undefined ? NaN : Date.parse(q.to);
    if (!Number.isNaN(from)) filter.push({ range: { 'group.last_seen': { gte: from } } });
    if (!Number.isNaN(to)) filter.push({ range: { 'group.first_seen': { lt: to } } });
    const after = q.after ? decodeCursor(q.after) : undefined;
    const limit = clampLimit(q.limit);
    const docs = await this.search({
      query: { bool: { filter } },
      sort: [{ created_at: { order: 'desc' } }, { id: { order: 'desc' } }],
      size: limit + 1,
      ...(after ? { search_after: after } : {}),
    });
    const items = docs.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toIncident),
      ...(docs.length > limit && last ? { next: encodeCursor(last.created_at, last.id) } : {}),
    };
  }

  async alertIds(id: string): Promise<string[]> {
    const g = (await this.docs.get(id))?.group;
    if (!g) return [];
    const ts = g.alert_ts ?? [];
    return g.alert_ids
      .map((a, i) => ({ a, t: ts[i] ?? 0 }))
      .sort((x, y) => x.t - y.t || (x.a < y.a ? -1 : x.a > y.a ? 1 : 0))
      .map((x) => x.a);
  }

  async notes(id: string): Promise<IncidentNote[]> {
    return ((await this.docs.get(id))?.history ?? []).map(toNote);
  }

  async comments(id: string): Promise<IncidentComment[]> {
    return ((await this.docs.get(id))?.comments ?? []).map((c) => ({ ...c, at: iso(c.at) }));
  }

  async claim(
    id: string,
    actor: string,
    opts: { token?: string; lockMs?: number; scope?: UnitScope } = {},
  ): Promise<Incident> {
    return toIncident((await this.docs.claim(id, actor, opts)).after);
  }

  async claimToken(
    id: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ token: string | null; incident: Incident }> {
    const d = await this.must(id, scope);
    if (d.assignee !== actor)
      throw new IncidentConflictError(
        `incident ${id} is assigned to ${d.assignee ?? 'nobody'}, not ${actor}`,
      );
    return { token: d.claim_token, incident: toIncident(d) };
  }

  async claimTokenFor(id: string, scope?: UnitScope): Promise<string | null> {
    return (await this.must(id, scope)).claim_token;
  }

  /** Heartbeat: the lease lives `lockMs` longer (a conditional write; not a human action, not audited). */
  async renewClaim(id: string, actor: string, lockMs: number, scope?: UnitScope): Promise<Incident> {
    const r = await this.docs.act(id, actor, scope, (cur, now) => {
      if (cur.assignee !== actor || !(cur.status === 'acknowledged' || cur.status === 'in_progress'))
        throw new IncidentConflictError(`incident ${id} is not claimed by ${actor}`);
      return { after: { ...cur, claim_expires_at: now + lockMs } };
    });
    return toIncident(r.after);
  }

  async transition(
    id: string,
    input: TransitionInput | IncidentStatus,
    actor: string,
    note?: string,
    scope?: UnitScope,
  ): Promise<Incident> {
    const req: TransitionInput =
      typeof input === 'string' ? { to: input, ...(note !== undefined ? { reason: note } : {}) } : input;
    return (await this.transitionWithBefore(id, req, actor, scope)).after;
  }

  async transitionWithBefore(
    id: string,
    input: TransitionInput,
    actor: string,
    scope?: UnitScope,
  ): Promise<{ before: Incident; after: Incident }> {
    const r = await this.docs.transition(id, input, actor, scope);
    return { before: toIncident(r.before), after: toIncident(r.after) };
  }

  async assign(id: string, assignee: string | null, actor: string, scope?: UnitScope): Promise<Incident> {
    return toIncident((await this.docs.assign(id, assignee, actor, scope)).after);
  }

  async comment(id: string, actor: string, text: string, scope?: UnitScope): Promise<IncidentComment> {
    const r = await this.docs.comment(id, actor, text, scope);
    const c = r.after.comments[r.after.comments.length - 1];
    if (!c) throw new Error(`incident ${id}: the comment was not written`);
    return { at: iso(c.at), actor: c.actor, text: c.text };
  }

  async setTags(
    id: string,
    add: string[],
    remove: string[],
    actor: string,
    scope?: UnitScope,
  ): Promise<Incident> {
    return toIncident((await this.docs.setTags(id, add, remove, actor, scope)).after);
  }

  async setSlaDeadlines(id: string, deadlines: SlaDeadline[]): Promise<void> {
    await this.docs.act(id, 'system', undefined, (cur) => {
      const sla = { ...(cur.sla ?? { breaches: [] }) };
      for (const d of deadlines) sla[d.kind === 'acknowledge' ? 'acknowledge_due' : 'resolve_due'] = d.dueMs;
      return { after: { ...cur, sla } };
    });
  }

  /** Once per kind and opening (timers may fire twice after a restart): a repeat writes nothing. */
  async recordSlaBreach(id: string, kind: SlaKind, atMs: number, generation = 0): Promise<boolean> {
    const r = await this.docs.act(id, 'system', undefined, (cur) => {
      const sla = cur.sla ?? { breaches: [] };
      if (sla.breaches.some((b) => b.kind === kind && (b.generation ?? 0) === generation)) return undefined;
      return {
        after: {
          ...cur,
          updated_at: atMs,
          sla: {
            ...sla,
            breaches: [...sla.breaches, { kind, at: atMs, ...(generation ? { generation } : {}) }],
          },
          history: [
            ...cur.history,
            line(
              cur,
              'system',
              atMs,
              `SLA breached: not ${kind === 'acknowledge' ? 'acknowledged' : 'resolved'} in time; escalated`,
            ),
          ],
        },
      };
    });
    return r.changed !== false;
  }

  async pinEvidence(
    id: string,
    pin: { kind: EvidenceKind; ref: string; note: string },
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin> {
    const r = await this.docs.act(id, actor, scope, (cur, now) => {
      if (pin.kind === 'alert' && !cur.group?.alert_ids.includes(pin.ref))
        throw new IncidentNotFoundError(`alert ${pin.ref} is not part of incident ${id}`);
      const e: EvidenceDoc = { kind: pin.kind, ref_id: pin.ref, note: pin.note, actor, at: now };
      const rest = (cur.evidence ?? []).filter((x) => !(x.kind === pin.kind && x.ref_id === pin.ref));
      return {
        after: {
          ...cur,
          evidence: [...rest, e],
          updated_at: now,
          history: [...cur.history, line(cur, actor, now, `pinned ${pin.kind} ${pin.ref}: ${pin.note}`)],
        },
        audit: { action: 'incident.evidence.pin', detail: { kind: pin.kind, ref: pin.ref } },
      };
    });
    const e = (r.after.evidence ?? []).find((x) => x.kind === pin.kind && x.ref_id === pin.ref);
    if (!e) throw new Error(`incident ${id}: the pin was not written`);
    return toPin(e);
  }

  async unpinEvidence(
    id: string,
    kind: EvidenceKind,
    ref: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<EvidencePin> {
    let was: EvidenceDoc | undefined;
    await this.docs.act(id, actor, scope, (cur, now) => {
      was = (cur.evidence ?? []).find((x) => x.kind === kind && x.ref_id === ref);
      if (!was) throw new IncidentNotFoundError(`${kind} ${ref} is not pinned on incident ${id}`);
      return {
        after: {
          ...cur,
          evidence: (cur.evidence ?? []).filter((x) => x !== was),
          updated_at: now,
          history: [...cur.history, line(cur, actor, now, `unpinned ${kind} ${ref}`)],
        },
        audit: { action: 'incident.evidence.unpin', detail: { kind, ref } },
      };
    });
    return toPin(was as EvidenceDoc);
  }

  async evidence(id: string): Promise<EvidencePin[]> {
    return sortPins((await this.docs.get(id))?.evidence ?? []).map(toPin);
  }

  /**
   * Merges `sourceIds` into `targetId` with SqliteIncidentStore.merge's rules, in ordered conditional writes
   * (docs/elasticsearch.md, "Merge and split without transactions"):
   * 1. the target records the intent (`pending`, keyed by a hash of target and sources);
   * 2. each source, in one write, becomes a duplicate and hands its alerts and pins to a `transfer` marker
   *    (so an alert is always in exactly one place: an incident's alerts or one transfer in flight);
   * 3. the target, in one write, takes every transfer of the key, drops the intent, remembers the key;
   * 4. the sources' markers are cleared and the alert links re-pointed.
   * A crash after 1 or 2 is completed by the next merge/split touching those incidents, a retry of the same
   * merge, or `completePending()`; a retry after 3 answers the completed merge.
   */
  async merge(
    targetId: string,
    sourceIds: string[],
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<MergeResult> {
    const unique = [...new Set(sourceIds)];
    if (unique.includes(targetId))
      throw new IncidentConflictError('an incident cannot be merged into itself');
    const key = `merge:${createHash('sha256')
      .update([targetId, ...[...unique].sort()].join('\n'))
      .digest('hex')
      .slice(0, 32)}`;
    for (const id of [targetId, ...unique]) await this.complete(id);
    const target = await this.must(targetId, scope);
    if (target.applied_ops?.includes(key)) {
      // A retry of a merge that completed: answer it again, change nothing.
      const merged = await Promise.all(unique.map((sid) => this.must(sid, scope)));
      return { target: toIncident(target), merged: merged.map(toIncident), moved: 0 };
    }
    if (isClosed(target.status))
      throw new IncidentConflictError(
        `incident ${targetId} is ${target.status}; merge into an open incident`,
      );
    const sources = await Promise.all(
      unique.map(async (sid) => {
        const d = await this.must(sid, scope);
        checkTransition({ from: d.status, to: 'duplicate', id: sid, reason, duplicateOf: targetId });
        return d;
      }),
    );
    await this.docs.act(targetId, actor, scope, (cur, now) => {
      if (isClosed(cur.status))
        throw new IncidentConflictError(`incident ${targetId} is ${cur.status}; merge into an open incident`);
      const op: PendingOp = { op: 'merge', key, sources: unique, reason, actor, at: now };
      return { after: { ...cur, pending: [...(cur.pending ?? []).filter((p) => p.key !== key), op] } };
    });
    const done = await this.completeMerge(targetId, key);
    if (done.merged.length === 0)
      throw new IncidentConflictError('the incidents changed while being merged; nothing was merged');
    const after = await this.must(targetId);
    return {
      target: toIncident(after),
      merged: sources.filter((d) => done.merged.includes(d.id)).map(toIncident),
      moved: done.moved,
    };
  }

  /**
   * Moves `alertIds` into a new incident with SqliteIncidentStore.split's rules, in ordered writes:
   * 1. the source, in one conditional write, gives up the alerts (and their pins) and records the new
   *    incident, whole, as its `pending` intent (its id derives from the group and the first alert);
   * 2. the new incident is created (`op_type=create`; already there = an earlier attempt made it);
   * 3. the intent is dropped and the alert links re-pointed.
   * A crash after 1 is completed like a merge's; a retry of the same split answers the split made.
   */
  async split(
    id: string,
    alertIds: string[],
    summaries: { moved: AlertSetSummary; kept: AlertSetSummary | null },
    reason: string,
    actor: string,
    scope?: UnitScope,
  ): Promise<SplitResult> {
    await this.complete(id);
    const ids = [...new Set(alertIds)].sort();
    const first = await this.must(id, scope);
    const newId = incidentIdFor(`${first.group?.key ?? id}|split`, ids[0] ?? '');
    const made = ids.length > 0 ? await this.docs.get(newId) : undefined;
    if (made?.split_from === id && sameSet(made.group?.alert_ids ?? [], ids))
      return { source: toIncident(first), created: toIncident(made) };
    await this.docs.act(id, actor, scope, (cur, now) => {
      if (isClosed(cur.status))
        throw new IncidentConflictError(`incident ${id} is ${cur.status}; reopen it before splitting`);
      const g = cur.group;
      if (!g) throw new IncidentConflictError(`incident ${id} holds no alerts`);
      const mine = new Set(g.alert_ids);
      const foreign = ids.filter((a) => !mine.has(a));
      if (foreign.length > 0)
        throw new IncidentNotFoundError(
          `alerts not part of incident ${id}: ${foreign.slice(0, 5).join(', ')}`,
        );
      if (ids.length === 0 || ids.length >= mine.size)
        throw new IncidentConflictError('a split moves some of the alerts, not none and not all');
      const moving = new Set(ids);
      const ts = g.alert_ts ?? [];
      const tsOf = new Map(g.alert_ids.map((a, i) => [a, ts[i] ?? now]));
      const movedTs = ids.map((a) => tsOf.get(a) ?? now);
      const keptIds = g.alert_ids.filter((a) => !moving.has(a));
      const keptTs = g.alert_ids.flatMap((a, i) => (moving.has(a) ? [] : [ts[i] ?? now]));
      const movesPin = (e: EvidenceDoc) => e.kind === 'alert' && moving.has(e.ref_id);
      const m = summaries.moved;
      const k = summaries.kept;
      const criticality = g.unit?.criticality;
      const created: IncidentLifecycleDoc = {
        ...freshLifecycle(newId, now),
        history: [
          {
            at: now,
            actor,
            from: null,
            to: 'new',
            text: `split from ${id} (${ids.length} alerts): ${reason}`,
          },
        ],
        unit_path: cur.unit_path,
        tags: cur.tags,
        comments: [],
        outbox: [],
        queued: false,
        split_from: id,
        sla: { breaches: [] },
        evidence: (cur.evidence ?? []).filter(movesPin),
        group: {
          ...g,
          key: `${g.key}|split`,
          title: m.title,
          severity: m.severity,
          rule_ids: m.rule_ids,
          mitre: m.mitre,
          alert_count: ids.length,
          first_seen: Math.min(...movedTs),
          last_seen: Math.max(...movedTs),
          reason: `split from ${id} by ${actor}: ${reason}`,
          priority: priorityScore(m.severity, criticality),
          generation: 0,
          alert_ids: ids,
          alert_ts: movedTs,
        },
      };
      const severity = k?.severity ?? g.severity;
      return {
        after: {
          ...cur,
          updated_at: now,
          evidence: (cur.evidence ?? []).filter((e) => !movesPin(e)),
          group: {
            ...g,
            alert_ids: keptIds,
            alert_ts: keptTs,
            alert_count: keptIds.length,
            first_seen: Math.min(...keptTs),
            last_seen: Math.max(...keptTs),
            severity,
            rule_ids: k ? k.rule_ids : g.rule_ids,
            mitre: k ? k.mitre : g.mitre,
            priority: priorityScore(severity, criticality),
          },
          history: [
            ...cur.history,
            line(cur, actor, now, `split ${ids.length} alerts into ${newId}: ${reason}`),
          ],
          pending: [...(cur.pending ?? []), { op: 'split', key: newId, alert_ids: ids, created }],
        },
        audit: { action: 'incident.split', detail: { into: newId, alerts: ids.length, reason } },
      };
    });
    await this.completeSplit(id, newId);
    const created = await this.must(newId);
    const source = await this.must(id);
    return { source: toIncident(source), created: toIncident(created) };
  }

  /** SQLite's slaReport as a composite aggregation over the derived fields (pure drill incidents out). */
  async slaReport(q: { from?: number; to?: number; scope?: UnitScope }): Promise<SlaReportRow[]> {
    const filter: estypes.QueryDslQueryContainer[] = [...scopeFilter(q.scope)];
    if (q.from !== undefined || q.to !== undefined)
      filter.push({
        range: {
          created_at: {
            ...(q.from !== undefined ? { gte: q.from } : {}),
            ...(q.to !== undefined ? { lt: q.to } : {}),
          },
        },
      });
    const rows: SlaReportRow[] = [];
    let after: Record<string, estypes.FieldValue> | undefined;
    for (;;) {
      let res;
      try {
        res = await this.client.search({
          index: this.index,
          size: 0,
          query: { bool: { filter, must_not: [{ term: { 'derived.drill': true } }] } },
          aggs: {
            rows: {
              composite: {
                size: 500,
                sources: [
                  { unit_path: { terms: { field: 'unit_path', missing_bucket: true } } },
                  { severity: { terms: { field: 'group.severity' } } },
                ],
                ...(after ? { after } : {}),
              },
              aggs: {
                open: { filter: { terms: { status: ['new', 'acknowledged', 'in_progress'] } } },
                acknowledge_breaches: { sum: { field: 'derived.ack_breaches' } },
                resolve_breaches: { sum: { field: 'derived.resolve_breaches' } },
                ack_ms: { avg: { field: 'derived.ack_ms' } },
                close_ms: { avg: { field: 'derived.close_ms' } },
              },
            },
          },
        });
      } catch (e) {
        if (e instanceof errors.ResponseError && e.statusCode === 404) return [];
        throw e;
      }
      const agg = (res.aggregations as Record<string, CompositeAgg> | undefined)?.['rows'];
      const buckets = agg?.buckets ?? [];
      for (const b of buckets)
        rows.push({
          unit_path: (b.key['unit_path'] as string | null) ?? null,
          severity: b.key['severity'] as SlaReportRow['severity'],
          incidents: b.doc_count,
          open: b.open.doc_count,
          acknowledge_breaches: b.acknowledge_breaches.value,
          resolve_breaches: b.resolve_breaches.value,
          mean_minutes_to_acknowledge: minutes(b.ack_ms.value),
          mean_minutes_to_close: minutes(b.close_ms.value),
        });
      if (buckets.length < 500 || !agg?.after_key) break;
      after = agg.after_key;
    }
    return rows;
  }

  /**
   * Completes every merge and split left half-done (a crash, a lost connection): finds the documents with
   * an intent or a transfer marker by search. Run it periodically, like drainPending.
   */
  async completePending(limit = 1000): Promise<number> {
    const ids = (
      await this.search({
        query: {
          bool: { should: [{ exists: { field: 'pending.key' } }, { exists: { field: 'transfer.key' } }] },
        },
        sort: [{ id: { order: 'asc' } }],
        size: limit,
      })
    ).map((d) => d.id);
    for (const id of ids) await this.complete(id);
    return ids.length;
  }

  /** Finishes what a document says is in flight: its own intents, or the merge its transfer belongs to. */
  private async complete(id: string): Promise<void> {
    const d = await this.docs.get(id);
    if (!d) return;
    for (const p of d.pending ?? []) {
      if (p.op === 'merge') await this.completeMerge(id, p.key);
      else await this.completeSplit(id, p.key);
    }
    const t = d.transfer;
    if (t) {
      const target = await this.docs.get(t.to);
      if (target?.pending?.some((p) => p.key === t.key)) await this.completeMerge(t.to, t.key);
      else if (target?.applied_ops?.includes(t.key)) await this.clearTransfer(id, t.key);
      else await this.undoTransfer(id, t);
    }
  }

  private async completeMerge(targetId: string, key: string): Promise<{ moved: number; merged: string[] }> {
    const target = await this.docs.get(targetId);
    const op = target?.pending?.find((p) => p.key === key);
    if (!op || op.op !== 'merge') return { moved: 0, merged: [] };
    const transferred: string[] = [];
    for (const sid of op.sources) {
      const r = await this.docs
        .act(sid, op.actor, undefined, (cur, now) => {
          if (cur.transfer?.key === key) return undefined;
          if (cur.transfer) throw new IncidentConflictError(`incident ${sid} is being merged elsewhere`);
          // Re-judged on what is there now: a source closed meanwhile stays out of the merge.
          checkTransition({
            from: cur.status,
            to: 'duplicate',
            id: sid,
            reason: op.reason,
            duplicateOf: targetId,
          });
          const g = cur.group;
          const transfer: MergeTransfer = {
            key,
            to: targetId,
            alert_ids: g?.alert_ids ?? [],
            alert_ts: g?.alert_ts ?? [],
            evidence: cur.evidence ?? [],
            severity: g?.severity ?? 'low',
            rule_ids: g?.rule_ids ?? [],
            mitre: g?.mitre ?? { tactics: [], techniques: [] },
            tags: cur.tags,
            ...(cur.sla?.acknowledge_due !== undefined ? { acknowledge_due: cur.sla.acknowledge_due } : {}),
            ...(cur.sla?.resolve_due !== undefined ? { resolve_due: cur.sla.resolve_due } : {}),
            before: { ...cur, outbox: [], pending: [], transfer: null },
          };
          return {
            after: {
              ...cur,
              status: 'duplicate',
              duplicate_of: targetId,
              reason: op.reason,
              closed_at: now,
              updated_at: now,
              claim_token: null,
              claim_expires_at: null,
              evidence: [],
              ...(g ? { group: { ...g, alert_count: 0, alert_ids: [], alert_ts: [] } } : {}),
              transfer,
              history: [
                ...cur.history,
                {
                  at: now,
                  actor: op.actor,
                  from: cur.status,
                  to: 'duplicate',
                  text: `merged into ${targetId}: ${op.reason}`,
                },
              ],
            },
            audit: { action: 'incident.merged_into', detail: { into: targetId, reason: op.reason } },
          };
        })
        .then(
          () => true,
          (e: unknown) => {
            if (e instanceof IncidentNotFoundError || isRefusal(e)) return false;
            throw e;
          },
        );
      if (r) transferred.push(sid);
    }
    const transfers = (await Promise.all(transferred.map((sid) => this.docs.get(sid))))
      .map((d) => d?.transfer)
      .filter((t): t is MergeTransfer => t?.key === key);
    let moved = 0;
    await this.docs.act(targetId, op.actor, undefined, (cur, now) => {
      if (!cur.pending?.some((p) => p.key === key)) return undefined;
      const g = cur.group;
      if (!g) throw new IncidentConflictError(`incident ${targetId} holds no alerts`);
      const ids = [...g.alert_ids];
      const ts = [...(g.alert_ts ?? [])];
      const evidence = [...(cur.evidence ?? [])];
      let severity = g.severity;
      let ruleIds = g.rule_ids;
      let mitre = g.mitre;
      let tags = cur.tags;
      const sla = { ...(cur.sla ?? { breaches: [] }) };
      moved = 0;
      for (const t of transfers) {
        t.alert_ids.forEach((a, i) => {
          if (ids.includes(a)) return;
          ids.push(a);
          ts.push(t.alert_ts[i] ?? now);
          moved++;
        });
        // A pin the target already has wins (SQLite: UPDATE OR IGNORE).
        for (const e of t.evidence)
          if (!evidence.some((x) => x.kind === e.kind && x.ref_id === e.ref_id)) evidence.push(e);
        severity = maxSeverity(severity, t.severity);
        ruleIds = [...new Set([...ruleIds, ...t.rule_ids])];
        mitre = mergeMitre(mitre, t.mitre);
        tags = mergedIncidentTags(tags, t.tags);
        sla.acknowledge_due = earliest(sla.acknowledge_due, t.acknowledge_due);
        sla.resolve_due = earliest(sla.resolve_due, t.resolve_due);
      }
      if (sla.acknowledge_due === undefined) delete sla.acknowledge_due;
      if (sla.resolve_due === undefined) delete sla.resolve_due;
      const names = transfers.map((t) => t.before.id);
      // Every source changed meanwhile and stayed out: drop the intent, nothing was merged.
      if (names.length === 0)
        return { after: { ...cur, pending: (cur.pending ?? []).filter((p) => p.key !== key) } };
      return {
        after: {
          ...cur,
          tags,
          sla,
          evidence,
          updated_at: now,
          group: {
            ...g,
            alert_ids: ids,
            alert_ts: ts,
            alert_count: ids.length,
            first_seen: Math.min(g.first_seen, ...ts),
            last_seen: Math.max(g.last_seen, ...ts),
            severity,
            rule_ids: ruleIds,
            mitre,
            priority: priorityScore(severity, g.unit?.criticality),
          },
          history: [
            ...cur.history,
            line(cur, op.actor, now, `merged ${names.join(', ')} (${moved} alerts): ${op.reason}`),
          ],
          pending: (cur.pending ?? []).filter((p) => p.key !== key),
          applied_ops: [...(cur.applied_ops ?? []), key].slice(-20),
        },
        audit: { action: 'incident.merge', detail: { merged: names, moved, reason: op.reason } },
      };
    });
    for (const t of transfers) {
      await this.clearTransfer(t.before.id, key);
      await this.relink(t.alert_ids, targetId, t.alert_ts);
    }
    return { moved, merged: transfers.map((t) => t.before.id) };
  }

  private async completeSplit(sourceId: string, key: string): Promise<void> {
    const src = await this.docs.get(sourceId);
    const op = src?.pending?.find((p) => p.key === key);
    if (!op || op.op !== 'split') return;
    try {
      await this.client.index({
        index: this.index,
        id: op.created.id,
        op_type: 'create',
        document: withDerived(op.created),
        refresh: 'wait_for',
      });
    } catch (e) {
      // Already created by an earlier attempt of this split (the id is deterministic).
      if (!(e instanceof errors.ResponseError && e.statusCode === 409)) throw e;
    }
    await this.docs.act(sourceId, 'system', undefined, (cur) =>
      cur.pending?.some((p) => p.key === key)
        ? { after: { ...cur, pending: (cur.pending ?? []).filter((p) => p.key !== key) } }
        : undefined,
    );
    await this.relink(op.created.group?.alert_ids ?? [], op.created.id, op.created.group?.alert_ts ?? []);
  }

  private async clearTransfer(id: string, key: string): Promise<void> {
    await this.docs.act(id, 'system', undefined, (cur) =>
      cur.transfer?.key === key ? { after: { ...cur, transfer: null } } : undefined,
    );
  }

  /** A transfer whose target never recorded the merge: the source takes its alerts and state back. */
  private async undoTransfer(id: string, t: MergeTransfer): Promise<void> {
    await this.docs.act(id, 'system', undefined, (cur, now) =>
      cur.transfer?.key === t.key
        ? {
            after: {
              ...t.before,
              outbox: cur.outbox,
              updated_at: now,
              transfer: null,
              history: [
                ...cur.history,
                {
                  at: now,
                  actor: 'system',
                  from: cur.status,
                  to: t.before.status,
                  text: `merge into ${t.to} undone`,
                },
              ],
            },
          }
        : undefined,
    );
  }

  /** Points the alerts' redelivery links at their incident (idempotent; links only speed up the check). */
  private async relink(alertIds: string[], incidentId: string, ts: number[]): Promise<void> {
    for (const [i, a] of alertIds.entries())
      await this.client.index({
        index: this.docs.alertsIndex,
        id: a,
        document: { incident_id: incidentId, ts: ts[i] ?? 0 },
      });
  }

  private async must(id: string, scope?: UnitScope): Promise<IncidentLifecycleDoc> {
    const d = await this.docs.get(id);
    if (!d || !inScope(scope, d.unit_path)) throw new IncidentNotFoundError(`incident ${id} not found`);
    return d;
  }

  // IncidentQueueViews: the query DSL lives in ./incident-queue.ts.
  async queuePage(
    f: QueueFilter,
    ctx: QueueContext,
    page: { page: number; size: number; group?: QueueGroup },
  ): Promise<QueuePageResult> {
    return this.queueViews.queuePage(f, ctx, page);
  }
  async queueCount(f: QueueFilter, ctx: QueueContext): Promise<number> {
    return this.queueViews.queueCount(f, ctx);
  }
  async queueIds(f: QueueFilter, ctx: QueueContext, limit: number): Promise<string[]> {
    return this.queueViews.queueIds(f, ctx, limit);
  }
  async changedSince(q: {
    since: number;
    inclusive: boolean;
    scope?: UnitScope;
    limit: number;
  }): Promise<IncidentChange[]> {
    return this.queueViews.changedSince(q);
  }
  async activeIn(period: { start: number; end: number }): Promise<IncidentActivity[]> {
    return this.queueViews.activeIn(period);
  }

  private async search(
    body: Pick<estypes.SearchRequest, 'query' | 'sort' | 'size' | 'search_after'>,
  ): Promise<IncidentLifecycleDoc[]> {
    try {
      const res = await this.client.search<IncidentLifecycleDoc>({
        index: this.index,
        ...body,
      });
      return res.hits.hits.flatMap((h) => (h._source ? [h._source] : []));
    } catch (e) {
      // No incident yet: the index is created by the first write.
      if (e instanceof errors.ResponseError && e.statusCode === 404) return [];
      throw e;
    }
  }
}

interface CompositeAgg {
  after_key?: Record<string, estypes.FieldValue>;
  buckets: Array<{
    key: Record<string, unknown>;
    doc_count: number;
    open: { doc_count: number };
    acknowledge_breaches: { value: number };
    resolve_breaches: { value: number };
    ack_ms: { value: number | null };
    close_ms: { value: number | null };
  }>;
}

/** The unit scope as a filter: the unit itself or anything below it; undefined = city-wide (no filter). */
function scopeFilter(scope: UnitScope): estypes.QueryDslQueryContainer[] {
  if (scope === undefined) return [];
  return [
    {
      bool: {
        should: [{ term: { unit_path: scope } }, { prefix: { unit_path: `${scope}/` } }],
        minimum_should_match: 1,
      },
    },
  ];
}

function isRefusal(e: unknown): boolean {
  return (
    e instanceof IncidentConflictError || e instanceof TransitionError || e instanceof TransitionArgumentError
  );
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function minutes(ms: number | null): number | null {
  return ms === null || ms === undefined ? null : Math.round((ms / 60000) * 10) / 10;
}

function line(cur: IncidentLifecycleDoc, actor: string, at: number, text: string): IncidentHistoryEntry {
  return { at, actor, from: cur.status, to: cur.status, text };
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : iso(ms));

function sortPins(pins: EvidenceDoc[]): EvidenceDoc[] {
  const k = (e: EvidenceDoc) => [e.at, e.kind, e.ref_id] as const;
  return [...pins].sort((x, y) => {
    const [a, b] = [k(x), k(y)];
    return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
  });
}

function toPin(e: EvidenceDoc): EvidencePin {
  return { kind: e.kind, ref_id: e.ref_id, note: e.note, actor: e.actor, at: iso(e.at) };
}

function toNote(h: IncidentHistoryEntry): IncidentNote {
  return { at: iso(h.at), actor: h.actor, from_status: h.from, to_status: h.to, note: h.text };
}

/** The port's Incident from a document, field for field as SqliteIncidentStore's toIncident. */
export function toIncident(d: IncidentLifecycleDoc): Incident {
  const g = d.group;
  const sla = d.sla ?? { breaches: [] };
  return {
    id: d.id,
    title: g?.title ?? '',
    severity: g?.severity ?? 'low',
    status: d.status,
    priority: g?.priority ?? 0,
    rule_ids: g?.rule_ids ?? [],
    entity: g?.entity ?? '',
    group_key: g?.key ?? '',
    alert_count: g?.alert_count ?? 0,
    first_seen: iso(g?.first_seen ?? d.created_at),
    last_seen: iso(g?.last_seen ?? d.created_at),
    created_at: iso(d.created_at),
    updated_at: iso(d.updated_at),
    assignee: d.assignee,
    queued: d.queued ?? false,
    grouping_reason: g?.reason ?? '',
    reason: d.reason,
    duplicate_of: d.duplicate_of,
    split_from: d.split_from ?? null,
    tags: d.tags,
    mitre: g?.mitre ?? { tactics: [], techniques: [] },
    rule_author: g?.rule_author ?? null,
    rule_license: g?.rule_license ?? null,
    unit:
      d.unit_path === null
        ? null
        : {
            id: g?.unit?.id ?? '',
            name: g?.unit?.name ?? '',
            path: d.unit_path,
            criticality: g?.unit?.criticality ?? 'medium',
          },
    generation: g?.generation ?? 0,
    claim_expires_at: isoOrNull(d.claim_expires_at),
    acknowledged_at: isoOrNull(d.acknowledged_at),
    closed_at: isoOrNull(d.closed_at),
    reopened_at: isoOrNull(d.reopened_at),
    sla: {
      acknowledge_due: isoOrNull(sla.acknowledge_due),
      resolve_due: isoOrNull(sla.resolve_due),
      breaches: sla.breaches.map((b) => ({ kind: b.kind, at: iso(b.at) })),
    },
  };
}
