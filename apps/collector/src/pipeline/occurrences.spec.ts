import { OccurrenceCounter } from './occurrences';

describe('OccurrenceCounter', () => {
  it('numbers identical frames from one sender 0, 1, 2 and keeps senders apart', () => {
    const c = new OccurrenceCounter();
    const f = Buffer.from('<13>Nov 27 10:00:00 h app: same');
    expect([c.next('10.0.0.1', f), c.next('10.0.0.1', f), c.next('10.0.0.1', f)]).toEqual([0, 1, 2]);
    expect(c.next('10.0.0.2', f)).toBe(0);
    expect(c.next('10.0.0.1', Buffer.from('other'))).toBe(0);
  });

  it('forgets the oldest keys beyond its capacity', () => {
    const c = new OccurrenceCounter(2);
    c.next('a', Buffer.from('1'));
    c.next('a', Buffer.from('2'));
    c.next('a', Buffer.from('3'));
    expect(c.next('a', Buffer.from('1'))).toBe(0);
    expect(c.next('a', Buffer.from('3'))).toBe(1);
  });
});
