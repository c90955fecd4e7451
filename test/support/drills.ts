import { type DrillRunRecord } from '@citysoc/drills';

/**
 * A drill run record as the registry keeps it: running, registered at `now` by `test` (seed 1, speed 1),
 * no senders, its window open from a second before `now` for an hour. `fields` names the run and sets what
 * the test is about (senders, window, status, notify...).
 */
export function drillRunRecord(
  fields: Pick<DrillRunRecord, 'runId' | 'scenario'> & Partial<DrillRunRecord>,
  now = Date.now(),
): DrillRunRecord {
  return {
    scenarioSha256: 'abc',
    syslog: [],
    exporters: [],
    window: { start: new Date(now - 1000).toISOString(), end: new Date(now + 3_600_000).toISOString() },
    status: 'running',
    registeredAt: new Date(now).toISOString(),
    registeredBy: 'test',
    seed: 1,
    speed: 1,
    updatedAt: new Date(now).toISOString(),
    ...fields,
  };
}
