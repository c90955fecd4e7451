import { buildIncidentBundle } from './bundle';
import { CITYSOC_EXTENSION_ID, INCIDENT_CORE_EXTENSION_ID } from './extension';
import { REPORTER, incident, reportInput } from './testing/fixtures';
import { TLP_MARKING_IDS } from './tlp';
import { type StixBundle, type StixObject } from './types';

const POLICY = { documentationRangesInternal: false } as const;

function build(over = {}, policy: Record<string, unknown> = POLICY): StixBundle {
  const r = buildIncidentBundle(reportInput(over), policy, {
    reporter: REPORTER,
    reportNumberPrefix: 'TC-SOC',
  });
  if (!r.report) throw new Error('expected a bundle');
  return r.bundle;
}

const byType = (b: StixBundle, t: string): StixObject[] => b.objects.filter((o) => o.type === t);

describe('buildIncidentBundle', () => {
  it('produces every object the contract names', () => {
    const b = build();
    const types = new Set(b.objects.map((o) => o.type));
    for (const t of [
      'marking-definition',
      'identity',
      'extension-definition',
      'ipv4-addr',
      'domain-name',
      'indicator',
      'observed-data',
      'incident',
      'sighting',
      'relationship',
      'report',
    ])
      expect(types).toContain(t);
    const patterns = byType(b, 'indicator').map(
      (i) => `${String(i['pattern_type'])} ${String(i['pattern'])}`,
    );
    expect(patterns).toEqual(
      expect.arrayContaining([
        "stix [ipv4-addr:value = '203.0.113.45']",
        "stix [ipv4-addr:value = '198.51.100.7']",
        "stix [domain-name:value = 'scanner.bad.example.net']",
      ]),
    );
    expect(patterns.some((p) => p.startsWith('sigma title: SSH brute force'))).toBe(true);
  });

  it('marks every SDO/SRO TLP:AMBER by default and names the duty desk, not a person', () => {
    const b = build();
    for (const o of b.objects) {
      if (['marking-definition', 'extension-definition', 'ipv4-addr', 'domain-name'].includes(o.type))
        continue;
      if (o.id === byType(b, 'identity')[0]!.id) continue;
      expect(o['object_marking_refs']).toEqual([TLP_MARKING_IDS.amber]);
    }
    const soc = byType(b, 'identity').find((i) => i['contact_information'] !== undefined)!;
    expect(soc['contact_information']).toBe('soc-duty@city.example');
  });

  it('fills the Incident Core extension and ours', () => {
    const inc = byType(build(), 'incident')[0]!;
    const ext = inc['extensions'] as Record<string, Record<string, unknown>>;
    expect(ext[INCIDENT_CORE_EXTENSION_ID]).toMatchObject({
      extension_type: 'property-extension',
      determination: 'suspected',
      investigation_status: 'open',
      criticality: 75,
      incident_types: ['intrusion-attempts:brute-force'],
    });
    expect(ext[CITYSOC_EXTENSION_ID]).toMatchObject({
      report_kind: 'initial',
      vn_category: 'truy-cap-trai-phep',
      system_security_level: 3,
      affected_unit_criticality: 'high',
      handled: false,
    });
    expect(inc['labels']).toEqual([
      'rsit:intrusion-attempts="brute-force"',
      'vn-tt20:truy-cap-trai-phep',
      'severity:high',
    ]);
  });

  it('is deterministic: the same incident version gives the same bytes', () => {
    expect(JSON.stringify(build())).toBe(JSON.stringify(build()));
  });

  it('an update keeps every id and moves modified', () => {
    const v1 = build();
    const v2 = build({ incident: incident({ updated_at: '2026-11-27T09:30:00.000Z', alert_count: 500 }) });
    const ids1 = v1.objects.map((o) => o.id).sort();
    const ids2 = v2.objects.map((o) => o.id).sort();
    expect(ids2).toEqual(ids1);
    const inc1 = byType(v1, 'incident')[0]!;
    const inc2 = byType(v2, 'incident')[0]!;
    expect(inc2['created']).toBe(inc1['created']);
    expect(inc2['modified']).toBe('2026-11-27T09:30:00.000Z');
    expect(inc1['modified']).toBe('2026-11-27T08:05:00.000Z');
    expect(v2.id).not.toBe(v1.id);
  });

  it('a final report is a new report object about the same incident', () => {
    const initial = build();
    const fin = build({ incident: incident({ status: 'resolved', updated_at: '2026-11-28T10:00:00.000Z' }) });
    expect(byType(fin, 'incident')[0]!.id).toBe(byType(initial, 'incident')[0]!.id);
    expect(byType(fin, 'report')[0]!.id).not.toBe(byType(initial, 'report')[0]!.id);
    expect(byType(fin, 'report')[0]!['name']).toMatch(/^Final incident report/);
  });

  it('confidential (Mẫu 03 E8) tightens the marking to AMBER+STRICT', () => {
    const b = build({ form03: { confidential: true } });
    expect(byType(b, 'marking-definition')[0]!.id).toBe(TLP_MARKING_IDS['amber+strict']);
    expect(byType(b, 'incident')[0]!['object_marking_refs']).toEqual([TLP_MARKING_IDS['amber+strict']]);
  });

  it('drills produce nothing by default, and a flagged exercise when the policy says so', () => {
    expect(buildIncidentBundle(reportInput({ drill: true }), POLICY, { reporter: REPORTER })).toEqual({
      report: false,
      reason: 'drill',
    });
    const r = buildIncidentBundle(
      reportInput({ drill: true }),
      { ...POLICY, drills: 'flag-as-exercise' },
      { reporter: REPORTER },
    );
    if (!r.report) throw new Error('expected a bundle');
    const inc = byType(r.bundle, 'incident')[0]!;
    expect(inc['labels']).toContain('exercise');
    expect(String(inc['name'])).toContain('[EXERCISE]');
    const ext = (inc['extensions'] as Record<string, Record<string, unknown>>)[CITYSOC_EXTENSION_ID]!;
    expect(ext['exercise']).toBe(true);
  });

  it('report object_refs reference exactly the bundle content', () => {
    const b = build();
    const rep = byType(b, 'report')[0]!;
    const ids = new Set(b.objects.map((o) => o.id));
    for (const ref of rep['object_refs'] as string[]) expect(ids).toContain(ref);
  });
});
