import { CITYSOC_EXTENSION_ID } from './extension';
import { type SummaryCount, type SummaryItem, type SummaryOptions, buildSummaryBundle } from './summary';
import { REPORTER } from './testing/fixtures';
import { TLP_MARKING_IDS } from './tlp';
import { type StixBundle, type StixObject } from './types';

const KEY = 'summary-pseudonym-key-0123456789';
const FIN = { id: 'u-fin', name: 'Department of Finance' };
const HEALTH = { id: 'u-health', name: 'Health Department' };

function item(
  n: number,
  over: Partial<SummaryItem> & { created?: string; status?: string } = {},
): SummaryItem {
  return {
    incident: {
      id: `inc${n}`,
      severity: 'high',
      status: (over.status ?? 'new') as SummaryItem['incident']['status'],
      created_at: over.created ?? '2026-11-27T08:10:00Z',
      updated_at: '2026-11-27T08:50:00Z',
    },
    category: 'intrusion-attempts:brute-force',
    unit: FIN,
    ...over,
  };
}

const ITEMS: SummaryItem[] = [
  item(1),
  item(2),
  item(3, { status: 'closed' }),
  item(4, { unit: HEALTH, category: 'information-gathering:scanner' }),
  item(5, { created: '2026-11-27T07:00:00Z' }),
  item(6, { created: '2026-11-27T06:00:00Z', status: 'resolved' }),
  item(7, { drill: true, unit: HEALTH }),
  item(8, { reported: true, supportRequested: true }),
];

const OPTS: SummaryOptions = {
  reporter: REPORTER,
  label: 'hourly',
  period: { start: '2026-11-27T08:00:00Z', end: '2026-11-27T09:00:00Z' },
  generatedAt: '2026-11-27T09:00:05Z',
};

const reportOf = (b: StixBundle): StixObject => b.objects.find((o) => o.type === 'report')!;
const countsOf = (b: StixBundle): SummaryCount[] =>
  (reportOf(b)['extensions'] as Record<string, Record<string, unknown>>)[CITYSOC_EXTENSION_ID]![
    'counts'
  ] as SummaryCount[];

describe('buildSummaryBundle', () => {
  it('counts opened and closed incidents of the period by category, severity and unit (AMBER: names, no suppression)', () => {
    const b = buildSummaryBundle(ITEMS, {}, { ...OPTS, tlp: 'amber' });
    expect(countsOf(b)).toEqual([
      {
        category: 'information-gathering:scanner',
        vn_category: 'khac',
        severity: 'high',
        unit: 'Health Department',
        opened: 1,
        closed: 0,
        support_requested: 0,
      },
      {
        category: 'intrusion-attempts:brute-force',
        vn_category: 'truy-cap-trai-phep',
        severity: 'high',
        unit: 'Department of Finance',
        opened: 4,
        closed: 2,
        support_requested: 1,
      },
    ]);
    expect(reportOf(b)['object_marking_refs']).toEqual([TLP_MARKING_IDS.amber]);
    expect(reportOf(b)['object_refs']).toHaveLength(1);
  });

  it('at TLP:GREEN, pseudonymises units and folds small cells into "suppressed"', () => {
    const b = buildSummaryBundle(ITEMS, { pseudonymKey: KEY }, OPTS);
    const wire = JSON.stringify(b);
    expect(wire).not.toContain('Department of Finance');
    expect(wire).not.toContain('Health Department');
    const counts = countsOf(b);
    expect(counts.find((c) => c.category === 'information-gathering:scanner')!.unit).toBe('suppressed');
    expect(counts.find((c) => c.category === 'intrusion-attempts:brute-force')!.unit).toMatch(
      /^unit-[0-9a-f]{8}$/,
    );
    expect(reportOf(b)['object_marking_refs']).toEqual([TLP_MARKING_IDS.green]);
  });

  it('leaves drills out, or shows them under RSIT test:test when the policy flags exercises', () => {
    expect(
      countsOf(buildSummaryBundle(ITEMS, {}, { ...OPTS, tlp: 'amber' })).some(
        (c) => c.category === 'test:test',
      ),
    ).toBe(false);
    const flagged = countsOf(
      buildSummaryBundle(ITEMS, { drills: 'flag-as-exercise' }, { ...OPTS, tlp: 'amber' }),
    );
    expect(flagged.find((c) => c.category === 'test:test')).toMatchObject({
      opened: 1,
      unit: 'Health Department',
    });
  });

  it('a recomputation is a new version of the same report', () => {
    const a = reportOf(buildSummaryBundle(ITEMS, { pseudonymKey: KEY }, OPTS));
    const b = reportOf(
      buildSummaryBundle(ITEMS, { pseudonymKey: KEY }, { ...OPTS, generatedAt: '2026-11-27T10:00:00Z' }),
    );
    expect(b.id).toBe(a.id);
    expect([a['modified'], b['modified']]).toEqual(['2026-11-27T09:00:05.000Z', '2026-11-27T10:00:00.000Z']);
  });
});
