import { scopeClause } from './incident-sql';

describe('scopeClause', () => {
  it('is city-wide without a scope', () =>
    expect(scopeClause(undefined)).toEqual({ sql: '1 = 1', args: [] }));

  it('matches the unit and below, escaping LIKE wildcards', () =>
    expect(scopeClause('hanoi/ba_dinh')).toEqual({
      sql: "(unit_path = ? OR unit_path LIKE ? ESCAPE '\\')",
      args: ['hanoi/ba_dinh', 'hanoi/ba\\_dinh/%'],
    }));
});
