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
export type { RejectedDocument, WriteResult, StorageInfo } from './ports';
export {
  ElasticsearchEventStore,
  isDrillEvent,
  eventClass,
  type ElasticsearchStoreOptions,
} from './elasticsearch/event-store';
export { createElasticsearchClient, type ElasticsearchConnection } from './elasticsearch/client';
export { StoreUnavailableError, DEFAULT_BULK, type BulkSettings } from './elasticsearch/bulk';
export {
  DEFAULT_LAYOUT,
  DATA_CLASSES,
  type DataClass,
  type LayoutSettings,
  type RetentionSettings,
  dataStreamName,
  ecsFieldType,
} from './elasticsearch/templates';
export {
  retroHunt,
  storeBackendOptions,
  HuntError,
  type HuntRange,
  type HuntOptions,
  type HuntResult,
  type HuntMatch,
} from './hunt/retro-hunt';
export { openConfiguredEventStore, prepareEventStore, type EventStoreSettings } from './factory';
