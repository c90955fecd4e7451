export type {
  EventStore,
  EventQuery,
  AlertQuery,
  Page,
  Incident,
  IncidentNote,
  IncidentQuery,
  IncidentComment,
  SlaReportRow,
  RecordAlertResult,
} from './ports';
export { SqliteEventStore, ftsQuery, unitScopeJson } from './sqlite/event-store';
export {
  SqliteIncidentStore,
  IncidentNotFoundError,
  IncidentConflictError,
  inScope,
  type UnitScope,
  type TransitionInput,
} from './sqlite/incident-store';
export {
  SqliteAuthStore,
  ROLES,
  type Role,
  type Principal,
  isRole,
  hashPassword,
  verifyPassword,
  SCRYPT_PARAMS,
  USERNAME_PATTERN,
  UNIT_PATH_PATTERN,
  MIN_PASSWORD_LENGTH,
  UserExistsError,
  InvalidUserError,
  type LoginPolicy,
  type LoginResult,
  type UserView,
} from './sqlite/auth-store';
export { SqliteAuditLog, type AuditEntry } from './sqlite/audit-log';
export { openControlStore, openEventStore, type ControlStore } from './sqlite/control';
export { StoreQueryError } from './sqlite/db';
