import { type Msg, type NatsConnection } from 'nats';
import { JetStreamPublisher, PublishError } from './publisher';
import { backoffMs, isRetryableBusError, retryReason, retryTransient } from './retry';

describe('retryReason', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
  it.each([
    ['a publish timeout', withCode('TIMEOUT', 'TIMEOUT'), 'timeout'],
    ['the publisher ack sweep', new PublishError('publish ack timeout', 'TIMEOUT'), 'timeout'],
    ['a JetStream request timeout', withCode('408', '408'), 'timeout'],
    ['no responders while the stream leader moves', withCode('503', '503'), 'no_responders'],
    ['no responders by message', new Error('no responders available for request'), 'no_responders'],
    ['jetstream disabled during an election', new Error('jetstream is not enabled'), 'jetstream_unavailable'],
    ['jetstream disabled, 503 code', withCode('jetstream not enabled', '503'), 'jetstream_unavailable'],
    [
      'API error 10008 in a publish ack',
      new PublishError('publish refused: JetStream system temporarily unavailable', '503'),
      'jetstream_unavailable',
    ],
    ['a closed connection', withCode('CONNECTION_CLOSED', 'CONNECTION_CLOSED'), 'connection'],
    ['a reconnecting client', withCode('DISCONNECT', 'DISCONNECT'), 'connection'],
    ['a stream without quorum', new Error('stream has no quorum'), 'leader_election'],
    ['an invalid subject', withCode('invalid subject', 'BAD_SUBJECT'), undefined],
    ['a non-error value', 'boom', undefined],
  ])('%s', (_name, err, expected) => {
    expect(retryReason(err)).toBe(expected);
    expect(isRetryableBusError(err)).toBe(expected !== undefined);
  });
});

describe('backoffMs', () => {
  it('grows with the attempt and stays under the cap', () => {
    for (let a = 0; a < 20; a++) {
      const v = backoffMs(a, 100, 5000);
      expect(v).toBeGreaterThanOrEqual(Math.min(5000, 100 * 2 ** a) / 2);
      expect(v).toBeLessThanOrEqual(5000);
    }
  });
});

/**
 * A connection whose JetStream answers with scripted acks, in order: enough to check what the publisher
 * retries, counts and gives up on without a server (the cluster faults themselves are in test/chaos).
 */
function scriptedConnection(answers: Array<{ code?: number; description?: string; body?: object }>) {
  let callback: ((err: Error | null, msg: Msg) => void) | undefined;
  const published: string[] = [];
  const nc = {
    subscribe: (_subject: string, opts: { callback: typeof callback }) => {
      callback = opts.callback;
      return { unsubscribe: () => undefined };
    },
    publish: (
      _subject: string,
      _data: Uint8Array,
      opts: { reply: string; headers: { get(k: string): string } },
    ) => {
      published.push(opts.headers.get('Nats-Msg-Id'));
      const a = answers.shift() ?? { body: { stream: 'S', seq: published.length } };
      const msg = {
        subject: opts.reply,
        data: Buffer.from(JSON.stringify(a.body ?? {})),
        headers: a.code ? { code: a.code, description: a.description ?? '' } : undefined,
      } as unknown as Msg;
      queueMicrotask(() => callback?.(null, msg));
    },
  } as unknown as NatsConnection;
  return { nc, published };
}

describe('JetStreamPublisher retries', () => {
  const out = { subject: 'events.x', data: new Uint8Array([1]), msgId: 'id-1' };

  it('retries an election (no responders, then jetstream unavailable) with the same msg id and counts it', async () => {
    const { nc, published } = scriptedConnection([
      { code: 503, description: 'No Responders' },
      {
        body: {
          error: { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' },
        },
      },
    ]);
    const reasons: string[] = [];
    const p = new JetStreamPublisher(nc, { maxAttempts: 5, onRetry: (r) => reasons.push(r) });
    try {
      const ack = await p.publish(out);
      expect(ack.seq).toBe(3);
      expect(published).toEqual(['id-1', 'id-1', 'id-1']);
      expect(reasons).toEqual(['no_responders', 'jetstream_unavailable']);
      expect(Object.fromEntries(p.retries)).toEqual({ no_responders: 1, jetstream_unavailable: 1 });
      expect(p.failures).toBe(0);
    } finally {
      p.close();
    }
  });

  it('gives up at once on a permanent refusal and counts the failure', async () => {
    const { nc, published } = scriptedConnection([
      { body: { error: { code: 400, err_code: 10060, description: 'expected stream does not match' } } },
    ]);
    const p = new JetStreamPublisher(nc, { maxAttempts: 5 });
    try {
      await expect(p.publish(out)).rejects.toThrow(/expected stream does not match/);
      expect(published).toHaveLength(1);
      expect(p.failures).toBe(1);
      expect(p.retries.size).toBe(0);
    } finally {
      p.close();
    }
  });

  it('stops after maxAttempts when the outage lasts', async () => {
    const { nc, published } = scriptedConnection(
      Array.from({ length: 10 }, () => ({ code: 503, description: 'No Responders' })),
    );
    const p = new JetStreamPublisher(nc, { maxAttempts: 3 });
    try {
      await expect(p.publish(out)).rejects.toThrow(/503/);
      expect(published).toHaveLength(3);
      expect(p.retries.get('no_responders')).toBe(2);
      expect(p.failures).toBe(1);
    } finally {
      p.close();
    }
  });
});

describe('retryTransient', () => {
  const timeout = () => Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
  const fast = { baseMs: 1, maxMs: 2 };

  it('retries a transient error until the step succeeds, telling each retry', async () => {
    let calls = 0;
    const told: string[] = [];
    const v = await retryTransient(
      'declaring the streams',
      async () => {
        if (++calls < 4) throw timeout();
        return 'ok';
      },
      { ...fast, onRetry: (step, reason, attempt) => told.push(`${step}/${reason}/${attempt}`) },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(4);
    expect(told).toEqual([1, 2, 3].map((a) => `declaring the streams/timeout/${a}`));
  });

  it('throws an error no retry can cure at once', async () => {
    let calls = 0;
    const bad = Object.assign(new Error('invalid subject'), { code: 'BAD_SUBJECT' });
    await expect(
      retryTransient(
        'x',
        async () => {
          calls++;
          throw bad;
        },
        { ...fast, onRetry: () => undefined },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  it('gives up with the last error once its time is spent', async () => {
    let t = 0;
    let calls = 0;
    const errs: Error[] = [];
    const thrown = await retryTransient(
      'x',
      async () => {
        calls++;
        t += 400; // each attempt takes 400 ms of the fake clock
        const e = timeout();
        errs.push(e);
        throw e;
      },
      { ...fast, withinMs: 1000, now: () => t, onRetry: () => undefined },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(thrown).toBe(errs[2]);
  });
});
