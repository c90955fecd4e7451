import path from 'node:path';
import { BULK_JOB_MIGRATIONS, SqliteBulkJobStore } from './bulk-jobs';
import { AUDIT_MIGRATIONS, SqliteAuditLog } from './audit-log';
import { AUTH_MIGRATIONS, SqliteAuthStore, USER_MIGRATIONS } from './auth-store';
import { type Db, openDatabase } from './db';
import {
  INCIDENT_MIGRATIONS,
  INCIDENT_SLA_MIGRATIONS,
  INCIDENT_EVIDENCE_MIGRATIONS,
  INCIDENT_V2_MIGRATIONS,
  registerDrillFunction,
} from './incident-store';
import { SqliteEventStore } from './event-store';
import { REPORT_MIGRATIONS, SqliteReportStore } from './report-store';
import { SAVED_VIEW_MIGRATIONS, SqliteSavedViewStore } from './saved-views';

/** Order matters and only grows: a migration, once released, is never edited. */
const CONTROL_MIGRATIONS = [
  ...INCIDENT_MIGRATIONS,
  ...AUTH_MIGRATIONS,
  ...AUDIT_MIGRATIONS,
  ...INCIDENT_SLA_MIGRATIONS,
  ...INCIDENT_V2_MIGRATIONS,
  ...USER_MIGRATIONS,
  ...REPORT_MIGRATIONS,
  ...SAVED_VIEW_MIGRATIONS,
  ...INCIDENT_EVIDENCE_MIGRATIONS,
  ...BULK_JOB_MIGRATIONS,
];

/**
 * Incidents, tokens and the audit log share `citysoc.sqlite`; events and alerts live in `events.sqlite`,
 * so the indexer's bulk writes never wait on an analyst's status change and vice versa. Incidents are
 * not opened here: apps open them through openIncidentStore (factory.ts), which picks the configured store
 * (the SQLite one lives in this same database).
 */
export interface ControlStore {
  db: Db;
  auth: SqliteAuthStore;
  audit: SqliteAuditLog;
  reports: SqliteReportStore;
  views: SqliteSavedViewStore;
  bulkJobs: SqliteBulkJobStore;
  close(): void;
}

export function openControlStore(dataDir: string): ControlStore {
  const db = openDatabase(path.join(dataDir, 'citysoc.sqlite'), CONTROL_MIGRATIONS);
  registerDrillFunction(db);
  return {
    db,
    auth: new SqliteAuthStore(db),
    audit: new SqliteAuditLog(db),
    reports: new SqliteReportStore(db),
    views: new SqliteSavedViewStore(db),
    bulkJobs: new SqliteBulkJobStore(db),
    close: () => db.close(),
  };
}

export function openEventStore(dataDir: string): SqliteEventStore {
  return new SqliteEventStore(path.join(dataDir, 'events.sqlite'));
}
