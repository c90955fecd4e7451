export interface UnitRow {
  path: string;
  name: string | null;
  incidents: number;
  open: number;
  breached: number;
}

export interface UnitNode extends UnitRow {
  /** Units below it that have incidents. */
  children: number;
}

/**
 * Rolls incident counts up the unit paths (ward → district → city), so every level can be listed with the
 * totals of its subtree. A path's own name is known only where incidents name it; parents show their slug.
 */
export function rollUp(rows: UnitRow[]): Map<string, UnitNode> {
  const nodes = new Map<string, UnitNode>();
  for (const r of rows) {
    const segs = r.path ? r.path.split('/') : [''];
    for (let k = 1; k <= segs.length; k++) {
      const p = segs.slice(0, k).join('/');
      let n = nodes.get(p);
      if (!n) nodes.set(p, (n = { path: p, name: null, incidents: 0, open: 0, breached: 0, children: 0 }));
      n.incidents += r.incidents;
      n.open += r.open;
      n.breached += r.breached;
      if (k === segs.length && r.name) n.name = r.name;
    }
  }
  for (const p of nodes.keys()) {
    const i = p.lastIndexOf('/');
    if (i > 0) {
      const parent = nodes.get(p.slice(0, i));
      if (parent) parent.children++;
    }
  }
  return nodes;
}

/** The nodes directly under `at` ('' = the top level). */
export function childrenOf(nodes: Map<string, UnitNode>, at: string): UnitNode[] {
  const depth = at ? at.split('/').length + 1 : 1;
  return [...nodes.values()].filter(
    (n) =>
      (at === '' || n.path.startsWith(`${at}/`)) && (n.path === '' ? 1 : n.path.split('/').length) === depth,
  );
}
