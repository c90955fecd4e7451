import { TransitionArgumentError, TransitionError, type IncidentStatus } from '@citysoc/incidents';
import { IncidentConflictError, IncidentNotFoundError, type TransitionInput } from '../incident-port';

/**
 * One behavioural contract for the human actions on an incident — transitions, assignment, comments, tags —
 * with the unit scope, run on the SQLite store (the deployed one) and on the Elasticsearch incident
 * documents through the mock. The stores differ in shape (synchronous rows vs asynchronous documents), so
 * each spec adapts its store to this small asynchronous view; the behaviour asserted is the same.
 */
export interface IncidentView {
  status: IncidentStatus;
  assignee: string | null;
  reason: string | null;
  duplicate_of: string | null;
  tags: string[];
  acknowledged: boolean;
  closed: boolean;
  reopened: boolean;
}

export interface IncidentActionsUnderTest {
  /** Opens an incident (as the responder would) in this unit, or city-wide; answers its id. */
  open(name: string, unitPath: string | null): Promise<string>;
  get(id: string, scope?: string): Promise<IncidentView | undefined>;
  transition(id: string, input: TransitionInput, actor: string, scope?: string): Promise<IncidentView>;
  assign(id: string, assignee: string | null, actor: string, scope?: string): Promise<IncidentView>;
  comment(id: string, actor: string, text: string, scope?: string): Promise<void>;
  setTags(id: string, add: string[], remove: string[], actor: string, scope?: string): Promise<IncidentView>;
  comments(id: string): Promise<Array<{ actor: string; text: string }>>;
  /** History after the opening line (whose text is the grouping reason on SQLite), oldest first. */
  history(id: string): Promise<Array<{ actor: string; from: string | null; to: string; text: string }>>;
  cleanup(): Promise<void>;
}

export function incidentActionsContract(open: () => Promise<IncidentActionsUnderTest>): void {
  let s: IncidentActionsUnderTest;
  beforeEach(async () => {
    s = await open();
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('walks the lifecycle with the same fields and history', async () => {
    const id = await s.open('a', 'hanoi/ba-dinh');
    expect(await s.get(id)).toEqual({
      status: 'new',
      assignee: null,
      reason: null,
      duplicate_of: null,
      tags: [],
      acknowledged: false,
      closed: false,
      reopened: false,
    });
    expect(await s.transition(id, { to: 'acknowledged' }, 'alice')).toMatchObject({
      status: 'acknowledged',
      assignee: 'alice',
      acknowledged: true,
    });
    expect(await s.transition(id, { to: 'new' }, 'alice')).toMatchObject({ status: 'new', assignee: null });
    expect(await s.transition(id, { to: 'acknowledged' }, 'alice')).toMatchObject({ assignee: 'alice' });
    expect(await s.transition(id, { to: 'in_progress' }, 'bob')).toMatchObject({ assignee: 'alice' });
    expect(await s.transition(id, { to: 'resolved', reason: 'patched' }, 'alice')).toMatchObject({
      status: 'resolved',
      reason: 'patched',
      closed: true,
    });
    expect(await s.transition(id, { to: 'in_progress', reason: 'came back' }, 'carol')).toMatchObject({
      status: 'in_progress',
      reason: null,
      closed: false,
      reopened: true,
    });
    expect(await s.history(id)).toEqual([
      { actor: 'alice', from: 'new', to: 'acknowledged', text: '' },
      { actor: 'alice', from: 'acknowledged', to: 'new', text: 'released back to the queue' },
      { actor: 'alice', from: 'new', to: 'acknowledged', text: '' },
      { actor: 'bob', from: 'acknowledged', to: 'in_progress', text: '' },
      { actor: 'alice', from: 'in_progress', to: 'resolved', text: 'patched' },
      { actor: 'carol', from: 'resolved', to: 'in_progress', text: 'came back' },
    ]);
  });

  it('refuses what the lifecycle forbids, and marks duplicates of visible incidents only', async () => {
    const a = await s.open('a', 'hanoi/ba-dinh');
    const b = await s.open('b', 'hanoi/ba-dinh');
    const other = await s.open('c', 'hanoi/dong-da');
    await expect(s.transition(a, { to: 'resolved', reason: 'x' }, 'u')).rejects.toBeInstanceOf(
      TransitionError,
    );
    await expect(s.transition(a, { to: 'false_positive' }, 'u')).rejects.toBeInstanceOf(
      TransitionArgumentError,
    );
    await expect(s.transition('nope', { to: 'acknowledged' }, 'u')).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await expect(
      s.transition(a, { to: 'duplicate', duplicateOf: 'nope', reason: 'x' }, 'u'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    // No probing another unit's incident ids through duplicate_of.
    await expect(
      s.transition(a, { to: 'duplicate', duplicateOf: other, reason: 'x' }, 'u', 'hanoi/ba-dinh'),
    ).rejects.toBeInstanceOf(IncidentNotFoundError);
    expect((await s.get(a))?.status).toBe('new');
    expect(
      await s.transition(a, { to: 'duplicate', duplicateOf: b, reason: 'same host' }, 'u'),
    ).toMatchObject({
      status: 'duplicate',
      duplicate_of: b,
      closed: true,
    });
    expect((await s.history(a)).at(-1)).toEqual({
      actor: 'u',
      from: 'new',
      to: 'duplicate',
      text: `duplicate of ${b}: same host`,
    });
  });

  it('assigns open incidents only, comments and tags, with the same history lines', async () => {
    const id = await s.open('a', null);
    expect(await s.assign(id, 'bob', 'lead')).toMatchObject({ assignee: 'bob', status: 'new' });
    expect(await s.assign(id, 'carol', 'lead')).toMatchObject({ assignee: 'carol' });
    expect(await s.assign(id, null, 'lead')).toMatchObject({ assignee: null });
    await s.comment(id, 'bob', 'firewall logs checked');
    await s.comment(id, 'carol', 'Đã chặn địa chỉ');
    expect(await s.comments(id)).toEqual([
      { actor: 'bob', text: 'firewall logs checked' },
      { actor: 'carol', text: 'Đã chặn địa chỉ' },
    ]);
    expect(await s.setTags(id, ['ssh', 'brute-force'], [], 'bob')).toMatchObject({
      tags: ['brute-force', 'ssh'],
    });
    expect(await s.setTags(id, ['vip'], ['ssh'], 'bob')).toMatchObject({ tags: ['brute-force', 'vip'] });
    await s.transition(id, { to: 'acknowledged' }, 'bob');
    await s.transition(id, { to: 'false_positive', reason: 'scanner' }, 'bob');
    await expect(s.assign(id, 'dave', 'lead')).rejects.toBeInstanceOf(IncidentConflictError);
    expect((await s.history(id)).map((h) => `${h.actor}: ${h.text}`)).toEqual([
      'lead: assigned to bob',
      'lead: assigned to carol (was bob)',
      'lead: unassigned (was carol)',
      'bob: tags +ssh +brute-force',
      'bob: tags +vip -ssh',
      'bob: ',
      'bob: scanner',
    ]);
  });

  it('keeps every action to the unit scope: outside it an incident does not exist', async () => {
    const ward = await s.open('a', 'hanoi/ba-dinh');
    const city = await s.open('b', null);
    expect(await s.get(ward, 'hanoi')).toBeDefined();
    expect(await s.get(ward, 'hanoi/ba-dinh')).toBeDefined();
    expect(await s.get(ward, 'hanoi/ba-dinh-2')).toBeUndefined();
    expect(await s.get(ward, 'hanoi/dong-da')).toBeUndefined();
    expect(await s.get(city, 'hanoi')).toBeUndefined();
    const outside = 'hanoi/dong-da';
    await expect(s.transition(ward, { to: 'acknowledged' }, 'x', outside)).rejects.toBeInstanceOf(
      IncidentNotFoundError,
    );
    await expect(s.assign(ward, 'x', 'x', outside)).rejects.toBeInstanceOf(IncidentNotFoundError);
    await expect(s.comment(ward, 'x', 'y', outside)).rejects.toBeInstanceOf(IncidentNotFoundError);
    await expect(s.setTags(ward, ['t'], [], 'x', outside)).rejects.toBeInstanceOf(IncidentNotFoundError);
    expect(await s.get(ward)).toMatchObject({ status: 'new', assignee: null, tags: [] });
    expect(await s.comments(ward)).toEqual([]);
    expect(await s.history(ward)).toEqual([]);
    expect(await s.transition(ward, { to: 'acknowledged' }, 'x', 'hanoi/ba-dinh')).toMatchObject({
      status: 'acknowledged',
    });
  });
}
