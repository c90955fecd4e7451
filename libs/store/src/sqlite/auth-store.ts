import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type Db } from './db';

export const ROLES = ['analyst', 'responder', 'lead', 'admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const AUTH_MIGRATIONS = [
  `CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     created_at TEXT NOT NULL,
     revoked_at TEXT
   );`,
];

export interface Principal {
  id: string;
  name: string;
  role: Role;
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Tokens are stored as SHA-256 hashes: a copy of the database does not give anyone access. */
function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class SqliteAuthStore {
  constructor(private readonly db: Db) {}

  hasActiveAdmin(): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1")
        .get() !== undefined
    );
  }

  /** Issues a new random token, or registers `presetToken` (CITYSOC_ADMIN_TOKEN at first start). */
  createToken(name: string, role: Role, presetToken?: string): { principal: Principal; token: string } {
    const token = presetToken ?? `csk_${randomBytes(32).toString('base64url')}`;
    if (token.length < 24) throw new Error('a token must be at least 24 characters long');
    const principal: Principal = { id: randomUUID(), name, role };
    this.db
      .prepare('INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(principal.id, name, role, hashToken(token), new Date().toISOString());
    return { principal, token };
  }

  verify(token: string): Principal | undefined {
    const row = this.db
      .prepare('SELECT id, name, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL')
      .get(hashToken(token)) as Principal | undefined;
    return row;
  }

  revoke(id: string): boolean {
    return (
      this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(new Date().toISOString(), id).changes === 1
    );
  }

  list(): Array<Principal & { created_at: string; revoked_at: string | null }> {
    return this.db
      .prepare('SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at')
      .all() as Array<Principal & { created_at: string; revoked_at: string | null }>;
  }
}
