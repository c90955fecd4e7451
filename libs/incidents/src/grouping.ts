import { type Alert, type EcsEvent, type Severity, getField, stableId } from '@citysoc/ecs';
import { type IncidentStatus, isOpen } from './lifecycle';

/**
 * The entity an alert is about, for grouping: the attacker-side address when there is one, else the host,
 * else the user. A stable string so it can be part of ids.
 */
export function entityOf(event: EcsEvent): string {
  for (const path of ['source.ip', 'host.hostname', 'host.name', 'user.name']) {
    const v = getField(event, path);
    if (typeof v === 'string' && v.length > 0) return `${path}:${v}`;
  }
  return 'unknown';
}

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
  if (!existing || !isOpen(existing.status)) return false;
  return alertTimeMs >= existing.firstSeenMs - windowMs && alertTimeMs <= existing.lastSeenMs + windowMs;
}

const PRIORITY: Record<Severity, number> = { critical: 1, high: 2, medium: 3, low: 4, informational: 5 };
const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, informational: 0 };

/** BullMQ priority: lower runs first. */
export function queuePriority(severity: Severity): number {
  return PRIORITY[severity];
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

export function incidentTitle(alert: Pick<Alert, 'rule' | 'entity'>): string {
  const entity = alert.entity === 'unknown' ? '' : ` — ${alert.entity.replace(/^[^:]+:/, '')}`;
  return `${alert.rule.title}${entity}`;
}
