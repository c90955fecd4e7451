import { createHash, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { type Db } from './db';

export const ROLES = ['analyst', 'responder', 'lead', 'admin', 'auditor', 'controller'] as const;
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

/** Local users (scrypt password hashes with their parameters), short-lived sessions, unit scope on keys. */
export const USER_MIGRATIONS = [
  `CREATE TABLE users (
     id TEXT PRIMARY KEY,
     username TEXT NOT NULL UNIQUE,
     role TEXT NOT NULL,
     unit_path TEXT,
     password_hash TEXT NOT NULL,
     password_salt TEXT NOT NULL,
     password_params TEXT NOT NULL,
     created_at TEXT NOT NULL,
     disabled_at TEXT,
     failed_logins INTEGER NOT NULL DEFAULT 0,
     locked_until INTEGER
   );
   CREATE TABLE sessions (
     token_hash TEXT PRIMARY KEY,
     user_id TEXT NOT NULL REFERENCES users (id),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     ip TEXT
   );
   CREATE INDEX sessions_expiry ON sessions (expires_at);
   ALTER TABLE api_tokens ADD COLUMN unit_path TEXT;`,
];

export interface Principal {
  id: string;
  name: string;
  role: Role;
  /** Unit subtree the principal is bound to (`hanoi/ba-dinh`); null = city-wide. */
  unit: string | null;
  kind: 'api_key' | 'session';
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** Tokens are stored as SHA-256 hashes: a copy of the database does not give anyone access. */
function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** scrypt parameters, stored with every hash so they can be raised later without breaking old passwords. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}
export const SCRYPT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1, keylen: 32 };

function scryptAsync(password: string, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      p.keylen,
      { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

export async function hashPassword(
  password: string,
  params: ScryptParams = SCRYPT_PARAMS,
): Promise<{ hash: string; salt: string; params: ScryptParams }> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return { hash: key.toString('base64'), salt: salt.toString('base64'), params };
}

export async function verifyPassword(
  password: string,
  stored: { hash: string; salt: string; params: ScryptParams },
): Promise<boolean> {
  const key = await scryptAsync(password, Buffer.from(stored.salt, 'base64'), stored.params);
  const expected = Buffer.from(stored.hash, 'base64');
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export class UserExistsError extends Error {
  readonly code = 'user_exists';
}
export class InvalidUserError extends Error {
  readonly code = 'invalid_argument';
}

export const USERNAME_PATTERN = /^[\p{L}\p{N}._@-]{1,100}$/u;
export const UNIT_PATH_PATTERN = /^[a-z0-9][a-z0-9_-]*(\/[a-z0-9][a-z0-9_-]*)*$/;
export const MIN_PASSWORD_LENGTH = 12;

export interface LoginPolicy {
  /** Consecutive failures that lock an account. */
  maxFailures: number;
  lockoutMs: number;
  sessionMs: number;
}

export type LoginResult =
  | { ok: true; token: string; expiresAt: number; principal: Principal }
  | { ok: false; reason: 'invalid_credentials' | 'locked'; lockedUntil?: number };

export interface UserView {
  id: string;
  username: string;
  role: Role;
  unit: string | null;
  created_at: string;
  disabled_at: string | null;
  locked_until: string | null;
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  unit_path: string | null;
  password_hash: string;
  password_salt: string;
  password_params: string;
  created_at: string;
  disabled_at: string | null;
  failed_logins: number;
  locked_until: number | null;
}

export class SqliteAuthStore {
  /** Verified against when the user does not exist, so a wrong name costs as much time as a wrong password. */
  private dummy?: Promise<{ hash: string; salt: string; params: ScryptParams }>;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  hasActiveAdmin(): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1")
        .get() !== undefined ||
      this.db.prepare("SELECT 1 FROM users WHERE role = 'admin' AND disabled_at IS NULL LIMIT 1").get() !==
        undefined
    );
  }

  /** Issues a new random token, or registers `presetToken` (CITYSOC_ADMIN_TOKEN at first start). */
  createToken(
    name: string,
    role: Role,
    presetToken?: string,
    unit: string | null = null,
  ): { principal: Principal; token: string } {
    const token = presetToken ?? `csk_${randomBytes(32).toString('base64url')}`;
    if (token.length < 24) throw new Error('a token must be at least 24 characters long');
    if (unit !== null && !UNIT_PATH_PATTERN.test(unit))
      throw new InvalidUserError(`invalid unit path: ${unit}`);
    const principal: Principal = { id: randomUUID(), name, role, unit, kind: 'api_key' };
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, name, role, token_hash, created_at, unit_path) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(principal.id, name, role, hashToken(token), new Date(this.now()).toISOString(), unit);
    return { principal, token };
  }

  /** API keys (`csk_…`) and session tokens (`css_…`); expired, revoked or disabled ones are refused. */
  verify(token: string): Principal | undefined {
    const hash = hashToken(token);
    if (token.startsWith('css_')) {
      const row = this.db
        .prepare(
          `SELECT u.id, u.username AS name, u.role, u.unit_path AS unit FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`,
        )
        .get(hash, this.now()) as Omit<Principal, 'kind'> | undefined;
      return row && { ...row, kind: 'session' };
    }
    const row = this.db
      .prepare(
        'SELECT id, name, role, unit_path AS unit FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL',
      )
      .get(hash) as Omit<Principal, 'kind'> | undefined;
    return row && { ...row, kind: 'api_key' };
  }

  revoke(id: string): boolean {
    return (
      this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(new Date(this.now()).toISOString(), id).changes === 1
    );
  }

  list(): Array<Omit<Principal, 'kind'> & { created_at: string; revoked_at: string | null }> {
    return this.db
      .prepare(
        'SELECT id, name, role, unit_path AS unit, created_at, revoked_at FROM api_tokens ORDER BY created_at',
      )
      .all() as Array<Omit<Principal, 'kind'> & { created_at: string; revoked_at: string | null }>;
  }

  async createUser(input: {
    username: string;
    password: string;
    role: Role;
    unit?: string | null;
  }): Promise<UserView> {
    if (!USERNAME_PATTERN.test(input.username)) throw new InvalidUserError('invalid username');
    if (input.password.length < MIN_PASSWORD_LENGTH)
      throw new InvalidUserError(`a password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
    if (!isRole(input.role)) throw new InvalidUserError(`invalid role: ${String(input.role)}`);
    const unit = input.unit ?? null;
    if (unit !== null && !UNIT_PATH_PATTERN.test(unit))
      throw new InvalidUserError(`invalid unit path: ${unit}`);
    if (this.db.prepare('SELECT 1 FROM users WHERE username = ?').get(input.username))
      throw new UserExistsError(`user ${input.username} exists`);
    const h = await hashPassword(input.password);
    const id = randomUUID();
    try {
      this.db
        .prepare(
          `INSERT INTO users (id, username, role, unit_path, password_hash, password_salt, password_params, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.username,
          input.role,
          unit,
          h.hash,
          h.salt,
          JSON.stringify(h.params),
          new Date(this.now()).toISOString(),
        );
    } catch (err) {
      // Two creations of one name raced past the check above; the UNIQUE constraint decides.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new UserExistsError(`user ${input.username} exists`);
      throw err;
    }
    return this.getUser(id)!;
  }

  getUser(id: string): UserView | undefined {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return r && userView(r);
  }

  listUsers(): UserView[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(userView);
  }

  disableUser(id: string): boolean {
    const tx = this.db.transaction(() => {
      const n = this.db
        .prepare('UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL')
        .run(new Date(this.now()).toISOString(), id).changes;
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(id);
      return n === 1;
    });
    return tx.immediate();
  }

  /** Checks a user's current password (self-service change); a disabled user never passes. */
  async checkPassword(id: string, password: string): Promise<boolean> {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    if (!row || row.disabled_at !== null) return false;
    return verifyPassword(password, {
      hash: row.password_hash,
      salt: row.password_salt,
      params: JSON.parse(row.password_params) as ScryptParams,
    });
  }

  /**
   * Sets a new password and ends the user's sessions — all of them after an admin reset, all but the
   * caller's own (`keepToken`) after a self-service change — so a leaked password stops working everywhere.
   */
  async setPassword(id: string, password: string, keepToken?: string): Promise<boolean> {
    if (password.length < MIN_PASSWORD_LENGTH)
      throw new InvalidUserError(`a password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
    const h = await hashPassword(password);
    const tx = this.db.transaction(() => {
      const n = this.db
        .prepare(
          `UPDATE users SET password_hash = ?, password_salt = ?, password_params = ?, failed_logins = 0,
             locked_until = NULL WHERE id = ? AND disabled_at IS NULL`,
        )
        .run(h.hash, h.salt, JSON.stringify(h.params), id).changes;
      this.db
        .prepare('DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?')
        .run(id, keepToken === undefined ? null : hashToken(keepToken));
      return n === 1;
    });
    return tx.immediate();
  }

  /**
   * Password login. `maxFailures` consecutive failures lock the account for `lockoutMs` (stored, so a
   * restart or a second API instance does not reset it); while locked even the right password is refused.
   */
  async login(username: string, password: string, policy: LoginPolicy, ip?: string): Promise<LoginResult> {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as
      UserRow | undefined;
    if (!row || row.disabled_at !== null) {
      this.dummy ??= hashPassword('citysoc-timing-equaliser');
      await verifyPassword(password, await this.dummy);
      return { ok: false, reason: 'invalid_credentials' };
    }
    const now = this.now();
    if (row.locked_until !== null && row.locked_until > now)
      return { ok: false, reason: 'locked', lockedUntil: row.locked_until };
    const good = await verifyPassword(password, {
      hash: row.password_hash,
      salt: row.password_salt,
      params: JSON.parse(row.password_params) as ScryptParams,
    });
    const tx = this.db.transaction((): LoginResult => {
      if (!good) {
        const cur = this.db.prepare('SELECT failed_logins FROM users WHERE id = ?').get(row.id) as {
          failed_logins: number;
        };
        const failures = cur.failed_logins + 1;
        const lock = failures >= policy.maxFailures;
        this.db
          .prepare('UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?')
          .run(lock ? 0 : failures, lock ? now + policy.lockoutMs : null, row.id);
        return lock
          ? { ok: false, reason: 'locked', lockedUntil: now + policy.lockoutMs }
          : { ok: false, reason: 'invalid_credentials' };
      }
      this.db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?').run(row.id);
      this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now);
      const token = `css_${randomBytes(32).toString('base64url')}`;
      const expiresAt = now + policy.sessionMs;
      this.db
        .prepare(
          'INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ip) VALUES (?, ?, ?, ?, ?)',
        )
        .run(hashToken(token), row.id, now, expiresAt, ip ?? null);
      return {
        ok: true,
        token,
        expiresAt,
        principal: { id: row.id, name: row.username, role: row.role, unit: row.unit_path, kind: 'session' },
      };
    });
    return tx.immediate();
  }

  logout(token: string): boolean {
    return this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashToken(token)).changes === 1;
  }
}

function userView(r: UserRow): UserView {
  return {
    id: r.id,
    username: r.username,
    role: r.role,
    unit: r.unit_path,
    created_at: r.created_at,
    disabled_at: r.disabled_at,
    locked_until: r.locked_until === null ? null : new Date(r.locked_until).toISOString(),
  };
}
