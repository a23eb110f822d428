// Login sessions and API tokens on the embedded engine's SQLite database (tables `sessions`, `api_tokens`).
//
// Neither table holds anything that logs anyone in: a session row's id is the SHA-256 of the cookie's token
// (the token itself is only ever in the browser), an API token row holds the SHA-256 of the token's secret
// (the token text `sg_<id>_<secret>` is shown once, at creation). A token is looked up by its id and its
// secret's hash compared in constant time. Expired sessions are deleted when met and swept on each login.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  checkScopes,
  newApiToken,
  newSessionToken,
  parseApiToken,
  sha256Hex,
} from '../../functions/core/auth.js';
import { HttpError } from '../../functions/core/http-error.js';
import { isEmail } from '../../functions/core/identity.js';
import type {
  ApiTokenInfo,
  ApiTokenStore,
  SessionGrant,
  SessionInfo,
  SessionStore,
  VerifiedApiToken,
} from '../../functions/core/ports.js';
import type { Db } from './database.js';

export interface AuthStoreOptions {
  now?: () => number;
}

/** How often (at most) a session's `last_seen` is written: not on every request. */
const TOUCH_EVERY_MS = 60_000;
/** The longest session or API token text looked up at all (anything longer opens nothing). */
export const MAX_TOKEN_TEXT = 512;

interface SessionRow {
  email: string;
  csrf: string;
  expires_at: number;
  last_seen: number;
}

export class SqliteSessionStore implements SessionStore {
  private readonly sql;
  private readonly now: () => number;

  constructor(db: Db, options: AuthStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sql = {
      insert: db.prepare<[string, string, string, number, number, number]>(
        'INSERT INTO sessions (id, email, csrf, created_at, expires_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string], SessionRow>(
        'SELECT email, csrf, expires_at, last_seen FROM sessions WHERE id = ?',
      ),
      touch: db.prepare<[number, string]>('UPDATE sessions SET last_seen = ? WHERE id = ?'),
      delete: db.prepare<[string]>('DELETE FROM sessions WHERE id = ?'),
      deleteFor: db.prepare<[string]>('DELETE FROM sessions WHERE email = ?'),
      sweep: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?'),
    };
  }

  async createSession(email: string, ttlMs: number): Promise<SessionGrant> {
    if (typeof email !== 'string' || !isEmail(email)) throw new TypeError('a session belongs to an email');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`a session lasts a positive time, not ${ttlMs}`);
    const now = this.now();
    this.sql.sweep.run(now);
    const { token, id, csrf } = newSessionToken();
    const expiresAt = now + Math.floor(ttlMs);
    this.sql.insert.run(id, email.toLowerCase(), csrf, now, expiresAt, now);
    return { token, csrf, expiresAt };
  }

  async getSession(token: string): Promise<SessionInfo | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_TEXT) return null;
    const id = sha256Hex(token);
    const row = this.sql.get.get(id);
    if (row === undefined) return null;
    const now = this.now();
    if (row.expires_at <= now) {
      this.sql.delete.run(id);
      return null;
    }
    if (now - row.last_seen >= TOUCH_EVERY_MS) this.sql.touch.run(now, id);
    return { email: row.email, csrf: row.csrf, expiresAt: row.expires_at };
  }

  async deleteSession(token: string): Promise<void> {
    if (typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_TEXT)
      this.sql.delete.run(sha256Hex(token));
  }

  async deleteSessionsFor(email: string): Promise<number> {
    return this.sql.deleteFor.run(email.toLowerCase()).changes;
  }
}

interface TokenRow {
  id: string;
  hash: string;
  email: string;
  name: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const MAX_TOKEN_NAME = 100;

/** Throws HttpError 400 naming `name` when it is not an acceptable API token name. */
export function checkTokenName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > MAX_TOKEN_NAME)
    throw new HttpError(400, 'Bad Request', `a token's name is 1-${MAX_TOKEN_NAME} characters`, {
      field: 'name',
    });
}

/**
 * Whether `secret` hashes to `storedHex`, compared in constant time; with no stored hash (an unknown id) it
 * compares against a hash nothing produces, so both take the same time.
 */
export function secretMatches(storedHex: string | undefined, secret: string): boolean {
  const given = createHash('sha256').update(secret, 'utf8').digest();
  const stored = Buffer.from(storedHex ?? '0'.repeat(64), 'hex');
  const same = stored.length === given.length && timingSafeEqual(stored, given);
  return same && storedHex !== undefined;
}

export class SqliteApiTokenStore implements ApiTokenStore {
  private readonly sql;
  private readonly now: () => number;

  constructor(db: Db, options: AuthStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sql = {
      insert: db.prepare<[string, string, string, string, string, number]>(
        'INSERT INTO api_tokens (id, hash, email, name, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE id = ?'),
      used: db.prepare<[number, string]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
      revoke: db.prepare<[number, string]>(
        'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      ),
      list: db.prepare<[string], TokenRow>(
        'SELECT * FROM api_tokens WHERE email = ? ORDER BY created_at, id',
      ),
    };
  }

  /** Throws HttpError 400 naming `name` or `scopes` when they are not acceptable. */
  async createApiToken(
    email: string,
    name: string,
    scopes: string[],
  ): Promise<{ id: string; token: string }> {
    if (typeof email !== 'string' || !isEmail(email)) throw new TypeError('a token belongs to an email');
    checkTokenName(name);
    const checked = checkScopes(scopes);
    const { id, token, hash } = newApiToken();
    this.sql.insert.run(id, hash, email.toLowerCase(), name, JSON.stringify(checked), this.now());
    return { id, token };
  }

  async verifyApiToken(text: string): Promise<VerifiedApiToken | null> {
    const parts = typeof text === 'string' && text.length <= MAX_TOKEN_TEXT ? parseApiToken(text) : null;
    if (parts === null) return null;
    const row = this.sql.get.get(parts.id);
    if (!secretMatches(row?.hash, parts.secret) || row === undefined || row.revoked_at !== null) return null;
    this.sql.used.run(this.now(), row.id);
    return { id: row.id, email: row.email, scopes: JSON.parse(row.scopes) as string[] };
  }

  async revokeApiToken(id: string): Promise<boolean> {
    return this.sql.revoke.run(this.now(), id).changes > 0;
  }

  async listApiTokens(email: string): Promise<ApiTokenInfo[]> {
    return this.sql.list.all(email.toLowerCase()).map((row) => ({
      id: row.id,
      email: row.email,
      name: row.name,
      scopes: JSON.parse(row.scopes) as string[],
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      revokedAt: row.revoked_at,
    }));
  }
}
