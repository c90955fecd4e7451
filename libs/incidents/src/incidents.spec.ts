import { type EcsEvent } from '@citysoc/ecs';
import {
  assertTransition,
  canTransition,
  entityOf,
  incidentIdFor,
  joinsIncident,
  maxSeverity,
  queuePriority,
  TransitionError,
} from './index';

const ev = (extra: Partial<EcsEvent>): EcsEvent => ({
  '@timestamp': '2026-01-01T00:00:00.000Z',
  event: { id: 'e', created: 'x' },
  ...extra,
});

describe('entityOf', () => {
  it.each([
    [
      'prefers the source address',
      ev({ source: { ip: '10.1.2.3' }, host: { hostname: 'h' } }),
      'source.ip:10.1.2.3',
    ],
    ['falls back to the host name', ev({ host: { hostname: 'web1' } }), 'host.hostname:web1'],
    ['falls back to the user', ev({ user: { name: 'root' } }), 'user.name:root'],
    ['says unknown when nothing identifies the entity', ev({}), 'unknown'],
  ])('%s', (_n, event, expected) => expect(entityOf(event)).toBe(expected));
});

describe('joinsIncident', () => {
  const open = { status: 'new' as const, firstSeenMs: 10_000, lastSeenMs: 20_000 };
  it.each([
    ['joins inside the window after the last alert', open, 25_000, true],
    ['joins a late alert from before the first one, within the window', open, 6_000, true],
    ['opens a new incident after the window', open, 30_001, false],
    [
      'opens a new incident when the old one is resolved',
      { ...open, status: 'resolved' as const },
      21_000,
      false,
    ],
    ['opens a new incident when none exists', undefined, 21_000, false],
  ])('%s', (_n, existing, t, expected) => expect(joinsIncident(existing, t, 10_000)).toBe(expected));
});

describe('ids and priorities', () => {
  it('gives the same incident id for the same group and first alert', () => {
    expect(incidentIdFor('r|e', 'a1')).toBe(incidentIdFor('r|e', 'a1'));
    expect(incidentIdFor('r|e', 'a1')).not.toBe(incidentIdFor('r|e', 'a2'));
  });
  it('orders critical before informational', () => {
    expect(queuePriority('critical')).toBeLessThan(queuePriority('high'));
    expect(queuePriority('low')).toBeLessThan(queuePriority('informational'));
    expect(maxSeverity('low', 'high')).toBe('high');
  });
});

describe('lifecycle', () => {
  it.each([
    ['new', 'claimed', true],
    ['claimed', 'resolved', true],
    ['resolved', 'closed', true],
    ['closed', 'claimed', false],
    ['new', 'closed', false],
  ] as const)('%s → %s allowed: %s', (from, to, ok) => expect(canTransition(from, to)).toBe(ok));
  it('throws a coded error on a forbidden transition', () => {
    expect(() => assertTransition('new', 'closed')).toThrow(TransitionError);
  });
});
