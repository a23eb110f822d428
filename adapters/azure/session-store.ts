// Login sessions and API tokens in Azure Table Storage (or Cosmos DB for Table), as
// adapters/local/session-store.ts keeps them on SQLite and adapters/gcp/session-store.ts on Firestore:
// nothing stored logs anyone in. A session's key is the SHA-256 of the cookie's token; an API token entity
// holds the SHA-256 of the token's secret. Table `identity` (adapters/azure/tables.ts):
//
// | entity | PartitionKey | RowKey | properties |
// | --- | --- | --- | --- |
// | login session | `session|<sha256 of the token>` | `session` | email, csrf, expiresAt |
// | a user's session entry | `sessions|<email>` | `<sha256 of the token>` | expiresAt (Int64) |
// | API token | `token|<id>` | `token` | hash (of the secret), email, name, scopes (JSON text), createdAt, lastUsedAt?, revokedAt? |
// | a user's token entry | `tokens|<email>` | `<createdAt, 16 digits>|<id>` | id |
//
// (`<email>` and `<id>` are entityKey()s.) A session is read by its token alone, "log out everywhere" by
// email: Table Storage has no secondary index, so each session has an entry in its user's partition, written
// BEFORE the session (so every session there is has its entry; an entry without a session, left by a crash,
// counts for nothing and is removed when met). Ending sessions deletes the session first, conditioned on the
// ETag read (of two concurrent "log out everywhere" each session is counted by exactly one), then its
// entry. Table Storage has no TTL: an expired session met is deleted at once, each login sweeps the
// user's expired sessions (one range of their partition), and `prune` (the housekeeping timer's,
// functions/azure/housekeeping.ts) ends everyone's expired sessions — a user who never comes back too —
// found by their entries (the `sessions|` partitions' range, filtered on expiresAt), at most `limit` a call.
//
// An API token is found by id to verify, and listed by owner through its entry (written before the token;
// ordered by creation, ties by id). A revocation, and a verification's `lastUsedAt`, are merges conditioned
// on the ETag read: of concurrent revocations exactly one finds the token unrevoked, and a token revoked
// after it was read is refused, as it would have been a moment later. A verification whose write meets
// another's reads the token again instead of retrying: concurrent calls with one token never queue on it.
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import {
  checkScopes,
  newApiToken,
  newSessionToken,
  parseApiToken,
  sha256Hex,
} from '../../functions/core/auth.js';
import { isEmail } from '../../functions/core/identity.js';
import type {
  ApiTokenInfo,
  ApiTokenStore,
  SessionGrant,
  SessionInfo,
  SessionStore,
  VerifiedApiToken,
} from '../../functions/core/ports.js';
import {
  type AuthStoreOptions,
  checkTokenName,
  MAX_TOKEN_TEXT,
  secretMatches,
} from '../local/session-store.js';
import { int64, int64Literal } from './int64.js';
import { afterPrefix, entitiesWithPrefix } from './prefix-query.js';
import { pruneMatching } from './prune.js';
import {
  type AzureTables,
  deleteAsRead,
  digits,
  entityKey,
  lostRace,
  notFound,
  readEntity,
  retryRaces,
} from './tables.js';

interface SessionEntity {
  email: string;
  csrf: string;
  expiresAt: number;
}

const usableToken = (token: unknown): token is string =>
  typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_TEXT;

const sessionKey = (hash: string) => `session|${entityKey(hash)}`;
/** Every user's session-entry partition starts with this. */
const ENTRIES = 'sessions|';
const entriesKey = (email: string) => `${ENTRIES}${entityKey(email)}`;

/** Deletes an entity, whether or not it is still there; false when it was not. */
async function forget(client: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await client.deleteEntity(partitionKey, rowKey);
    return true;
  } catch (error) {
    if (!notFound(error)) throw error;
    return false;
  }
}

export class AzureSessionStore implements SessionStore {
  private readonly now: () => number;
  private readonly client: TableClient;

  constructor(tables: AzureTables, options: AuthStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.client = tables.client('identity');
  }

  async createSession(email: string, ttlMs: number): Promise<SessionGrant> {
    if (typeof email !== 'string' || !isEmail(email)) throw new TypeError('a session belongs to an email');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`a session lasts a positive time, not ${ttlMs}`);
    const owner = email.toLowerCase();
    const now = this.now();
    await this.sweep(owner, now);
    const { token, id, csrf } = newSessionToken();
    const expiresAt = now + Math.floor(ttlMs);
    await this.client.createEntity({
      partitionKey: entriesKey(owner),
      rowKey: id,
      expiresAt: int64(expiresAt),
    });
    await this.client.createEntity({
      partitionKey: sessionKey(id),
      rowKey: 'session',
      email: owner,
      csrf,
      expiresAt,
    });
    return { token, csrf, expiresAt };
  }

  async getSession(token: string): Promise<SessionInfo | null> {
    if (!usableToken(token)) return null;
    const hash = sha256Hex(token);
    const session = await readEntity<SessionEntity>(this.client, sessionKey(hash), 'session');
    if (session === undefined) return null;
    if (session.expiresAt <= this.now()) {
      if (await deleteAsRead(this.client, session))
        await forget(this.client, entriesKey(session.email), hash);
      return null;
    }
    return { email: session.email, csrf: session.csrf, expiresAt: session.expiresAt };
  }

  async deleteSession(token: string): Promise<void> {
    if (!usableToken(token)) return;
    const hash = sha256Hex(token);
    const session = await readEntity<SessionEntity>(this.client, sessionKey(hash), 'session');
    if (session === undefined) return;
    await forget(this.client, sessionKey(hash), 'session');
    await forget(this.client, entriesKey(session.email), hash);
  }

  async deleteSessionsFor(email: string): Promise<number> {
    if (typeof email !== 'string') return 0;
    return this.end(email.toLowerCase(), this.now());
  }

  /**
   * Ends every user's sessions expired at `now` (and entries left without a session), at most `limit`
   * entries; how many it removed. Users who never log in again leave theirs to this.
   */
  async prune(now: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (!Number.isFinite(now)) throw new RangeError(`prune: now must be a time in ms, not ${now}`);
    const filter = `${odata`PartitionKey ge ${ENTRIES} and PartitionKey lt ${afterPrefix(ENTRIES)}`} and expiresAt le ${int64Literal(now)}`;
    return pruneMatching(this.client, filter, limit, async (entry) => {
      const ended = await this.endEntry(entry.partitionKey as string, entry.rowKey as string);
      return ended !== 'raced';
    });
  }

  /** Ends the sessions of `owner` (only the expired ones with `expiredOnly`); how many were live. */
  private async end(owner: string, now: number, expiredOnly = false): Promise<number> {
    const filter = expiredOnly ? `expiresAt le ${int64Literal(now)}` : undefined;
    const entries = await entitiesWithPrefix(this.client, entriesKey(owner), '', filter);
    let ended = 0;
    for (const entry of entries) {
      const session = await this.endEntry(entriesKey(owner), entry.rowKey as string);
      if (typeof session === 'object' && session.expiresAt > now) ended++;
    }
    return ended;
  }

  /**
   * Deletes the session of the entry (`partitionKey`, `hash`) as read, then the entry: the session it
   * ended, `none` when the entry had none, `raced` when another ending deleted or changed either first.
   */
  private async endEntry(partitionKey: string, hash: string): Promise<SessionEntity | 'none' | 'raced'> {
    const session = await readEntity<SessionEntity>(this.client, sessionKey(hash), 'session');
    if (session !== undefined && !(await deleteAsRead(this.client, session))) return 'raced';
    const entryDeleted = await forget(this.client, partitionKey, hash);
    if (session !== undefined) return session;
    return entryDeleted ? 'none' : 'raced';
  }

  /** Deletes the expired sessions of `owner` (a login's sweep). */
  private async sweep(owner: string, now: number): Promise<void> {
    await this.end(owner, now, true);
  }
}

interface TokenEntity {
  hash: string;
  email: string;
  name: string;
  scopes: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

const tokenKey = (id: string) => `token|${entityKey(id)}`;
const tokensKey = (email: string) => `tokens|${entityKey(email)}`;

/** The token an entity holds when `secret` is its secret and it is not revoked. */
function valid(found: TokenEntity | undefined, secret: string): TokenEntity | undefined {
  const matches = secretMatches(found?.hash, secret);
  return matches && found !== undefined && found.revokedAt === undefined ? found : undefined;
}

export class AzureApiTokenStore implements ApiTokenStore {
  private readonly now: () => number;
  private readonly client: TableClient;

  constructor(tables: AzureTables, options: AuthStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.client = tables.client('identity');
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
    const owner = email.toLowerCase();
    const createdAt = this.now();
    await this.client.createEntity({
      partitionKey: tokensKey(owner),
      rowKey: `${digits(createdAt)}|${id}`,
      id,
    });
    const stored: TokenEntity = { hash, email: owner, name, scopes: JSON.stringify(checked), createdAt };
    await this.client.createEntity({ partitionKey: tokenKey(id), rowKey: 'token', ...stored });
    return { id, token };
  }

  async verifyApiToken(text: string): Promise<VerifiedApiToken | null> {
    const parts = usableToken(text) ? parseApiToken(text) : null;
    if (parts === null) return null;
    const found = await this.read(parts.id);
    const token = valid(found, parts.secret);
    if (found === undefined || token === undefined) return null;
    try {
      const used = { partitionKey: tokenKey(parts.id), rowKey: 'token', lastUsedAt: this.now() };
      await this.client.updateEntity(used, 'Merge', { etag: found.etag });
    } catch (error) {
      if (!lostRace(error)) throw error;
      // Changed since the read: refused when that was its revocation; otherwise another verification
      // wrote its use a moment ago, which stands for this one too.
      if (valid(await this.read(parts.id), parts.secret) === undefined) return null;
    }
    return { id: parts.id, email: token.email, scopes: JSON.parse(token.scopes) as string[] };
  }

  async revokeApiToken(id: string): Promise<boolean> {
    if (!usableToken(id)) return false;
    return retryRaces(`revoking API token ${id}`, async () => {
      const found = await this.read(id);
      if (found === undefined || found.revokedAt !== undefined) return false;
      const revoked = { partitionKey: tokenKey(id), rowKey: 'token', revokedAt: this.now() };
      await this.client.updateEntity(revoked, 'Merge', { etag: found.etag });
      return true;
    });
  }

  async listApiTokens(email: string): Promise<ApiTokenInfo[]> {
    if (typeof email !== 'string') return [];
    const entries = await entitiesWithPrefix<{ id: string }>(this.client, tokensKey(email.toLowerCase()), '');
    const tokens = await Promise.all(
      entries.map(async (entry) => [entry.id, await this.read(entry.id)] as const),
    );
    return tokens.flatMap(([id, token]) =>
      token === undefined
        ? []
        : [
            {
              id,
              email: token.email,
              name: token.name,
              scopes: JSON.parse(token.scopes) as string[],
              createdAt: token.createdAt,
              lastUsedAt: token.lastUsedAt ?? null,
              revokedAt: token.revokedAt ?? null,
            },
          ],
    );
  }

  private read(id: string): Promise<TableEntityResult<TokenEntity> | undefined> {
    return readEntity<TokenEntity>(this.client, tokenKey(id), 'token');
  }
}
