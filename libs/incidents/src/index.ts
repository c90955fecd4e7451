export {
  INCIDENT_STATUSES,
  OPEN_STATUSES,
  type IncidentStatus,
  isIncidentStatus,
  isOpen,
  canTransition,
  assertTransition,
  TransitionError,
} from './lifecycle';
export {
  entityOf,
  groupKeyOf,
  incidentIdFor,
  joinsIncident,
  queuePriority,
  maxSeverity,
  incidentTitle,
  type OpenIncidentView,
} from './grouping';
export {
  DEFAULT_SLA,
  slaDeadlines,
  slaBreached,
  parseSlaPolicy,
  type SlaPolicy,
  type SlaKind,
  type SlaDeadline,
} from './sla';
