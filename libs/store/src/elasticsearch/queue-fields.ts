import { foldVi, OPEN_STATUSES, severityRank } from '../incident-queue-port';

// The search fields of the console queue (IncidentQueueViews, ./incident-queue.ts) on an incident document,
// computed with the other derived fields on every write (incident-docs.ts withDerived). Kept apart from
// incident-docs.ts so the queue's rules stay in one place; the input is structural to avoid an import cycle.

/** "No deadline" in QUEUE ORDER: sorts after every real one (SQLite: COALESCE(due, 9e15)). */
export const NO_DUE = 9e15;

export interface QueueFields {
  /** The deadline that matters now (acknowledge while new, resolve while open), NO_DUE when none. */
  due: number;
  severity_rank: number;
  priority: number;
  /** unit_path, '' for city-wide incidents (the unit group's key, as SQLite's COALESCE(unit_path, '')). */
  unit_key: string;
  /** Title, entity, grouping reason and unit name folded by foldVi, for the queue's word search. */
  search: string[];
  tactics: string[];
}

interface QueueFieldsSource {
  status: string;
  unit_path: string | null;
  sla?: { acknowledge_due?: number; resolve_due?: number };
  group?: {
    severity: string;
    priority: number;
    title: string;
    entity: string;
    reason: string;
    mitre: { tactics: string[] };
    unit: { name: string } | null;
  };
}

export function queueFields(d: QueueFieldsSource): QueueFields {
  const g = d.group;
  const open = (OPEN_STATUSES as readonly string[]).includes(d.status);
  const due =
    d.status === 'new'
      ? (d.sla?.acknowledge_due ?? d.sla?.resolve_due)
      : open
        ? d.sla?.resolve_due
        : undefined;
  return {
    due: due ?? NO_DUE,
    severity_rank: severityRank(g?.severity ?? 'low'),
    priority: g?.priority ?? 0,
    unit_key: d.unit_path ?? '',
    search: [g?.title ?? '', g?.entity ?? '', g?.reason ?? '', g?.unit?.name ?? ''].map(foldVi),
    tactics: g?.mitre.tactics ?? [],
  };
}

/** Their mapping, under `derived.queue` in incidentIndexTemplate (which stays `dynamic: false`). */
export const QUEUE_FIELDS_MAPPING = {
  properties: {
    due: { type: 'long' },
    severity_rank: { type: 'integer' },
    priority: { type: 'integer' },
    unit_key: { type: 'keyword' },
    // A longer value is stored but not indexed rather than rejecting the incident (as group.title).
    search: { type: 'keyword', ignore_above: 8191 },
    tactics: { type: 'keyword' },
  },
} as const;
