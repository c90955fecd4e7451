import { TransitionArgumentError, TransitionError } from '@citysoc/incidents';
import { IncidentConflictError, IncidentNotFoundError } from '../sqlite/incident-store';
import { ElasticsearchIncidentDocs, type IncidentLifecycleDoc } from './incident-docs';
import { FakeCluster } from './testing/fake-cluster.test';

function setup(maxAttempts?: number) {
  const fake = new FakeCluster();
  let t = 1_000;
  const docs = new ElasticsearchIncidentDocs(fake.client(), {
    now: () => (t += 1_000),
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  return { fake, docs };
}

const stored = (fake: FakeCluster, id: string) => fake.indices.get('citysoc-incidents')?.get(id);

describe('ElasticsearchIncidentDocs: lifecycle under optimistic concurrency', () => {
  it('walks new → acknowledged → in_progress → resolved → in_progress with the SQLite store rules', async () => {
    const { docs } = setup();
    await docs.create('inc-1', 'detector');
    const a = await docs.transition('inc-1', { to: 'acknowledged' }, 'alice');
    expect(a.before.status).toBe('new');
    expect(a.after).toMatchObject({ status: 'acknowledged', assignee: 'alice', acknowledged_at: 3_000 });
    const b = await docs.transition('inc-1', { to: 'in_progress' }, 'bob');
    expect(b.after).toMatchObject({ status: 'in_progress', assignee: 'alice', acknowledged_at: 3_000 });
    const c = await docs.transition('inc-1', { to: 'resolved', reason: 'patched' }, 'alice');
    expect(c.after).toMatchObject({ status: 'resolved', reason: 'patched', closed_at: 5_000 });
    const d = await docs.transition('inc-1', { to: 'in_progress', reason: 'came back' }, 'carol');
    expect(d.after).toMatchObject({
      status: 'in_progress',
      reason: null,
      closed_at: null,
      reopened_at: 6_000,
    });
    expect((await docs.get('inc-1'))?.history.map((h) => `${h.from}>${h.to}:${h.actor}`)).toEqual([
      'new>new:detector',
      'new>acknowledged:alice',
      'acknowledged>in_progress:bob',
      'in_progress>resolved:alice',
      'resolved>in_progress:carol',
    ]);
  });

  it('reads, then writes with if_seq_no/if_primary_term of that read', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'detector');
    const seqNo = stored(fake, 'inc-1')?.seqNo;
    fake.requests.length = 0;
    await docs.transition('inc-1', { to: 'false_positive', reason: 'scanner' }, 'alice');
    expect(fake.requests.map((r) => [r.method, r.path, r.querystring])).toEqual([
      ['GET', '/citysoc-incidents/_doc/inc-1', {}],
      [
        'PUT',
        '/citysoc-incidents/_doc/inc-1',
        { if_seq_no: String(seqNo), if_primary_term: '1', refresh: 'wait_for' },
      ],
    ]);
    expect(fake.requestsTo('PUT', '/citysoc-incidents/')[0]?.body).toMatchObject({
      status: 'false_positive',
      reason: 'scanner',
    });
  });

  it('creates with op_type=create: a second create of the same id is a conflict', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'detector');
    expect(fake.requests[0]?.querystring).toEqual({ op_type: 'create', refresh: 'wait_for' });
    await expect(docs.create('inc-1', 'detector')).rejects.toBeInstanceOf(IncidentConflictError);
  });

  it('a lost race is re-read and re-judged: the close that came second is refused', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'detector');
    await docs.transition('inc-1', { to: 'acknowledged' }, 'alice');
    await docs.transition('inc-1', { to: 'in_progress' }, 'alice');
    fake.beforeWrite = (index, id) => {
      // Bob resolves it between Alice's read and Alice's write.
      fake.beforeWrite = undefined;
      const cur = stored(fake, id) as unknown as { doc: IncidentLifecycleDoc; seqNo: number };
      fake.indices.get(index)?.set(id, {
        doc: { ...cur.doc, status: 'resolved', reason: 'bob fixed it' },
        seqNo: cur.seqNo + 100,
        primaryTerm: 1,
      });
      return undefined;
    };
    await expect(
      docs.transition('inc-1', { to: 'false_positive', reason: 'scanner' }, 'alice'),
    ).rejects.toBeInstanceOf(TransitionError);
    expect(docs.conflicts).toBe(1);
    expect((await docs.get('inc-1'))?.status).toBe('resolved');
  });

  it('a lost race whose transition is still allowed is applied on top of the winner', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'detector');
    fake.beforeWrite = (index, id) => {
      fake.beforeWrite = undefined;
      const cur = stored(fake, id) as unknown as { doc: IncidentLifecycleDoc; seqNo: number };
      fake.indices.get(index)?.set(id, {
        doc: { ...cur.doc, assignee: 'bob', status: 'acknowledged', acknowledged_at: 1 },
        seqNo: cur.seqNo + 100,
        primaryTerm: 1,
      });
      return undefined;
    };
    const r = await docs.transition('inc-1', { to: 'false_positive', reason: 'scanner' }, 'alice');
    expect(docs.conflicts).toBe(1);
    expect(r.before).toMatchObject({ status: 'acknowledged', assignee: 'bob' });
    expect(r.after).toMatchObject({ status: 'false_positive', assignee: 'bob', acknowledged_at: 1 });
    expect(fake.requestsTo('PUT', '/citysoc-incidents/')).toHaveLength(3);
  });

  it('gives up as a conflict after maxAttempts lost races', async () => {
    const { fake, docs } = setup(3);
    await docs.create('inc-1', 'detector');
    fake.beforeWrite = (index, id) => {
      const cur = stored(fake, id);
      if (cur) fake.indices.get(index)?.set(id, { ...cur, seqNo: cur.seqNo + 1000 });
      return undefined;
    };
    await expect(docs.transition('inc-1', { to: 'acknowledged' }, 'alice')).rejects.toBeInstanceOf(
      IncidentConflictError,
    );
    expect(docs.conflicts).toBe(3);
  });

  it('refuses an invalid transition without writing, and unknown incidents', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'detector');
    await docs.create('inc-2', 'detector');
    const before = fake.requestsTo('PUT', '/citysoc-incidents/').length;
    await expect(docs.transition('inc-1', { to: 'resolved', reason: 'x' }, 'a')).rejects.toBeInstanceOf(
      TransitionError,
    );
    await expect(docs.transition('inc-1', { to: 'false_positive' }, 'a')).rejects.toBeInstanceOf(
      TransitionArgumentError,
    );
    await expect(docs.transition('nope', { to: 'acknowledged' }, 'a')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await expect(
      docs.transition('inc-1', { to: 'duplicate', duplicateOf: 'nope', reason: 'x' }, 'a'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    expect(fake.requestsTo('PUT', '/citysoc-incidents/').length).toBe(before);
    const dup = await docs.transition(
      'inc-2',
      { to: 'duplicate', duplicateOf: 'inc-1', reason: 'same host' },
      'a',
    );
    expect(dup.after).toMatchObject({ status: 'duplicate', duplicate_of: 'inc-1' });
  });
});
