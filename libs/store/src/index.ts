export type {
  EventStore,
  EventQuery,
  AlertQuery,
  Page,
  Incident,
  IncidentNote,
  IncidentQuery,
  RecordAlertResult,
} from './ports';
export { SqliteEventStore, ftsQuery } from './sqlite/event-store';
export { SqliteIncidentStore, IncidentNotFoundError, IncidentConflictError } from './sqlite/incident-store';
export { SqliteAuthStore, ROLES, type Role, type Principal, isRole } from './sqlite/auth-store';
export { SqliteAuditLog, type AuditEntry } from './sqlite/audit-log';
export { openControlStore, openEventStore, type ControlStore } from './sqlite/control';
export { StoreQueryError } from './sqlite/db';
export {
  SqliteReportStore,
  type ReportVersion,
  type ReportVersionKind,
  type ReportState,
  type ReportDelivery,
  type ReportAnnotation,
  type Ioc,
  type IocType,
} from './sqlite/report-store';
