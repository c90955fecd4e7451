import {
  type Alert,
  type EcsEvent,
  type Severity,
  type UnitAttribution,
  getField,
  stableId,
} from '@citysoc/ecs';
import { type IncidentStatus, isOpen } from './lifecycle';

/**
 * The entity an alert is about, for grouping: the attacker-side address when there is one, else the host,
 * else the user. A stable string so it can be part of ids.
 */
export function entityOf(event: EcsEvent, fields: readonly string[] = DEFAULT_ENTITY_FIELDS): string {
  for (const path of fields) {
    const v = getField(event, path);
    if (typeof v === 'string' && v.length > 0) return `${path}:${v}`;
  }
  return 'unknown';
}

export const DEFAULT_ENTITY_FIELDS = ['source.ip', 'host.hostname', 'host.name', 'user.name'] as const;

export const GROUP_KEYS = ['rule', 'entity', 'unit'] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/**
 * What to do with a late alert (event time within the window) whose incident is already resolved:
 * `reopen` it (back to new and into the queue), `attach` it silently to the closed incident (it is still
 * linked and counted), or open a `new` incident. False positives always attach (the verdict covers the
 * same activity); duplicates hand the alert to the incident they duplicate.
 */
export const REOPEN_POLICIES = ['reopen', 'attach', 'new'] as const;
export type ReopenPolicy = (typeof REOPEN_POLICIES)[number];

export interface GroupingPolicy {
  keys: readonly GroupKey[];
  /** ECS fields tried in order to name the entity; the detector's own entity is the fallback. */
  entityFields: readonly string[];
  windowMs: number;
  reopen: ReopenPolicy;
}

export const DEFAULT_GROUPING: GroupingPolicy = {
  keys: ['rule', 'entity'],
  entityFields: DEFAULT_ENTITY_FIELDS,
  windowMs: 15 * 60_000,
  reopen: 'reopen',
};

/**
 * `CITYSOC_GROUPING`: `;`-separated settings, e.g. `keys=entity;entity=source.ip,user.name;window=30;reopen=attach`.
 * keys: `+`-joined subset of rule, entity, unit (`entity` alone groups across rules — syslog and flow alerts
 * about one address become one incident). window in minutes. Unlisted settings keep `base`.
 */
export function parseGroupingPolicy(text: string, base: GroupingPolicy = DEFAULT_GROUPING): GroupingPolicy {
  const out: GroupingPolicy = { ...base };
  for (const part of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`bad grouping setting "${part}" (expected name=value)`);
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    switch (name) {
      case 'keys': {
        const keys = value.split('+').map((s) => s.trim());
        const bad = keys.filter((k) => !(GROUP_KEYS as readonly string[]).includes(k));
        if (bad.length || keys.length === 0)
          throw new Error(`bad grouping keys "${value}" (use rule, entity, unit joined by +)`);
        if (new Set(keys).size !== keys.length) throw new Error(`grouping key repeated in "${value}"`);
        out.keys = GROUP_KEYS.filter((k) => keys.includes(k));
        break;
      }
      case 'entity': {
        const fields = value.split(',').map((s) => s.trim());
        if (fields.some((f) => !/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/.test(f)))
          throw new Error(`bad entity fields "${value}" (ECS field names, comma-separated)`);
        out.entityFields = fields;
        break;
      }
      case 'window': {
        const n = Number(value);
        if (!Number.isFinite(n) || n <= 0 || n > 7 * 24 * 60)
          throw new Error(`bad grouping window "${value}" (minutes, 0 < window ≤ 10080)`);
        out.windowMs = Math.round(n * 60_000);
        break;
      }
      case 'reopen':
        if (!(REOPEN_POLICIES as readonly string[]).includes(value))
          throw new Error(`bad re-open policy "${value}" (use ${REOPEN_POLICIES.join(', ')})`);
        out.reopen = value as ReopenPolicy;
        break;
      default:
        throw new Error(`unknown grouping setting "${name}" (keys, entity, window, reopen)`);
    }
  }
  return out;
}

/** The unit an alert concerns: the reporting device's, else the target's, else the source's. */
export function unitOf(alert: Pick<Alert, 'event'>): UnitAttribution | undefined {
  const c = alert.event.citysoc;
  return c?.unit ?? c?.destination_unit ?? c?.source_unit;
}

export function unitPathOf(unit: UnitAttribution | undefined): string | null {
  return unit && unit.path.length > 0 ? unit.path.join('/') : null;
}

/** The entity used for grouping under `policy`: the first configured field present, else the detector's. */
export function groupingEntity(alert: Pick<Alert, 'event' | 'entity'>, policy: GroupingPolicy): string {
  const e = entityOf(alert.event, policy.entityFields);
  return e !== 'unknown' ? e : alert.entity;
}

export interface GroupDecision {
  key: string;
  entity: string;
  /** Human-readable "grouped because …" for the analyst. */
  reason: string;
}

/**
 * The group an alert belongs to and why. An alert with no identifiable entity never groups across rules
 * (every unknown-entity alert in the city would become one incident), so the rule joins the key then.
 * The default key set keeps the first release's key format, so open incidents keep grouping after upgrade.
 */
export function groupOf(
  alert: Pick<Alert, 'rule' | 'entity' | 'event'>,
  policy: GroupingPolicy,
): GroupDecision {
  const entity = groupingEntity(alert, policy);
  const keys = new Set<GroupKey>(policy.keys);
  if (keys.has('entity') && entity === 'unknown') keys.add('rule');
  const unit = unitOf(alert);
  const unitPath = unitPathOf(unit);
  const parts: string[] = [];
  if (keys.has('rule')) parts.push(`rule=${alert.rule.id}`);
  if (keys.has('entity')) parts.push(`entity=${entity}`);
  if (keys.has('unit')) parts.push(`unit=${unitPath ?? '-'}`);
  const legacy = keys.size === 2 && keys.has('rule') && keys.has('entity');
  const key = legacy ? `${alert.rule.id}|${entity}` : parts.join('|');

  const windowMin = Math.round((policy.windowMs / 60_000) * 100) / 100;
  const of = keys.has('rule') ? `of rule "${alert.rule.title}" (${alert.rule.id})` : 'of any rule';
  const about = keys.has('entity') ? ` about ${entity}` : '';
  const inUnit = keys.has('unit') ? (unit ? ` in ${unit.name} (${unitPath})` : ' with no known unit') : '';
  const cross = keys.has('rule') ? '' : ' (grouped across rules and sources, syslog and flow alike)';
  const reason = `Alerts ${of}${about}${inUnit} within ${windowMin} min of each other are one incident${cross}.`;
  return { key, entity, reason };
}

/** Kept for callers of the first release: the default rule + entity key. */
export function groupKeyOf(alert: Pick<Alert, 'rule' | 'entity'>): string {
  return `${alert.rule.id}|${alert.entity}`;
}

/** Derived from the group and the alert that opened it, so replays recreate the same incident id. */
export function incidentIdFor(groupKey: string, firstAlertId: string): string {
  return stableId('in', groupKey, firstAlertId);
}

export interface OpenIncidentView {
  status: IncidentStatus;
  firstSeenMs: number;
  lastSeenMs: number;
}

/**
 * An alert joins the group's incident while that incident is open and the alert falls within the window
 * of its activity (on event time, either side, so late alerts still join); otherwise it opens a new one.
 */
export function joinsIncident(
  existing: OpenIncidentView | undefined,
  alertTimeMs: number,
  windowMs: number,
): boolean {
  return placeAlert(existing, alertTimeMs, windowMs, 'new') === 'join';
}

export type Placement = 'join' | 'reopen' | 'attach' | 'follow_duplicate' | 'open';

/** Where an alert goes given the latest incident of its group (see ReopenPolicy). */
export function placeAlert(
  existing: OpenIncidentView | undefined,
  alertTimeMs: number,
  windowMs: number,
  reopen: ReopenPolicy,
): Placement {
  if (!existing) return 'open';
  const inWindow =
    alertTimeMs >= existing.firstSeenMs - windowMs && alertTimeMs <= existing.lastSeenMs + windowMs;
  if (!inWindow) return 'open';
  if (isOpen(existing.status)) return 'join';
  if (existing.status === 'false_positive') return 'attach';
  if (existing.status === 'duplicate') return 'follow_duplicate';
  return reopen === 'new' ? 'open' : reopen;
}

const SEVERITY_WEIGHT: Record<Severity, number> = {
  informational: 1,
  low: 2,
  medium: 3,
  high: 4,
  critical: 5,
};
const CRITICALITY_WEIGHT: Record<UnitAttribution['criticality'], number> = {
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};
const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, informational: 0 };

/**
 * Priority score = severity weight (1–5) × unit criticality weight (1–4), 1–20, higher is more urgent. An
 * incident with no known unit counts as medium criticality, neither hidden nor favoured.
 */
export function priorityScore(
  severity: Severity,
  criticality: UnitAttribution['criticality'] | null | undefined,
): number {
  return SEVERITY_WEIGHT[severity] * CRITICALITY_WEIGHT[criticality ?? 'medium'];
}

export const MAX_PRIORITY_SCORE = 20;

/** BullMQ priority (lower runs first, 1 is the front of the queue, kept for escalation). */
export function queuePriority(
  severity: Severity,
  criticality?: UnitAttribution['criticality'] | null,
): number {
  return MAX_PRIORITY_SCORE + 2 - priorityScore(severity, criticality);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

export function incidentTitle(alert: Pick<Alert, 'rule'>, entity: string): string {
  const shown = entity === 'unknown' ? '' : ` — ${entity.replace(/^[^:]+:/, '')}`;
  return `${alert.rule.title}${shown}`;
}

export interface Mitre {
  tactics: string[];
  techniques: string[];
}

/** ATT&CK tactics and techniques from Sigma tags (`attack.credential-access`, `attack.t1110.001`). */
export function mitreFromTags(tags: readonly string[] | undefined): Mitre {
  const tactics = new Set<string>();
  const techniques = new Set<string>();
  for (const raw of tags ?? []) {
    const tag = raw.toLowerCase();
    if (!tag.startsWith('attack.')) continue;
    const rest = tag.slice(7);
    const t = /^t(\d{4})(?:\.(\d{3}))?$/.exec(rest);
    if (t) techniques.add(`T${t[1]}${t[2] ? `.${t[2]}` : ''}`);
    else if (/^[a-z][a-z-_]+$/.test(rest) && !/^g\d+|^s\d+/.test(rest)) tactics.add(rest.replace(/_/g, '-'));
  }
  return { tactics: [...tactics].sort(), techniques: [...techniques].sort() };
}

export function mergeMitre(a: Mitre, b: Mitre): Mitre {
  return {
    tactics: [...new Set([...a.tactics, ...b.tactics])].sort(),
    techniques: [...new Set([...a.techniques, ...b.techniques])].sort(),
  };
}

/**
 * The same policy as a YAML document (`CITYSOC_GROUPING_FILE`), e.g.
 * `{keys: [entity], entity: [source.ip, user.name], window_minutes: 30, reopen: attach}`; it is turned into
 * the `CITYSOC_GROUPING` form so both are validated by one parser.
 */
export function groupingSpecFromObject(doc: unknown): string {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('a grouping policy must be a mapping (keys, entity, window_minutes, reopen)');
  const parts: string[] = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const list = (x: unknown, name: string): string[] => {
      if (!Array.isArray(x) || x.some((s) => typeof s !== 'string'))
        throw new Error(`${name} must be a list of strings`);
      return x as string[];
    };
    if (k === 'keys') parts.push(`keys=${list(v, 'keys').join('+')}`);
    else if (k === 'entity') parts.push(`entity=${list(v, 'entity').join(',')}`);
    else if (k === 'window_minutes') {
      if (typeof v !== 'number') throw new Error('window_minutes must be a number');
      parts.push(`window=${v}`);
    } else if (k === 'reopen') {
      if (typeof v !== 'string') throw new Error('reopen must be a string');
      parts.push(`reopen=${v}`);
    } else throw new Error(`unknown grouping setting "${k}" (keys, entity, window_minutes, reopen)`);
  }
  for (const p of parts) if (p.includes(';')) throw new Error(`bad grouping setting "${p}"`);
  return parts.join(';');
}
