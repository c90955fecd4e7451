import { foldVi, startOfDayHcm } from '../incident-queue-port';
import { groupSql, queueWhere } from './incident-queue';

describe('foldVi', () => {
  it.each([
    ['Phường Hoàn Kiếm', 'phuong hoan kiem'],
    ['Đăng nhập thất bại', 'dang nhap that bai'],
    ['ĐỐNG ĐA', 'dong da'],
    ['plain ascii', 'plain ascii'],
  ])('%s → %s', (input, want) => expect(foldVi(input)).toBe(want));
});

describe('startOfDayHcm', () => {
  it.each([
    // 2026-11-27 16:59:59Z is 23:59:59 +07 → that day's +07 midnight is 2026-11-26T17:00Z.
    ['2026-11-27T16:59:59Z', '2026-11-26T17:00:00.000Z'],
    // One second later it is the next +07 day.
    ['2026-11-27T17:00:00Z', '2026-11-27T17:00:00.000Z'],
    ['2026-11-27T03:00:00Z', '2026-11-26T17:00:00.000Z'],
  ])('%s → %s', (now, want) => expect(new Date(startOfDayHcm(Date.parse(now))).toISOString()).toBe(want));
});

describe('queueWhere', () => {
  const ctx = {
    scope: undefined,
    me: 'an',
    now: Date.parse('2026-11-27T10:00:00Z'),
    breachingWithinMs: 1800_000,
  };

  it('scopes every view to the caller unit subtree, escaping LIKE wildcards', () => {
    const w = queueWhere({ view: 'all' }, { ...ctx, scope: 'hanoi/ba_dinh' });
    expect(w.sql).toContain("(unit_path = ? OR unit_path LIKE ? ESCAPE '\\')");
    expect(w.args).toEqual(['hanoi/ba_dinh', 'hanoi/ba\\_dinh/%']);
  });

  it.each([
    ['unclaimed', "status = 'new'", []],
    ['mine', 'assignee = ?', ['an']],
    ['breaching', '< ?', [ctx.now + 1800_000]],
    ['closed_today', 'closed_at >= ?', [Date.parse('2026-11-26T17:00:00Z')]],
  ] as const)('view %s', (view, sql, args) => {
    const w = queueWhere({ view }, ctx);
    expect(w.sql).toContain(sql);
    expect(w.args).toEqual(args);
  });

  it('folds the search words and matches an exact id', () => {
    const w = queueWhere({ view: 'open', q: 'Phường 100%' }, ctx);
    expect(w.args).toEqual([
      '%phuong 100\\%%',
      '%phuong 100\\%%',
      '%phuong 100\\%%',
      '%phuong 100\\%%',
      'Phường 100%',
    ]);
  });

  it('keeps only incidents active within the time range', () => {
    const w = queueWhere({ view: 'all', from: '2026-11-27T00:00:00Z', to: '2026-11-27T06:00:00Z' }, ctx);
    expect(w.sql).toContain('last_seen >= ?');
    expect(w.sql).toContain('first_seen < ?');
    expect(w.args).toEqual([Date.parse('2026-11-27T00:00:00Z'), Date.parse('2026-11-27T06:00:00Z')]);
  });

  it('ignores an unparseable time instead of matching everything before it', () => {
    expect(queueWhere({ view: 'all', from: 'not a time' }, ctx).args).toEqual([]);
  });
});

describe('groupSql', () => {
  it.each([
    ['unit', "COALESCE(unit_path, '')"],
    ['rule', 'json_each(incidents.rule_ids)'],
    ['tactic', "json_each(incidents.mitre, '$.tactics')"],
    ['entity', 'GROUP BY entity'],
  ] as const)('%s', (group, part) => expect(groupSql(group, '1 = 1')).toContain(part));
});
