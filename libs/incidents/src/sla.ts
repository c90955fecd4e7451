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
  businessHours?: BusinessHours,
): SlaDeadline[] {
  const p = policy[severity];
  const bh = businessHours?.severities.includes(severity) ? businessHours : undefined;
  const due = (min: number) => (bh ? addBusinessMinutes(createdMs, min, bh) : createdMs + min * 60_000);
  const out: SlaDeadline[] = [];
  if (p.acknowledgeMinutes !== null) out.push({ kind: 'acknowledge', dueMs: due(p.acknowledgeMinutes) });
  if (p.resolveMinutes !== null) out.push({ kind: 'resolve', dueMs: due(p.resolveMinutes) });
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

/** The city-wide policy and per-unit overrides (a unit's override covers its subtree). */
export interface SlaPolicies {
  default: SlaPolicy;
  byUnit: Record<string, SlaPolicy>;
}

/**
 * `CITYSOC_SLA_POLICY` with optional unit overrides: an entry `hanoi/ba-dinh:critical=10/120` applies to that
 * unit and below, on top of the city-wide entries (which come first in effect whatever their order).
 */
export function parseSlaPolicies(text: string, base: SlaPolicy = DEFAULT_SLA): SlaPolicies {
  const plain: string[] = [];
  const perUnit = new Map<string, string[]>();
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon < 0) {
      plain.push(part);
      continue;
    }
    const unit = part.slice(0, colon);
    if (!/^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/.test(unit))
      throw new Error(`bad SLA unit "${unit}" (a unit path such as hanoi/ba-dinh)`);
    perUnit.set(unit, [...(perUnit.get(unit) ?? []), part.slice(colon + 1)]);
  }
  const def = parseSlaPolicy(plain.join(','), base);
  const byUnit: Record<string, SlaPolicy> = {};
  for (const [unit, parts] of perUnit) byUnit[unit] = parseSlaPolicy(parts.join(','), def);
  return { default: def, byUnit };
}

/** The policy of the most specific unit override covering `unitPath`, else the city-wide one. */
export function slaPolicyFor(p: SlaPolicies, unitPath: string | null | undefined): SlaPolicy {
  if (!unitPath) return p.default;
  const parts = unitPath.split('/');
  for (let n = parts.length; n > 0; n--) {
    const hit = p.byUnit[parts.slice(0, n).join('/')];
    if (hit) return hit;
  }
  return p.default;
}

/**
 * Optional business hours: SLA clocks of the listed severities run only during working time. The zone is
 * Asia/Ho_Chi_Minh, a fixed UTC+7 (Vietnam has had no daylight saving since 1975), so the arithmetic needs
 * no time-zone database.
 */
export interface BusinessHours {
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
  startMinute: number;
  endMinute: number;
  severities: Severity[];
  utcOffsetMinutes: number;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const SEVERITY_NAMES: readonly Severity[] = ['informational', 'low', 'medium', 'high', 'critical'];

/**
 * `CITYSOC_SLA_BUSINESS_HOURS`: `days=mon-fri;hours=08:00-17:00;severities=low,medium`. Empty = clocks run
 * around the clock for every severity.
 */
export function parseBusinessHours(text: string): BusinessHours | undefined {
  if (!text.trim()) return undefined;
  const out: BusinessHours = {
    days: [1, 2, 3, 4, 5],
    startMinute: 8 * 60,
    endMinute: 17 * 60,
    severities: ['low', 'medium'],
    utcOffsetMinutes: 7 * 60,
  };
  for (const part of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, value = ''] = part.split('=').map((s) => s.trim());
    if (name === 'days') {
      const days = new Set<number>();
      for (const item of value.split(',')) {
        const [a, b] = item.trim().toLowerCase().split('-');
        const from = DAY_NAMES.indexOf(a ?? '');
        const to = b === undefined ? from : DAY_NAMES.indexOf(b);
        if (from < 0 || to < 0) throw new Error(`bad business days "${value}" (e.g. mon-fri or mon,wed,fri)`);
        for (let d = from; ; d = (d + 1) % 7) {
          days.add(d);
          if (d === to) break;
        }
      }
      out.days = [...days].sort();
    } else if (name === 'hours') {
      const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(value);
      const start = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      const end = m ? Number(m[3]) * 60 + Number(m[4]) : NaN;
      if (!m || !(start < end) || end > 24 * 60)
        throw new Error(`bad business hours "${value}" (e.g. 08:00-17:00)`);
      out.startMinute = start;
      out.endMinute = end;
    } else if (name === 'severities') {
      const sev = value.split(',').map((s) => s.trim());
      if (sev.some((s) => !SEVERITY_NAMES.includes(s as Severity)))
        throw new Error(`bad business-hours severities "${value}"`);
      out.severities = sev as Severity[];
    } else {
      throw new Error(`unknown business-hours setting "${name}" (days, hours, severities)`);
    }
  }
  return out;
}

/** `startMs` plus `minutes` of working time. */
export function addBusinessMinutes(startMs: number, minutes: number, bh: BusinessHours): number {
  const off = bh.utcOffsetMinutes * 60_000;
  let local = startMs + off;
  let left = minutes * 60_000;
  for (let guard = 0; guard < 3700; guard++) {
    const dayStart = Math.floor(local / 86_400_000) * 86_400_000;
    const weekday = new Date(dayStart).getUTCDay();
    const open = dayStart + bh.startMinute * 60_000;
    const close = dayStart + bh.endMinute * 60_000;
    if (bh.days.includes(weekday) && local < close) {
      const from = Math.max(local, open);
      if (from + left <= close) return from + left - off;
      left -= close - from;
    }
    local = dayStart + 86_400_000;
  }
  throw new Error('business hours never open');
}
