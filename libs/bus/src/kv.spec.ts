import { type JetStreamClient, type KV } from 'nats';
import { KvBuckets } from './kv';

/** A JetStream client whose `views.kv` answers from a script: the caching, not NATS, is under test. */
function scriptedJs(answers: Array<'fail' | KV>): { js: JetStreamClient; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const js = {
    views: {
      kv: (...args: unknown[]) => {
        calls.push(args);
        const a = answers.shift();
        return a === 'fail' || a === undefined ? Promise.reject(new Error('TIMEOUT')) : Promise.resolve(a);
      },
    },
  } as unknown as JetStreamClient;
  return { js, calls };
}

describe('KvBuckets', () => {
  const kv = { bucket: 'x' } as unknown as KV;

  it('opens a bucket once, reading from the stream leader', async () => {
    const { js, calls } = scriptedJs([kv]);
    const b = new KvBuckets(
      () => js,
      (n) => `p_${n}`,
    );
    expect(await b.get('drill-runs')).toBe(kv);
    expect(await b.get('drill-runs')).toBe(kv);
    expect(calls).toEqual([['p_drill-runs', expect.objectContaining({ history: 1, allow_direct: false })]]);
  });

  it('forgets a failed open, so the next request tries again', async () => {
    const { js, calls } = scriptedJs(['fail', kv]);
    const b = new KvBuckets(
      () => js,
      (n) => n,
    );
    await expect(b.get('rule-stats')).rejects.toThrow('TIMEOUT');
    expect(await b.get('rule-stats')).toBe(kv);
    expect(calls).toHaveLength(2);
  });
});
