import { type Alert, type EcsEvent } from '@citysoc/ecs';
import {
  mergedIncidentTags,
  checkMarker,
  drillRunOf,
  drillTouched,
  excludeDrills,
  incidentDrillTags,
  isDrill,
  isDrillRecord,
  markDrillEvent,
  nextIncidentTags,
  isDrillTag,
  allocationConflicts,
  drillNotifyDryRun,
  redactDrillEvent,
  normalizeFingerprint,
  type DrillAllocation,
} from './tagging';

const alloc: DrillAllocation = {
  runId: 'd-AAAA1',
  scenario: 'ssh-bruteforce-ward',
  scenarioSha256: 'x',
  syslog: [
    { transport: 'udp', address: '127.0.0.1', port: 40001 },
    { transport: 'tls', address: '127.0.0.1', port: 40002 },
  ],
  exporters: [{ address: '127.0.0.77', domain: 4242 }],
  clientCerts: ['ab'.repeat(32)],
  window: { start: '2026-11-27T03:00:00Z', end: '2026-11-27T03:30:00Z' },
};
const CERT = 'ab'.repeat(32);
const IN = Date.parse('2026-11-27T03:10:00Z');

describe('isDrillRecord', () => {
  it.each([
    ['allocated udp sender', { transport: 'udp', address: '127.0.0.1', port: 40001 }, IN, 'd-AAAA1'],
    [
      'dual-stack form of the same sender',
      { transport: 'udp', address: '::ffff:127.0.0.1', port: 40001 },
      IN,
      'd-AAAA1',
    ],
    ['same port, other transport', { transport: 'tcp', address: '127.0.0.1', port: 40001 }, IN, undefined],
    ['same port, other address', { transport: 'udp', address: '10.0.0.1', port: 40001 }, IN, undefined],
    ['other port', { transport: 'udp', address: '127.0.0.1', port: 40003 }, IN, undefined],
    ['no port known', { transport: 'udp', address: '127.0.0.1' }, IN, undefined],
    [
      'before the window',
      { transport: 'udp', address: '127.0.0.1', port: 40001 },
      Date.parse('2026-11-27T02:59:59Z'),
      undefined,
    ],
    [
      'after the window',
      { transport: 'tls', address: '127.0.0.1', port: 40002 },
      Date.parse('2026-11-27T03:30:01Z'),
      undefined,
    ],
    [
      'drill client certificate, any address and port',
      { transport: 'tls', address: '10.9.9.9', port: 51515, certSha256: CERT },
      IN,
      'd-AAAA1',
    ],
    [
      'other client certificate, unreserved port',
      { transport: 'tls', address: '127.0.0.1', port: 51515, certSha256: 'cd'.repeat(32) },
      IN,
      undefined,
    ],
    [
      'drill certificate fingerprint over plain TCP (cannot be presented there)',
      { transport: 'tcp', address: '127.0.0.1', port: 51515, certSha256: CERT },
      IN,
      undefined,
    ],
    [
      'drill client certificate after the window',
      { transport: 'tls', address: '127.0.0.1', port: 51515, certSha256: CERT },
      Date.parse('2026-11-27T03:30:01Z'),
      undefined,
    ],
    [
      'allocated exporter + domain',
      { transport: 'flow', address: '127.0.0.77', domain: 4242 },
      IN,
      'd-AAAA1',
    ],
    [
      'allocated exporter, other domain',
      { transport: 'flow', address: '127.0.0.77', domain: 1 },
      IN,
      undefined,
    ],
    [
      'real exporter with the drill domain',
      { transport: 'flow', address: '10.1.1.1', domain: 4242 },
      IN,
      undefined,
    ],
  ] as const)('%s', (_name, sender, t, expected) => {
    expect(isDrillRecord([alloc], sender, t)).toBe(expected);
  });

  it('finds nothing without allocations', () => {
    expect(isDrillRecord([], { transport: 'udp', address: '127.0.0.1', port: 40001 }, IN)).toBeUndefined();
  });

  it('allocationConflicts reports shared sender keys only when the windows overlap', () => {
    const other = { ...alloc, runId: 'd-BBBB2', syslog: [alloc.syslog[0]!], exporters: [], clientCerts: [] };
    expect(allocationConflicts(alloc, other)).toEqual(['udp 127.0.0.1:40001']);
    const later = { ...other, window: { start: '2026-11-27T04:00:00Z', end: '2026-11-27T05:00:00Z' } };
    expect(allocationConflicts(alloc, later)).toEqual([]);
    const sameCert = { ...alloc, runId: 'd-CCCC3', syslog: [], exporters: [] };
    expect(allocationConflicts(alloc, sameCert)).toEqual([`client certificate ${CERT}`]);
  });

  it.each([
    ['AB:'.repeat(31) + 'AB', 'ab'.repeat(32)],
    ['AB'.repeat(32), 'ab'.repeat(32)],
    [' ' + 'ab'.repeat(32) + '\n', 'ab'.repeat(32)],
    ['ab'.repeat(31), undefined],
    ['zz'.repeat(32), undefined],
    ['', undefined],
  ])('normalizeFingerprint(%j) = %j', (given, want) => expect(normalizeFingerprint(given)).toBe(want));
});

const baseEvent = {
  '@timestamp': '2026-11-27T03:10:00Z',
  event: { id: 'e1', created: '2026-11-27T03:10:00Z', kind: 'event', module: 'syslog' },
  message: 'x',
} as unknown as EcsEvent;

function alert(event: EcsEvent, id = 'a1'): Alert {
  return {
    id,
    '@timestamp': event['@timestamp'],
    created_at: event['@timestamp'],
    rule: { id: 'r', title: 'r', level: 'high', version: '1' },
    entity: 'source.ip:1.2.3.4',
    event_ids: [event.event.id],
    event,
  };
}

describe('drill marker and the shared isDrill filter', () => {
  const drillEvent = markDrillEvent(baseEvent, 'd-AAAA1');

  it('marks a copy with labels.drill and the drill tag, once', () => {
    expect(drillEvent.labels).toEqual({ drill: 'd-AAAA1' });
    expect(drillEvent.tags).toEqual(['drill']);
    expect(markDrillEvent(drillEvent, 'd-AAAA1').tags).toEqual(['drill']);
    expect(baseEvent.labels).toBeUndefined();
  });

  it('events and alerts inherit the run from the event', () => {
    expect([isDrill(baseEvent), isDrill(drillEvent)]).toEqual([false, true]);
    expect([isDrill(alert(baseEvent)), drillRunOf(alert(drillEvent))]).toEqual([false, 'd-AAAA1']);
  });

  it('an incident of drill alerts is a drill; a mixed one counts as real but is still drill-touched', () => {
    const pure = { tags: incidentDrillTags([alert(drillEvent), alert(drillEvent, 'a2')]) };
    const mixed = { tags: incidentDrillTags([alert(drillEvent), alert(baseEvent, 'a2')]) };
    const real = { tags: incidentDrillTags([alert(baseEvent)]) };
    expect(pure.tags).toEqual(['drill', 'drill-run:d-AAAA1']);
    expect(mixed.tags).toEqual(['drill-mixed']);
    expect(real.tags).toEqual([]);
    expect([isDrill(pure), isDrill(mixed), isDrill(real)]).toEqual([true, false, false]);
    expect([drillTouched(pure), drillTouched(mixed), drillTouched(real)]).toEqual([true, true, false]);
    expect([pure, mixed, real].filter(excludeDrills)).toEqual([mixed, real]);
    expect(isDrill({ tags: null })).toBe(false);
  });

  it('checks the payload marker against the allocation', () => {
    const marked = {
      ...baseEvent,
      log: { syslog: { structured_data: { 'citysoc-drill@32473': { id: 'd-AAAA1' } } } },
    } as unknown as EcsEvent;
    expect(checkMarker(marked, 'd-AAAA1')).toBe('consistent');
    expect(checkMarker(marked, undefined)).toBe('forged');
    expect(checkMarker(marked, 'd-OTHER')).toBe('forged');
    expect(checkMarker(baseEvent, 'd-AAAA1')).toBe('unmarked');
    expect(checkMarker(baseEvent, undefined)).toBe('none');
  });
});

describe('nextIncidentTags (the responder keeps drill status as it groups)', () => {
  const real = alert(baseEvent);
  const runA = alert(markDrillEvent(baseEvent, 'd-AAAA1'));
  const runB = alert(markDrillEvent(baseEvent, 'd-BBBB2'));
  it.each<[string, string[], Alert, boolean, string[]]>([
    ['first real alert', [], real, true, []],
    ['first drill alert', [], runA, true, ['drill', 'drill-run:d-AAAA1']],
    ['drill joins drill', ['drill', 'drill-run:d-AAAA1'], runA, false, ['drill', 'drill-run:d-AAAA1']],
    [
      'another run joins',
      ['drill', 'drill-run:d-AAAA1'],
      runB,
      false,
      ['drill', 'drill-run:d-AAAA1', 'drill-run:d-BBBB2'],
    ],
    ['real joins drill → mixed', ['drill', 'drill-run:d-AAAA1', 'vip'], real, false, ['drill-mixed', 'vip']],
    ['drill joins real → mixed', ['vip'], runA, false, ['drill-mixed', 'vip']],
    ['mixed stays mixed', ['drill-mixed'], runA, false, ['drill-mixed']],
    ['real stays real', ['vip'], real, false, ['vip']],
  ])('%s', (_name, current, a, first, want) => {
    expect(nextIncidentTags(current, a, first)).toEqual(want);
  });

  it('mixed incidents count as real, pure drill ones do not', () => {
    expect(isDrill({ tags: nextIncidentTags(['drill', 'drill-run:d-AAAA1'], real, false) })).toBe(false);
    expect(isDrill({ tags: nextIncidentTags([], runA, true) })).toBe(true);
  });

  it.each([
    ['drill', true],
    ['drill-mixed', true],
    ['drill-run:d-X', true],
    ['drilling', false],
    ['vip', false],
  ])('isDrillTag(%s) = %s', (t, want) => expect(isDrillTag(t)).toBe(want));
});

describe('mergedIncidentTags (merging incidents keeps drill status honest)', () => {
  it.each([
    [['a'], ['b'], ['a', 'b']],
    [
      ['drill', 'drill-run:r1'],
      ['drill', 'drill-run:r2'],
      ['drill', 'drill-run:r1', 'drill-run:r2'],
    ],
    [['drill', 'drill-run:r1', 'x'], ['y'], ['drill-mixed', 'x', 'y']],
    [[], ['drill', 'drill-run:r1'], ['drill-mixed']],
    [['drill-mixed'], ['drill', 'drill-run:r1'], ['drill-mixed']],
    [['drill-mixed'], [], ['drill-mixed']],
  ])('%j + %j → %j', (a, b, want) => expect(mergedIncidentTags(a, b)).toEqual(want));
});

describe('drillNotifyDryRun (SLA notifications of drill incidents)', () => {
  const run = (notify?: 'dry-run' | 'deliver') => ({ runId: 'd-RUN00001', ...(notify ? { notify } : {}) });
  it.each<[string, string[], ReturnType<typeof run> | undefined, string | undefined]>([
    ['a real incident notifies', [], undefined, undefined],
    ['a mixed incident is real and notifies', ['drill-mixed'], run('dry-run'), undefined],
    [
      'a drill incident of a default run is a dry run',
      ['drill', 'drill-run:d-RUN00001'],
      run(),
      'drill d-RUN00001 (dry-run)',
    ],
    ['explicit dry-run', ['drill', 'drill-run:d-RUN00001'], run('dry-run'), 'drill d-RUN00001 (dry-run)'],
    ['the run opted in: sent', ['drill', 'drill-run:d-RUN00001'], run('deliver'), undefined],
    [
      'run record unknown: dry run',
      ['drill', 'drill-run:d-RUN00001'],
      undefined,
      'drill d-RUN00001 (dry-run)',
    ],
    [
      'another run opted in does not count',
      ['drill', 'drill-run:d-OTHER0001'],
      run('deliver'),
      'drill d-OTHER0001 (dry-run)',
    ],
  ])('%s', (_name, tags, rec, expected) => {
    expect(drillNotifyDryRun({ tags }, rec)).toBe(expected);
  });
});

describe('redactDrillEvent (blind mode for alerts and events)', () => {
  const base = (original: string, sd?: Record<string, unknown>): EcsEvent =>
    ({
      '@timestamp': '2026-11-27T03:00:00Z',
      event: { id: 'e1', original },
      ...(sd ? { log: { syslog: { structured_data: sd } } } : {}),
    }) as EcsEvent;
  it.each<[string, EcsEvent, Record<string, unknown>]>([
    [
      'the lone SD element becomes the NILVALUE',
      markDrillEvent(
        base('<13>1 t h app - - [citysoc-drill@32473 id="d-X1234"] msg', {
          'citysoc-drill@32473': { id: 'd-X1234' },
        }),
        'd-X1234',
      ),
      { event: { id: 'e1', original: '<13>1 t h app - - - msg' } },
    ],
    [
      'another SD element stays, with the labels and tags the event had',
      markDrillEvent(
        {
          ...base('<13>1 t h app - - [origin ip="10.0.0.1"][citysoc-drill@32473 id="d-X1234"] msg', {
            origin: { ip: '10.0.0.1' },
            'citysoc-drill@32473': { id: 'd-X1234' },
          }),
          labels: { site: 'hk' },
          tags: ['vip'],
        },
        'd-X1234',
      ),
      {
        event: { id: 'e1', original: '<13>1 t h app - - [origin ip="10.0.0.1"] msg' },
        log: { syslog: { structured_data: { origin: { ip: '10.0.0.1' } } } },
        labels: { site: 'hk' },
        tags: ['vip'],
      },
    ],
  ])('%s', (_name, input, expected) => {
    const out = redactDrillEvent(input);
    expect(JSON.stringify(out)).not.toMatch(/drill/);
    expect(out).toMatchObject(expected);
  });
  it('returns the same object when there is nothing to hide', () => {
    const e = base('<13>1 t h app - - - msg');
    expect(redactDrillEvent(e)).toBe(e);
  });
});
