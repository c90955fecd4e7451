import { type Alert, type EcsEvent, type Severity } from '@citysoc/ecs';
import { type IncidentStatus, type Mitre } from '@citysoc/incidents';

/**
 * Storage ports. EventStore has two real implementations in view (SQLite embedded, Elasticsearch at city
 * scale), hence an interface. Incidents need transactional grouping, so they live in a relational store.
 */
export interface EventQuery {
  from?: string;
  to?: string;
  /** Full-text words over the message. */
  text?: string;
  /** Exact match on ECS fields (`source.ip`, `log.syslog.appname`…). */
  fields?: Record<string, string>;
  limit?: number;
  /** Opaque cursor from a previous page. */
  after?: string;
  /** Only events of this unit subtree (reporting, source or destination unit); undefined = city-wide. */
  scope?: string;
}

/** Hunt aggregates: the same filters as EventQuery, counted instead of listed. */
export interface EventAggregateQuery extends Omit<EventQuery, 'limit' | 'after'> {
  /** Histogram bucket width in milliseconds (≥ 1 s). */
  intervalMs: number;
  /** ECS fields whose most frequent values to count (at most 10). */
  top: string[];
  /** How many values per field (1–50, default 10). */
  topN?: number;
}

export interface EventAggregates {
  /** Events matching the filters. */
  total: number;
  intervalMs: number;
  /** Non-empty buckets only, oldest first; `start` is the bucket's first instant. */
  histogram: Array<{ start: string; count: number }>;
  /** Per field, most frequent first; events without the field are not counted. */
  top: Record<string, Array<{ value: string; count: number }>>;
}

export interface Page<T> {
  items: T[];
  next?: string;
  total?: number;
}

export interface AlertQuery {
  from?: string;
  to?: string;
  ruleId?: string;
  level?: Severity;
  entity?: string;
  limit?: number;
  after?: string;
  /** Only alerts whose event lies in this unit subtree; undefined = city-wide. */
  scope?: string;
  /**
   * Drill alerts (labels.drill on their event): `exclude` for every KPI (detection latency …), `only` for
   * drill scoring; undefined = both (the analyst's view, blind mode redacts the marks).
   */
  drill?: 'exclude' | 'only';
}

/** A document the store refused (mapping conflict, too large…): the caller dead-letters it, raw. */
export interface RejectedDocument<T> {
  id: string;
  item: T;
  status: number;
  reason: string;
}

export interface WriteResult<T> {
  /** Newly stored. */
  inserted: number;
  /** Already stored under the same id (a replay). */
  duplicates: number;
  rejected: RejectedDocument<T>[];
}

/** What an operator needs to see about the event store (GET /api/v1/storage). */
export interface StorageInfo {
  engine: 'sqlite' | 'elasticsearch';
  /** Worst health of what the store is made of: ok (SQLite), or Elasticsearch's green/yellow/red. */
  status: 'ok' | 'green' | 'yellow' | 'red';
  events: number;
  alerts: number;
  /** On-disk size where known (SQLite file + WAL; Elasticsearch primary + replica store size). */
  bytes?: number;
  dataStreams?: Array<{
    name: string;
    status: string;
    backingIndices: number;
    template?: string;
    ilmPolicy?: string;
    bytes?: number;
    /** Documents in the stream's backing indices (primaries). */
    docs?: number;
    /** Current write index, and when it was created: the last rollover (absent before the first one). */
    writeIndex?: string;
    lastRolloverAt?: string;
    /** ILM phase of the write index, and how many backing indices are in each phase. */
    ilmPhase?: string;
    phases?: Record<string, number>;
    /** Backing indices whose lifecycle is stuck on an error (ILM step ERROR), with Elasticsearch's reason. */
    ilmErrors?: Array<{ index: string; failedStep?: string; reason: string }>;
  }>;
  /** Bulk writes since this process started (Elasticsearch); the last write that failed, if any. */
  writes?: {
    requests: number;
    retries: number;
    created: number;
    duplicates: number;
    rejected: number;
    lastFailure?: { at: string; message: string };
  };
  /** Everything an operator should act on, in words: red/yellow streams, ILM errors, unreadable parts. */
  errors?: string[];
}

export interface EventStore {
  /** Idempotent on event.id: returns how many were new. */
  insertEvents(events: EcsEvent[]): Promise<number>;
  /**
   * Like insertEvents, but a document the store refuses is returned instead of failing the batch, so the
   * writer can dead-letter that one and ack the rest. Throws only when nothing can be said (store down).
   */
  writeEvents(events: EcsEvent[]): Promise<WriteResult<EcsEvent>>;
  writeAlerts(alerts: Alert[]): Promise<WriteResult<Alert>>;
  searchEvents(q: EventQuery): Promise<Page<EcsEvent>>;
  /** Histogram over time and top values per field of the events matching the filters. */
  aggregateEvents(q: EventAggregateQuery): Promise<EventAggregates>;
  countEvents(): Promise<number>;
  /** Idempotent on alert.id. */
  insertAlerts(alerts: Alert[]): Promise<number>;
  listAlerts(q: AlertQuery): Promise<Page<Alert>>;
  getAlert(id: string): Promise<Alert | undefined>;
  /** The alerts among `ids` that exist, in the given order. */
  getAlerts(ids: string[]): Promise<Alert[]>;
  getEvents(ids: string[]): Promise<EcsEvent[]>;
  countAlerts(): Promise<number>;
  storageInfo(): Promise<StorageInfo>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface Incident {
  id: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  rule_ids: string[];
  entity: string;
  group_key: string;
  alert_count: number;
  first_seen: string;
  last_seen: string;
  created_at: string;
  updated_at: string;
  assignee: string | null;
  queued: boolean;
  /** Why these alerts were grouped, in words, for the analyst. */
  grouping_reason: string;
  /** Severity weight × unit criticality weight, 1–20; higher is more urgent. */
  priority: number;
  /** Why it was closed (resolved, false positive, duplicate); null while open. */
  reason: string | null;
  /** For a duplicate: the incident it duplicates. */
  duplicate_of: string | null;
  /** For an incident split off another: the incident its alerts came from. */
  split_from: string | null;
  tags: string[];
  /** ATT&CK tactics and techniques from the rules' tags. */
  mitre: Mitre;
  rule_author: string | null;
  rule_license: string | null;
  /** The city unit the incident concerns (path joined with `/`), null when no unit owns its addresses. */
  unit: {
    id: string;
    name: string;
    path: string;
    criticality: 'low' | 'medium' | 'high' | 'critical';
  } | null;
  /** How many times a late alert reopened it (0 for the first opening). */
  generation: number;
  /** When the current claim lapses unless its holder renews it. */
  claim_expires_at: string | null;
  acknowledged_at: string | null;
  closed_at: string | null;
  reopened_at: string | null;
  sla: {
    acknowledge_due: string | null;
    resolve_due: string | null;
    breaches: Array<{ kind: 'acknowledge' | 'resolve'; at: string }>;
  };
}

export interface IncidentNote {
  at: string;
  actor: string;
  from_status: IncidentStatus | null;
  to_status: IncidentStatus;
  note: string;
}

export interface IncidentComment {
  at: string;
  actor: string;
  text: string;
}

export interface IncidentQuery {
  status?: IncidentStatus;
  severity?: Severity;
  assignee?: string;
  /** Incidents of this unit path and below. */
  unit?: string;
  tag?: string;
  ruleId?: string;
  entity?: string;
  /** Words in the title, entity or grouping reason. */
  text?: string;
  /** Activity overlapping [from, to). */
  from?: string;
  to?: string;
  /** The caller's unit scope (undefined = city-wide). */
  scope?: string;
  limit?: number;
  after?: string;
}

export interface SlaReportRow {
  unit_path: string | null;
  severity: Severity;
  incidents: number;
  open: number;
  acknowledge_breaches: number;
  resolve_breaches: number;
  mean_minutes_to_acknowledge: number | null;
  mean_minutes_to_close: number | null;
}

export interface RecordAlertResult {
  incident: Incident;
  /** The incident was opened by this alert. */
  created: boolean;
  /** The alert had been recorded before (a redelivery): nothing changed. */
  duplicate: boolean;
  /** A late alert reopened a resolved incident (re-open policy): it needs a queue job again. */
  reopened: boolean;
  /** The alert raised the incident's severity: tighter SLA timers and a higher queue priority apply. */
  severityRaised?: boolean;
}
