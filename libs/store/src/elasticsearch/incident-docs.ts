import { type Client, errors } from '@elastic/elasticsearch';
import { type IncidentStatus, checkTransition, isClosed } from '@citysoc/incidents';
import { IncidentConflictError, IncidentNotFoundError, type TransitionInput } from '../sqlite/incident-store';

/**
 * The lifecycle part of incidents on Elasticsearch: one document per incident (`_id` = incident id) in a
 * regular index, changed only by read → check → write with `if_seq_no`/`if_primary_term`, so two people
 * acting on the same incident at once cannot overwrite each other: the second write answers 409, the
 * transition is re-read and re-checked against the state the first one left (and refused if that state no
 * longer allows it, exactly as SQLite's IMMEDIATE transaction would have).
 *
 * This is a building block, not a replacement for SqliteIncidentStore: grouping alerts into incidents,
 * claims with queue tokens, assignment, notes/comments, search, SLA reports and the unit scope are not
 * here (docs/elasticsearch.md, "Incidents and the audit log", lists what remains). Nothing wires it in.
 */

export interface IncidentHistoryEntry {
  at: number;
  actor: string;
  from: IncidentStatus;
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
}

export interface IncidentLifecycleStore {
  create(id: string, actor: string): Promise<IncidentLifecycleDoc>;
  get(id: string): Promise<IncidentLifecycleDoc | undefined>;
  transition(
    id: string,
    input: TransitionInput,
    actor: string,
  ): Promise<{ before: IncidentLifecycleDoc; after: IncidentLifecycleDoc }>;
}

export interface ElasticsearchIncidentDocsOptions {
  index?: string;
  /** Re-reads after a 409 before the transition is refused as a conflict. */
  maxAttempts?: number;
  now?: () => number;
}

export const DEFAULT_INCIDENT_INDEX = 'citysoc-incidents';

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

export class ElasticsearchIncidentDocs implements IncidentLifecycleStore {
  readonly index: string;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  /** Writes that lost to a concurrent one and were re-read (for tests and metrics). */
  conflicts = 0;

  constructor(
    private readonly client: Client,
    o: ElasticsearchIncidentDocsOptions = {},
  ) {
    this.index = o.index ?? DEFAULT_INCIDENT_INDEX;
    this.maxAttempts = o.maxAttempts ?? 10;
    this.now = o.now ?? Date.now;
  }

  async create(id: string, actor: string): Promise<IncidentLifecycleDoc> {
    const now = this.now();
    const doc: IncidentLifecycleDoc = {
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
      history: [{ at: now, actor, from: 'new', to: 'new', text: 'created' }],
    };
    try {
      await this.client.index({ index: this.index, id, op_type: 'create', document: doc });
    } catch (e) {
      if (isStatus(e, 409)) throw new IncidentConflictError(`incident ${id} already exists`);
      throw e;
    }
    return doc;
  }

  async get(id: string): Promise<IncidentLifecycleDoc | undefined> {
    return (await this.read(id))?.doc;
  }

  async transition(
    id: string,
    input: TransitionInput,
    actor: string,
  ): Promise<{ before: IncidentLifecycleDoc; after: IncidentLifecycleDoc }> {
    if (input.duplicateOf !== undefined && input.duplicateOf !== id && !(await this.read(input.duplicateOf)))
      throw new IncidentNotFoundError(`incident ${input.duplicateOf} (duplicate_of) not found`);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const cur = await this.read(id);
      if (!cur) throw new IncidentNotFoundError(`incident ${id} not found`);
      // Checked against the state just read, so a lost race is re-judged, not replayed blindly.
      const after = applyTransition(cur.doc, input, actor, this.now());
      try {
        await this.client.index({
          index: this.index,
          id,
          document: after,
          if_seq_no: cur.seqNo,
          if_primary_term: cur.primaryTerm,
        });
        return { before: cur.doc, after };
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        this.conflicts++;
      }
    }
    throw new IncidentConflictError(
      `incident ${id} kept changing under ${this.maxAttempts} attempts; try again`,
    );
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
