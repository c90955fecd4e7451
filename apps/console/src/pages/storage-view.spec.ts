import { formatBytes, needsAttention, type StorageInfo, streamRows } from './storage-view';

const es: StorageInfo = {
  engine: 'elasticsearch',
  status: 'yellow',
  events: 12,
  alerts: 1,
  dataStreams: [
    {
      name: 'logs-citysoc.syslog-default',
      status: 'green',
      backingIndices: 3,
      ilmPolicy: 'citysoc-syslog',
      bytes: 3_500_000,
      docs: 12,
      writeIndex: '.ds-logs-citysoc.syslog-default-000003',
      lastRolloverAt: '2026-11-27T12:00:00.000Z',
      ilmPhase: 'hot',
      phases: { warm: 1, delete: 1, hot: 1 },
      ilmErrors: [{ index: '.ds-x-000002', failedStep: 'forcemerge', reason: 'index is read-only' }],
    },
    { name: 'logs-citysoc.alerts-default', status: 'yellow', backingIndices: 1 },
  ],
  errors: ['data stream logs-citysoc.alerts-default is yellow'],
};

describe('storage page view', () => {
  it('lists each data stream with its phases in lifecycle order and its ILM errors', () => {
    expect(streamRows(es)).toEqual([
      {
        name: 'logs-citysoc.syslog-default',
        status: 'green',
        docs: 12,
        bytes: 3_500_000,
        backingIndices: 3,
        ilmPolicy: 'citysoc-syslog',
        phase: 'hot',
        phases: 'hot 1 · warm 1 · delete 1',
        lastRolloverAt: '2026-11-27T12:00:00.000Z',
        ilmErrors: ['.ds-x-000002 (forcemerge): index is read-only'],
      },
      {
        name: 'logs-citysoc.alerts-default',
        status: 'yellow',
        docs: null,
        bytes: null,
        backingIndices: 1,
        ilmPolicy: '',
        phase: '',
        phases: '',
        lastRolloverAt: null,
        ilmErrors: [],
      },
    ]);
  });

  it('has no streams on SQLite, and flags what needs attention', () => {
    const sqlite: StorageInfo = { engine: 'sqlite', status: 'ok', events: 3, alerts: 0, bytes: 4096 };
    expect(streamRows(sqlite)).toEqual([]);
    expect(needsAttention(sqlite)).toBe(false);
    expect(needsAttention(es)).toBe(true);
    expect(needsAttention({ ...es, status: 'green', errors: [] })).toBe(false);
    expect(needsAttention({ ...es, status: 'green', errors: ['ILM explain unavailable: 403'] })).toBe(true);
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [3_500_000, '3.3 MiB'],
    [50 * 1024 ** 3, '50 GiB'],
    [null, '—'],
  ])('formats %s bytes as %s', (n, want) => expect(formatBytes(n)).toBe(want));
});
