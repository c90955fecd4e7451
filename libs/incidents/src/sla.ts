import { type Severity } from '@citysoc/ecs';

/** How long the response team has to claim and to resolve an incident of each severity (minutes). */
export type SlaPolicy = Record<
  Severity,
  { acknowledgeMinutes: number | null; resolveMinutes: number | null }
>;

/** Defaults in the spirit of the national guidance: critical within the quarter hour, low within a day. */
export const DEFAULT_SLA: SlaPolicy = {
  critical: { acknowledgeMinutes: 15, resolveMinutes: 4 * 60 },
  high: { acknowledgeMinutes: 30, resolveMinutes: 8 * 60 },
  medium: { acknowledgeMinutes: 4 * 60, resolveMinutes: 3 * 24 * 60 },
  low: { acknowledgeMinutes: 24 * 60, resolveMinutes: 7 * 24 * 60 },
  informational: { acknowledgeMinutes: null, resolveMinutes: null },
};

export type SlaKind = 'acknowledge' | 'resolve';

export interface SlaDeadline {
  kind: SlaKind;
  dueMs: number;
}

export function slaDeadlines(
  severity: Severity,
  createdMs: number,
  policy: SlaPolicy = DEFAULT_SLA,
): SlaDeadline[] {
  const p = policy[severity];
  const out: SlaDeadline[] = [];
  if (p.acknowledgeMinutes !== null)
    out.push({ kind: 'acknowledge', dueMs: createdMs + p.acknowledgeMinutes * 60_000 });
  if (p.resolveMinutes !== null) out.push({ kind: 'resolve', dueMs: createdMs + p.resolveMinutes * 60_000 });
  return out;
}

/** Whether a deadline has been missed, given the incident's status when the timer fires. */
export function slaBreached(kind: SlaKind, status: string): boolean {
  if (kind === 'acknowledge') return status === 'new';
  return status === 'new' || status === 'acknowledged' || status === 'in_progress';
}

/**
 * `CITYSOC_SLA_POLICY` format: `severity=ack/resolve` pairs in minutes, `-` for none, comma-separated,
 * e.g. `critical=15/240,high=30/480`. Unlisted severities keep their defaults.
 */
export function parseSlaPolicy(text: string, base: SlaPolicy = DEFAULT_SLA): SlaPolicy {
  const out: SlaPolicy = { ...base };
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(informational|low|medium|high|critical)=(\d+(?:\.\d+)?|-)\/(\d+(?:\.\d+)?|-)$/.exec(part);
    if (!m) throw new Error(`bad SLA entry "${part}" (expected severity=ack/resolve minutes, - for none)`);
    const num = (s: string) => (s === '-' ? null : Number(s));
    out[m[1] as Severity] = { acknowledgeMinutes: num(m[2]!), resolveMinutes: num(m[3]!) };
  }
  return out;
}
