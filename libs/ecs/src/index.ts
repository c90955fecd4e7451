export {
  type EcsEvent,
  type EcsSyslog,
  type EcsEndpoint,
  type CitysocMeta,
  type UnitAttribution,
  getField,
} from './event';
export { stableId, eventId, alertId, correlationAlertId } from './ids';
export { type Alert, type Severity, SEVERITIES, isSeverity } from './alert';
export { facilityName, syslogSeverityName } from './severity';
