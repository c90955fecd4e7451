import { type EcsEvent } from './event';

export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function isSeverity(v: unknown): v is Severity {
  return typeof v === 'string' && (SEVERITIES as readonly string[]).includes(v);
}

/** What the detector publishes on ALERTS. Self-contained: the matched event travels with the alert. */
export interface Alert {
  id: string;
  '@timestamp': string;
  created_at: string;
  rule: {
    id: string;
    title: string;
    level: Severity;
    version: string;
    description?: string;
    author?: string;
    license?: string;
    references?: string[];
    tags?: string[];
    path?: string;
  };
  /** Entity the alert is about, used for grouping (`source.ip:10.1.2.3`, `host.hostname:web1`). */
  entity: string;
  event_ids: string[];
  event: EcsEvent;
  /** Field paths and values that made the rule match, for "why did this fire". */
  matched_fields?: Record<string, unknown>;
}
