import { childrenOf, rollUp } from './units-tree';

const rows = [
  { path: 'hanoi/hoan-kiem/hang-bac', name: 'Phường Hàng Bạc', incidents: 3, open: 2, breached: 1 },
  { path: 'hanoi/hoan-kiem/trang-tien', name: 'Phường Tràng Tiền', incidents: 1, open: 1, breached: 0 },
  { path: 'hanoi/ba-dinh/kim-ma', name: 'Phường Kim Mã', incidents: 2, open: 0, breached: 0 },
  { path: '', name: null, incidents: 4, open: 4, breached: 0 },
];

describe('unit drill-down', () => {
  const nodes = rollUp(rows);
  it.each([
    [
      '',
      [
        ['', 4, 0],
        ['hanoi', 6, 2],
      ],
    ],
    [
      'hanoi',
      [
        ['hanoi/ba-dinh', 2, 1],
        ['hanoi/hoan-kiem', 4, 2],
      ],
    ],
    [
      'hanoi/hoan-kiem',
      [
        ['hanoi/hoan-kiem/hang-bac', 3, 0],
        ['hanoi/hoan-kiem/trang-tien', 1, 0],
      ],
    ],
    ['hanoi/hoan-kiem/hang-bac', []],
  ])('under %j: subtree totals and child counts', (at, expected) => {
    const got = childrenOf(nodes, at)
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((n) => [n.path, n.incidents, n.children]);
    expect(got).toEqual(expected);
  });

  it('keeps the names incidents give and sums open and breached', () => {
    expect(nodes.get('hanoi/hoan-kiem')).toMatchObject({ name: null, open: 3, breached: 1 });
    expect(nodes.get('hanoi/ba-dinh/kim-ma')?.name).toBe('Phường Kim Mã');
  });
});
