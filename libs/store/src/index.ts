export type {
  EventStore,
  EventQuery,
  EventAggregateQuery,
  EventAggregates,
  AlertQuery,
  Page,
  Incident,
  IncidentNote,
  IncidentQuery,
  IncidentComment,
  SlaReportRow,
  RecordAlertResult,
} from './ports';
export type {
  CountRow,
  IncidentAggregates,
  IncidentDashboard,
  IncidentMitreCounts,
  RuleIncidentStats,
  SlaBreachCount,
  UnitIncidentRow,
  VolumeRow,
} from './incident-aggregates-port';
export { SqliteEventStore, ftsQuery, unitScopeJson } from './sqlite/event-store';
export {
  SqliteIncidentStore,
  REAL_INCIDENTS_SQL,
  realIncidentsSql,
  drillIncidentsSql,
} from './sqlite/incident-store';
export {
  type IncidentStore,
  IncidentNotFoundError,
  IncidentConflictError,
  inScope,
  type UnitScope,
  type TransitionInput,
  type EvidenceKind,
  type EvidencePin,
  type AlertSetSummary,
  type MergeResult,
  type SplitResult,
} from './incident-port';
export {
  type IncidentQueueViews,
  type QueueFilter,
  type QueueContext,
  type QueueView,
  type QueueGroup,
  type QueueGroupCount,
  type QueuePageResult,
  type IncidentChange,
  type IncidentActivity,
  VIEWS,
  GROUPS,
  RANK_SEVERITY,
  foldVi,
  startOfDayHcm,
} from './incident-queue-port';
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
export {
  SqliteAuditLog,
  entryHash as auditEntryHash,
  AUDIT_GENESIS,
  type AuditEntry,
  type AuditInput,
} from './sqlite/audit-log';
export {
  ElasticsearchAuditLog,
  AuditContentionError,
  AuditImportError,
  DEFAULT_AUDIT_INDEX,
  auditIndexTemplate,
  type ElasticsearchAuditLogOptions,
} from './elasticsearch/audit-log';
export {
  ElasticsearchIncidentDocs,
  applyTransition,
  DEFAULT_INCIDENT_INDEX,
  type IncidentLifecycleDoc,
  type IncidentLifecycleStore,
  type IncidentHistoryEntry,
  type ElasticsearchIncidentDocsOptions,
} from './elasticsearch/incident-docs';
export { ElasticsearchIncidentStore } from './elasticsearch/incident-store';
export {
  ElasticsearchIncidentImporter,
  migrateIncidents,
  SqliteIncidentSource,
  type MigrationCounts,
  type MigrationProgress,
  type MigrationReport,
} from './elasticsearch/migrate';
export { openControlStore, openEventStore, type ControlStore } from './sqlite/control';
export { SqliteSavedViewStore, type SavedView } from './sqlite/saved-views';
export { SqliteBulkJobStore, type BulkJob, BULK_JOB_STALE_MS } from './sqlite/bulk-jobs';
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
  logsourceToElasticsearch,
  storeBackendOptions,
  HuntError,
  type HuntRange,
  type HuntOptions,
  type HuntResult,
  type HuntMatch,
} from './hunt/retro-hunt';
export {
  openConfiguredEventStore,
  prepareEventStore,
  type EventStoreSettings,
  openIncidentStore,
  resolveIncidentStore,
  prepareIncidentStore,
  upkeepIncidentStore,
  type IncidentStoreUpkeep,
  IncidentStoreConfigError,
  type IncidentStoreSettings,
  elasticsearchClientFrom,
} from './factory';
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
