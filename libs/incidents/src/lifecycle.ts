/**
 * Incident lifecycle: a small state machine so every status change is checked in one place.
 *
 * new → acknowledged (claimed by a responder) → in_progress → resolved | false_positive | duplicate.
 * An acknowledged incident can be released back to `new`; an incident can be dismissed (false positive,
 * duplicate) before anyone works on it; a closed one can be reopened into `in_progress` by a person or
 * into `new` by a late alert (re-open policy, see grouping).
 */
export const INCIDENT_STATUSES = [
  'new',
  'acknowledged',
  'in_progress',
  'resolved',
  'false_positive',
  'duplicate',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export const CLOSED_STATUSES = ['resolved', 'false_positive', 'duplicate'] as const;
export type ClosedStatus = (typeof CLOSED_STATUSES)[number];

const TRANSITIONS: Record<IncidentStatus, readonly IncidentStatus[]> = {
  new: ['acknowledged', 'false_positive', 'duplicate'],
  acknowledged: ['new', 'in_progress', 'false_positive', 'duplicate'],
  in_progress: ['resolved', 'false_positive', 'duplicate'],
  resolved: ['in_progress'],
  false_positive: ['in_progress'],
  duplicate: ['in_progress'],
};

export const OPEN_STATUSES: readonly IncidentStatus[] = ['new', 'acknowledged', 'in_progress'];

/** Statuses of the first release, mapped by the append-only migration and accepted from old clients. */
export const LEGACY_STATUS: Readonly<Record<string, IncidentStatus>> = {
  claimed: 'acknowledged',
  closed: 'resolved',
};

export function isIncidentStatus(v: unknown): v is IncidentStatus {
  return typeof v === 'string' && (INCIDENT_STATUSES as readonly string[]).includes(v);
}

export function isOpen(status: IncidentStatus): boolean {
  return OPEN_STATUSES.includes(status);
}

export function isClosed(status: IncidentStatus): status is ClosedStatus {
  return (CLOSED_STATUSES as readonly string[]).includes(status);
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

/** The transition is allowed but its arguments are not (missing reason, bad duplicate target): a 400. */
export class TransitionArgumentError extends Error {
  readonly code = 'invalid_argument';
}

export function canTransition(from: IncidentStatus, to: IncidentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: IncidentStatus, to: IncidentStatus): void {
  if (!canTransition(from, to)) throw new TransitionError(from, to);
}

export interface TransitionRequest {
  from: IncidentStatus;
  to: IncidentStatus;
  /** Why; required when closing or reopening so the trail explains every verdict. */
  reason?: string;
  /** For `duplicate`: the incident this one duplicates. */
  duplicateOf?: string;
  /** The incident's own id, to refuse "duplicate of itself". */
  id: string;
}

/** Checks a transition with its arguments; the reasons a request is refused are spelled out for the caller. */
export function checkTransition(r: TransitionRequest): void {
  assertTransition(r.from, r.to);
  const needsReason = isClosed(r.to) || isClosed(r.from);
  if (needsReason && !r.reason?.trim())
    throw new TransitionArgumentError(`a reason is required to go from ${r.from} to ${r.to}`);
  if (r.to === 'duplicate') {
    if (!r.duplicateOf) throw new TransitionArgumentError('a duplicate must name the incident it duplicates');
    if (r.duplicateOf === r.id) throw new TransitionArgumentError('an incident cannot duplicate itself');
  } else if (r.duplicateOf !== undefined) {
    throw new TransitionArgumentError('duplicate_of only goes with status duplicate');
  }
}
