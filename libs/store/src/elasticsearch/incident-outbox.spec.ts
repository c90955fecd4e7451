import { IncidentConflictError, IncidentNotFoundError } from '../sqlite/incident-store';
import { ElasticsearchAuditLog } from './audit-log';
import { ElasticsearchIncidentDocs, type IncidentLifecycleDoc } from './incident-docs';
import { FakeCluster } from './testing/fake-cluster.test';

/**
 * Human actions on incidents stored in Elasticsearch, audited through each incident document's outbox: the
 * change and its audit entry are one conditional write, the entry reaches the hash-chained audit log in a
 * second step, and a failure between the two loses nothing and duplicates nothing.
 */
function setup() {
  const fake = new FakeCluster();
  let t = 1_000;
  const audit = new ElasticsearchAuditLog(fake.client(), { now: () => new Date(t) });
  const docs = new ElasticsearchIncidentDocs(fake.client(), { audit, now: () => (t += 1_000) });
  return { fake, audit, docs };
}

const stored = (fake: FakeCluster, id: string) =>
  fake.indices.get('citysoc-incidents')?.get(id) as { doc: IncidentLifecycleDoc; seqNo: number } | undefined;

const trail = async (audit: ElasticsearchAuditLog) =>
  (await audit.list(100)).reverse().map((e) => `${e.seq} ${e.actor} ${e.action} ${e.target}`);

describe('incident actions on Elasticsearch, audited through an outbox', () => {
  it('writes the change with its audit entry in one conditional write, then drains it: exact requests', async () => {
    const { fake, docs } = setup();
    await docs.create('inc-1', 'responder', { unitPath: 'hanoi/ba-dinh' });
    const seqNo = stored(fake, 'inc-1')?.seqNo as number;
    fake.requests.length = 0;
    const r = await docs.transition('inc-1', { to: 'acknowledged' }, 'alice');
    expect(r.auditPending).toBe(0);
    const calls = fake.requests.map((q) => [q.method, q.path, q.querystring]);
    expect(calls).toEqual([
      // The audit log's last seq, before the write: where a re-drain's duplicate search starts.
      ['GET', '/citysoc-audit-head/_doc/head', {}],
      ['POST', '/citysoc-audit/_mget', {}],
      // The incident: read, then the change and its outbox entry under the read's seq_no.
      ['GET', '/citysoc-incidents/_doc/inc-1', {}],
      [
        'PUT',
        '/citysoc-incidents/_doc/inc-1',
        { if_seq_no: String(seqNo), if_primary_term: '1', refresh: 'wait_for' },
      ],
      // The drain: re-read, append (entry 1, then the head), clear the outbox under the new seq_no.
      ['GET', '/citysoc-incidents/_doc/inc-1', {}],
      ['GET', '/citysoc-audit-head/_doc/head', {}],
      ['PUT', '/citysoc-audit/_doc/1', { op_type: 'create' }],
      ['PUT', '/citysoc-audit-head/_doc/head', { op_type: 'create' }],
      ['PUT', '/citysoc-incidents/_doc/inc-1', { if_seq_no: String(seqNo + 1), if_primary_term: '1' }],
    ]);
    const change = fake.requestsTo('PUT', '/citysoc-incidents/')[0]?.body as IncidentLifecycleDoc;
    expect(change).toMatchObject({ status: 'acknowledged', assignee: 'alice' });
    expect(change.outbox).toEqual([
      {
        key: expect.stringMatching(/^[0-9a-f-]{36}$/),
        since: 0,
        input: {
          actor: 'alice',
          action: 'incident.transition',
          target: 'incident/inc-1',
          outcome: 'success',
          detail: { from: 'new', to: 'acknowledged' },
        },
      },
    ]);
    const entry = fake.requestsTo('PUT', '/citysoc-audit/_doc/1')[0]?.body as { detail: unknown };
    expect(entry.detail).toEqual({ from: 'new', to: 'acknowledged', outbox_key: change.outbox[0]?.key });
    expect(stored(fake, 'inc-1')?.doc.outbox).toEqual([]);
  });

  it('audits transitions, assignment, comments, tags and claims in order; the chain verifies', async () => {
    const { fake, audit, docs } = setup();
    await docs.create('inc-1', 'responder', { tags: ['ssh'] });
    await docs.claim('inc-1', 'alice', { token: 'tok-1', lockMs: 60_000 });
    await docs.assign('inc-1', 'bob', 'alice');
    await docs.comment('inc-1', 'bob', 'looking at the firewall logs');
    await docs.setTags('inc-1', ['brute-force'], ['ssh'], 'bob');
    await docs.transition('inc-1', { to: 'in_progress' }, 'bob');
    const r = await docs.transition('inc-1', { to: 'resolved', reason: 'blocked at the edge' }, 'bob');
    expect(r.after).toMatchObject({
      status: 'resolved',
      assignee: 'bob',
      tags: ['brute-force'],
      claim_token: null,
      claim_expires_at: null,
      comments: [{ actor: 'bob', text: 'looking at the firewall logs' }],
    });
    expect(r.after.history.map((h) => h.text)).toEqual([
      'created',
      'claimed from the queue',
      'assigned to bob (was alice)',
      'tags +brute-force -ssh',
      '',
      'blocked at the edge',
    ]);
    expect(await trail(audit)).toEqual([
      '1 alice incident.claim incident/inc-1',
      '2 alice incident.assign incident/inc-1',
      '3 bob incident.comment incident/inc-1',
      '4 bob incident.tags incident/inc-1',
      '5 bob incident.transition incident/inc-1',
      '6 bob incident.transition incident/inc-1',
    ]);
    expect(await audit.verify()).toEqual({ ok: true, entries: 6 });
    expect(stored(fake, 'inc-1')?.doc.outbox).toEqual([]);
  });

  it('an audit log outage leaves the entry in the incident; the next action drains it first, in order', async () => {
    const { fake, audit, docs } = setup();
    await docs.create('inc-1', 'responder');
    fake.beforeWrite = (index) =>
      index.startsWith('citysoc-audit')
        ? FakeCluster.error(503, 'unavailable_shards_exception', 'down')
        : undefined;
    const r = await docs.assign('inc-1', 'alice', 'lead.le');
    // The change stands, and so does its audit record, waiting in the document.
    expect(r.auditPending).toBe(1);
    expect(stored(fake, 'inc-1')?.doc).toMatchObject({
      assignee: 'alice',
      outbox: [{ input: { actor: 'lead.le' } }],
    });
    expect(await audit.list()).toEqual([]);
    fake.beforeWrite = undefined;
    await docs.comment('inc-1', 'alice', 'on it');
    expect(await trail(audit)).toEqual([
      '1 lead.le incident.assign incident/inc-1',
      '2 alice incident.comment incident/inc-1',
    ]);
    expect(stored(fake, 'inc-1')?.doc.outbox).toEqual([]);
  });

  it('a crash between appending and clearing the outbox appends nothing twice when drained again', async () => {
    const { fake, audit, docs } = setup();
    await docs.create('inc-1', 'responder');
    await docs.create('inc-2', 'responder');
    let incidentWrites = 0;
    fake.beforeWrite = (index) => {
      // The action's write goes through; the clearing write after the append fails (the writer "dies").
      if (index === 'citysoc-incidents' && ++incidentWrites === 2)
        return FakeCluster.error(500, 'node_closed_exception', 'gone');
      return undefined;
    };
    // The change stands; its entry reached the log, but the outbox says it still waits.
    const r = await docs.transition('inc-1', { to: 'acknowledged' }, 'alice');
    expect(r).toMatchObject({ after: { status: 'acknowledged' }, auditPending: 1 });
    fake.beforeWrite = undefined;
    // Someone else's action lands in the audit log in between.
    await docs.comment('inc-2', 'bob', 'unrelated');
    expect(stored(fake, 'inc-1')?.doc.outbox).toHaveLength(1);
    expect(await docs.drainPending()).toEqual({ incidents: 1, pending: 0 });
    expect(await trail(audit)).toEqual([
      '1 alice incident.transition incident/inc-1',
      '2 bob incident.comment incident/inc-2',
    ]);
    expect(stored(fake, 'inc-1')?.doc.outbox).toEqual([]);
    expect(await docs.drainPending()).toEqual({ incidents: 0, pending: 0 });
    expect(await audit.verify()).toEqual({ ok: true, entries: 2 });
  });

  it('concurrent actions on one incident all land, each audited once', async () => {
    const { fake, audit, docs } = setup();
    await docs.create('inc-1', 'responder');
    const actors = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const results = await Promise.all(actors.map((a) => docs.comment('inc-1', a, `note by ${a}`)));
    expect(results.map((r) => r.auditPending)).toEqual([0, 0, 0, 0, 0]);
    expect(
      stored(fake, 'inc-1')
        ?.doc.comments.map((c) => c.actor)
        .sort(),
    ).toEqual(actors);
    const entries = await audit.list(100);
    expect(entries.map((e) => e.actor).sort()).toEqual(actors);
    expect(new Set(entries.map((e) => e.detail['outbox_key'])).size).toBe(5);
    expect(await audit.verify()).toEqual({ ok: true, entries: 5 });
    expect(docs.conflicts).toBeGreaterThan(0);
  });

  it('keeps to the unit scope and refuses a claim someone else holds, without writing', async () => {
    const { fake, audit, docs } = setup();
    await docs.create('inc-1', 'responder', { unitPath: 'hanoi/ba-dinh' });
    await docs.create('inc-2', 'responder');
    expect(await docs.get('inc-1', 'hanoi/dong-da')).toBeUndefined();
    expect(await docs.get('inc-1', 'hanoi')).toBeDefined();
    expect(await docs.get('inc-2', 'hanoi')).toBeUndefined();
    await expect(docs.comment('inc-1', 'x', 'y', 'hanoi/dong-da')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await expect(docs.comment('inc-1', 'x', 'y', 'hanoi/ba-dinh-2')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await docs.claim('inc-1', 'alice', { token: 'tok-1', lockMs: 60_000, scope: 'hanoi/ba-dinh' });
    const writes = fake.requestsTo('PUT', '/citysoc-incidents/').length;
    await expect(docs.claim('inc-1', 'bob', { token: 'tok-2', lockMs: 60_000 })).rejects.toBeInstanceOf(
      IncidentConflictError,
    );
    expect(fake.requestsTo('PUT', '/citysoc-incidents/').length).toBe(writes);
    expect((await trail(audit)).map((l) => l.split(' ').slice(1, 3).join(' '))).toEqual([
      'alice incident.claim',
    ]);
  });
});
