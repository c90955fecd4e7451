import { AUDIT_GENESIS, type AuditEntry, type AuditInput, entryHash } from '../sqlite/audit-log';

/**
 * One behavioural contract for every audit log: SQLite (a real file), Elasticsearch through the fake
 * cluster behind `@elastic/elasticsearch-mock`, and Elasticsearch for real when ELASTICSEARCH_URL is set.
 * The SQLite log is synchronous; awaiting its results is the same as awaiting a promise of them.
 * `edit`/`remove` tamper with the stored entry behind the log's back, as an attacker with write access
 * to the storage would.
 */
export interface AuditLogLike {
  append(e: AuditInput): AuditEntry | Promise<AuditEntry>;
  list(limit?: number, beforeSeq?: number): AuditEntry[] | Promise<AuditEntry[]>;
  verify():
    | { ok: boolean; entries: number; brokenAt?: number }
    | Promise<{ ok: boolean; entries: number; brokenAt?: number }>;
}

export interface AuditLogUnderTest {
  log: AuditLogLike;
  edit(seq: number, patch: Partial<Omit<AuditEntry, 'seq'>>): Promise<void>;
  remove(seq: number): Promise<void>;
  cleanup(): Promise<void>;
}

const input = (i: number, detail: Record<string, unknown> = {}): AuditInput => ({
  actor: `user${i % 3}`,
  action: 'incident.transition',
  target: `incident/${i}`,
  outcome: i % 4 === 0 ? 'failure' : 'success',
  detail,
});

export function auditLogContract(open: () => Promise<AuditLogUnderTest>): void {
  let t: AuditLogUnderTest;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  const appendMany = async (n: number): Promise<AuditEntry[]> => {
    const out: AuditEntry[] = [];
    for (let i = 1; i <= n; i++) out.push(await t.log.append(input(i)));
    return out;
  };

  it('starts empty and verifies', async () => {
    expect(await t.log.list()).toEqual([]);
    expect(await t.log.verify()).toEqual({ ok: true, entries: 0 });
  });

  it('chains entries from the genesis hash, seq from 1', async () => {
    const [a, b, c] = await appendMany(3);
    expect([a?.seq, b?.seq, c?.seq]).toEqual([1, 2, 3]);
    expect(a?.prev_hash).toBe(AUDIT_GENESIS);
    expect(b?.prev_hash).toBe(a?.hash);
    expect(c?.prev_hash).toBe(b?.hash);
    for (const e of [a, b, c]) {
      const { hash, ...rest } = e as AuditEntry;
      expect(entryHash(rest)).toBe(hash);
    }
    expect(Date.parse(a?.at ?? '')).not.toBeNaN();
  });

  it('keeps the detail exactly (nested, unicode, empty by default)', async () => {
    const detail = { before: { status: 'new' }, after: { status: 'closed' }, note: 'Đăng nhập', n: [1, 2.5] };
    await t.log.append(input(1, detail));
    await t.log.append({ actor: 'a', action: 'x', target: 'y', outcome: 'success' });
    const [second, first] = await t.log.list();
    expect(first?.detail).toEqual(detail);
    expect(second?.detail).toEqual({});
    expect(await t.log.verify()).toEqual({ ok: true, entries: 2 });
  });

  it('lists newest first, with a limit, and pages backwards with beforeSeq', async () => {
    const all = await appendMany(7);
    expect((await t.log.list()).map((e) => e.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await t.log.list(3)).map((e) => e.seq)).toEqual([7, 6, 5]);
    expect((await t.log.list(3, 5)).map((e) => e.seq)).toEqual([4, 3, 2]);
    expect((await t.log.list(3, 2)).map((e) => e.seq)).toEqual([1]);
    expect(await t.log.list(3, 1)).toEqual([]);
    expect((await t.log.list(1))[0]).toEqual(all[6]);
  });

  it('serialises concurrent appends into one unbroken chain', async () => {
    const made = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => await t.log.append(input(i + 1))),
    );
    expect(made.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await t.log.verify()).toEqual({ ok: true, entries: 12 });
  });

  it('detects an edited entry at that entry', async () => {
    await appendMany(5);
    await t.edit(3, { actor: 'mallory' });
    expect(await t.log.verify()).toEqual({ ok: false, entries: 2, brokenAt: 3 });
  });

  it('detects an edited detail', async () => {
    await appendMany(4);
    await t.edit(2, { detail: { forged: true } });
    expect(await t.log.verify()).toEqual({ ok: false, entries: 1, brokenAt: 2 });
  });

  it('detects a re-hashed edit at the entry after it', async () => {
    const all = await appendMany(4);
    const e2 = all[1] as AuditEntry;
    const forged = { ...e2, outcome: 'failure' as const };
    const { hash: _old, ...rest } = forged;
    await t.edit(2, { outcome: 'failure', hash: entryHash(rest) });
    expect(await t.log.verify()).toEqual({ ok: false, entries: 2, brokenAt: 3 });
  });

  it('detects a deleted entry at the entry after the gap', async () => {
    await appendMany(5);
    await t.remove(2);
    expect(await t.log.verify()).toEqual({ ok: false, entries: 1, brokenAt: 3 });
  });

  it('appends after a verify, continuing the chain', async () => {
    await appendMany(2);
    expect(await t.log.verify()).toEqual({ ok: true, entries: 2 });
    const e = await t.log.append(input(3));
    expect(e.seq).toBe(3);
    expect(await t.log.verify()).toEqual({ ok: true, entries: 3 });
  });
}
