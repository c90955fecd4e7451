import { buildSummaryBundle } from '../summary';
import { type StixBundle } from '../types';
import { REPORTER } from './fixtures';

export function summaryBundleFixture(): StixBundle {
  return buildSummaryBundle(
    [],
    {},
    {
      reporter: REPORTER,
      period: { start: '2026-11-26T00:00:00Z', end: '2026-11-27T00:00:00Z' },
      label: 'daily',
      generatedAt: '2026-11-27T00:15:00Z',
      tlp: 'amber',
    },
  );
}
