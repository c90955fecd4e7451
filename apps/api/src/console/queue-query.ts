import { type UnitScope } from '@citysoc/store';

// The queue filter and its semantics moved to the incident port (libs/store/src/incident-queue-port.ts, the
// SQL in libs/store/src/sqlite/incident-queue.ts). What is left serves the SQL views not yet behind the port.
export {
  VIEWS,
  type QueueView,
  GROUPS,
  type QueueGroup,
  type QueueFilter,
  type QueueContext,
} from '@citysoc/store';

/** The unit subtree clause (same semantics as the incident store's): a path and everything below it. */
export function scopeClause(scope: UnitScope, column = 'unit_path'): { sql: string; args: unknown[] } {
  if (scope === undefined) return { sql: '1 = 1', args: [] };
  const like = scope.replace(/[\\%_]/g, (c) => `\\${c}`) + '/%';
  return { sql: `(${column} = ? OR ${column} LIKE ? ESCAPE '\\')`, args: [scope, like] };
}

const OPEN = "status IN ('new','acknowledged','in_progress')";
/** The deadline that matters now: acknowledge while new, resolve afterwards; none once closed. */
export const DUE_SQL = `(CASE WHEN status = 'new' THEN COALESCE(json_extract(sla, '$.acknowledge_due'), json_extract(sla, '$.resolve_due'))
  WHEN ${OPEN} THEN json_extract(sla, '$.resolve_due') END)`;
