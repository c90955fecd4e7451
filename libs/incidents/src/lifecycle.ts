/** Incident lifecycle: a small state machine so every status change is checked in one place. */
export const INCIDENT_STATUSES = [
  'new',
  'claimed',
  'in_progress',
  'resolved',
  'false_positive',
  'closed',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

const TRANSITIONS: Record<IncidentStatus, readonly IncidentStatus[]> = {
  new: ['claimed', 'in_progress', 'false_positive', 'resolved'],
  claimed: ['new', 'in_progress', 'resolved', 'false_positive'],
  in_progress: ['claimed', 'resolved', 'false_positive'],
  resolved: ['closed', 'in_progress'],
  false_positive: ['closed', 'in_progress'],
  closed: ['in_progress'],
};

export const OPEN_STATUSES: readonly IncidentStatus[] = ['new', 'claimed', 'in_progress'];

export function isIncidentStatus(v: unknown): v is IncidentStatus {
  return typeof v === 'string' && (INCIDENT_STATUSES as readonly string[]).includes(v);
}

export function isOpen(status: IncidentStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

export class TransitionError extends Error {
  readonly code = 'invalid_transition';
  constructor(
    readonly from: IncidentStatus,
    readonly to: IncidentStatus,
  ) {
    super(`an incident cannot go from ${from} to ${to}`);
  }
}

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: IncidentStatus, to: IncidentStatus): void {
  if (!canTransition(from, to)) throw new TransitionError(from, to);
}
