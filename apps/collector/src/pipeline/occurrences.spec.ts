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
