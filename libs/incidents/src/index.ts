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
