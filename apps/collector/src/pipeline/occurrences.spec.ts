import { eventId } from '@citysoc/ecs';
import { OccurrenceCounter } from './occurrences';

describe('OccurrenceCounter', () => {
  it('numbers identical frames from one sender 0, 1, 2 and keeps senders apart', () => {
    const c = new OccurrenceCounter();
    const f = Buffer.from('<13>Nov 27 10:00:00 h app: same');
    expect([c.idFor('10.0.0.1', f), c.idFor('10.0.0.1', f), c.idFor('10.0.0.1', f)]).toEqual([
      eventId('10.0.0.1', f, 0),
      eventId('10.0.0.1', f, 1),
      eventId('10.0.0.1', f, 2),
    ]);
    expect(c.idFor('10.0.0.2', f)).toBe(eventId('10.0.0.2', f, 0));
    expect(c.idFor('10.0.0.1', Buffer.from('other'))).toBe(eventId('10.0.0.1', Buffer.from('other'), 0));
  });

  it('forgets the oldest keys beyond its capacity', () => {
    const c = new OccurrenceCounter(2);
    c.next('1');
    c.next('2');
    c.next('3');
    expect(c.next('1')).toBe(0);
    expect(c.next('3')).toBe(1);
  });
});

describe('OccurrenceCounter generations', () => {
  it('keeps counting a key seen again while it is in the older generation', () => {
    const c = new OccurrenceCounter(4);
    c.next('a');
    c.next('a');
    c.next('b'); // 'a' and 'b' fill the first generation of two
    c.next('c'); // a new generation starts; 'a' is now in the older one
    expect(c.next('a')).toBe(2);
    c.next('d');
    c.next('e');
    c.next('f');
    // Two rotations later 'a' (moved to the newer generation when seen) has aged out too; 'f' is still known.
    expect(c.next('a')).toBe(0);
    expect(c.next('f')).toBe(1);
  });

  it('remembers at least the latest half of its capacity and forgets the oldest', () => {
    const c = new OccurrenceCounter(1000);
    for (let i = 0; i < 100_000; i++) c.next(`k${i}`);
    // The most recent half-capacity keys are always remembered …
    for (let i = 99_500; i < 100_000; i++) expect(c.next(`k${i}`)).toBe(1);
    // … and the oldest are forgotten.
    expect(c.next('k0')).toBe(0);
  });
});
