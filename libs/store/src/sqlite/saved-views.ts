import { randomUUID } from 'node:crypto';
import { type Db } from './db';

export const SAVED_VIEW_MIGRATIONS = [
  `CREATE TABLE saved_views (
     id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     page TEXT NOT NULL,
     name TEXT NOT NULL,
     query TEXT NOT NULL,
     shared INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     UNIQUE (owner, page, name)
   );
   CREATE INDEX saved_views_page ON saved_views (page, shared);`,
];

/** A named console search (the page's URL query string), private to its owner unless shared. */
export interface SavedView {
  id: string;
  owner: string;
  page: string;
  name: string;
  query: string;
  shared: boolean;
  created_at: string;
}

interface Row {
  id: string;
  owner: string;
  page: string;
  name: string;
  query: string;
  shared: number;
  created_at: string;
}

const toView = (r: Row): SavedView => ({ ...r, shared: r.shared === 1 });

export class SqliteSavedViewStore {
  constructor(private readonly db: Db) {}

  /** The caller's own views of a page and those others shared, by name. */
  list(page: string, viewer: string): SavedView[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM saved_views WHERE page = ? AND (owner = ? OR shared = 1) ORDER BY name COLLATE NOCASE, owner',
        )
        .all(page, viewer) as Row[]
    ).map(toView);
  }

  get(id: string): SavedView | undefined {
    const r = this.db.prepare('SELECT * FROM saved_views WHERE id = ?').get(id) as Row | undefined;
    return r ? toView(r) : undefined;
  }

  /** Saving under a name the owner already uses on that page replaces that view (same id). */
  save(v: { owner: string; page: string; name: string; query: string; shared: boolean }): SavedView {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO saved_views (id, owner, page, name, query, shared, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (owner, page, name) DO UPDATE SET query = excluded.query, shared = excluded.shared`,
      )
      .run(randomUUID(), v.owner, v.page, v.name, v.query, v.shared ? 1 : 0, now);
    const r = this.db
      .prepare('SELECT * FROM saved_views WHERE owner = ? AND page = ? AND name = ?')
      .get(v.owner, v.page, v.name) as Row;
    return toView(r);
  }

  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM saved_views WHERE id = ?').run(id).changes === 1;
  }
}
