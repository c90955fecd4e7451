import { type AuditEntry } from '../sqlite/audit-log';
import { auditLogContract } from './audit-log.contract.test';
import { tempControlStore } from './sqlite-fixture.test';

const COLUMNS = new Set(['at', 'actor', 'action', 'target', 'outcome', 'detail', 'prev_hash', 'hash']);

describe('AuditLog contract: SQLite (a real file)', () => {
  auditLogContract(async () => {
    const { control, cleanup } = tempControlStore('audit-contract');
    return {
      log: control.audit,
      edit: async (seq: number, patch: Partial<Omit<AuditEntry, 'seq'>>) => {
        for (const [k, v] of Object.entries(patch)) {
          if (!COLUMNS.has(k)) throw new Error(`unknown audit column ${k}`);
          control.db
            .prepare(`UPDATE audit_log SET ${k} = ? WHERE seq = ?`)
            .run(k === 'detail' ? JSON.stringify(v) : v, seq);
        }
      },
      remove: async (seq: number) => {
        control.db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
      },
      cleanup,
    };
  });
});
