import { type Alert } from '@citysoc/ecs';
import { AlertOutbox } from './outbox';

const alert = (id: string): Alert => ({ id }) as Alert;

describe('AlertOutbox', () => {
  it('publishes a committed batch once and keeps nothing', async () => {
    const sent: string[][] = [];
    const box = new AlertOutbox(async (a) => void sent.push(a.map((x) => x.id)));
    await box.commit([alert('a1'), alert('a2')]);
    await box.flush();
    expect(sent).toEqual([['a1', 'a2']]);
    expect(box.size).toBe(0);
  });

  it('keeps the alerts when the publish fails and publishes them (same ids) at the next flush', async () => {
    const sent: string[][] = [];
    let fail = true;
    const box = new AlertOutbox(async (a) => {
      if (fail) throw new Error('no JetStream ack');
      sent.push(a.map((x) => x.id));
    });
    await expect(box.commit([alert('c1')])).rejects.toThrow(/no JetStream ack/);
    expect(box.size).toBe(1);
    fail = false;
    await box.flush();
    expect(sent).toEqual([['c1']]);
    expect(box.size).toBe(0);
  });

  it('publishes what a saved state held after a restart, before any new batch', async () => {
    const sent: string[] = [];
    const box = new AlertOutbox(async (a) => void sent.push(...a.map((x) => x.id)));
    box.restore([alert('saved-1')]);
    await box.flush();
    await box.commit([alert('next-1')]);
    expect(sent).toEqual(['saved-1', 'next-1']);
  });

  it('does not call the publisher when nothing is pending', async () => {
    let calls = 0;
    const box = new AlertOutbox(async () => void calls++);
    await box.flush();
    await box.commit([]);
    expect(calls).toBe(0);
  });
});
