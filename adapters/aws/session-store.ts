// Login sessions and API tokens in the DynamoDB table (adapters/aws/table.ts), as
// adapters/local/session-store.ts keeps them on SQLite: nothing stored logs anyone in. A session item's key
// is the SHA-256 of the cookie's token; an API token item holds the SHA-256 of the token's secret.
//
// A session is two items written in one transaction: the session (`SESSION#<hash>`, read on every request)
// and its entry in the user's list (`SESSIONS#<email>`), which "log out everywhere" reads with a strongly
// consistent query, so a session opened a moment before is never missed (an index would be eventually
// consistent). Both carry the session's expiry as `ttl`; an expired session met is deleted at once.
//
// An API token is one item (`TOKEN#<id>`), found by id to verify; its owner's listing queries the index
// (gsi1 `TOKENS#<email>`, ordered by creation), so a token made a moment before may be listed a moment late
// on AWS. A revocation is a conditional update: of concurrent ones, exactly one finds the token unrevoked.
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
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
import { conditionFailed, TABLE, type Table, ttlSeconds } from './table.js';

/** The key of a session, by its token's hash. */
const sessionKey = (id: string) => ({ pk: `SESSION#${id}`, sk: 'SESSION' });
/** The key of a session's entry in its user's list. */
const entryKey = (email: string, id: string) => ({ pk: `SESSIONS#${email}`, sk: `SESSION#${id}` });

export class DynamoSessionStore implements SessionStore {
  private readonly now: () => number;

  constructor(
    private readonly table: Table,
    options: AuthStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async createSession(email: string, ttlMs: number): Promise<SessionGrant> {
    if (typeof email !== 'string' || !isEmail(email)) throw new TypeError('a session belongs to an email');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`a session lasts a positive time, not ${ttlMs}`);
    const { token, id, csrf } = newSessionToken();
    const owner = email.toLowerCase();
    const expiresAt = this.now() + Math.floor(ttlMs);
    const ttl = ttlSeconds(expiresAt);
    await this.table.client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.table.name,
              Item: { ...sessionKey(id), email: owner, csrf, expiresAt, ttl },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          { Put: { TableName: this.table.name, Item: { ...entryKey(owner, id), ttl } } },
        ],
      }),
    );
    return { token, csrf, expiresAt };
  }

  async getSession(token: string): Promise<SessionInfo | null> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_TEXT) return null;
    const id = sha256Hex(token);
    const { Item: item } = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: sessionKey(id), ConsistentRead: true }),
    );
    if (item === undefined) return null;
    const session = { email: String(item.email), csrf: String(item.csrf), expiresAt: Number(item.expiresAt) };
    if (session.expiresAt <= this.now()) {
      await this.remove(id, session.email);
      return null;
    }
    return session;
  }

  async deleteSession(token: string): Promise<void> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_TEXT) return;
    const id = sha256Hex(token);
    const { Item: item } = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: sessionKey(id), ConsistentRead: true }),
    );
    if (item !== undefined) await this.remove(id, String(item.email));
  }

  async deleteSessionsFor(email: string): Promise<number> {
    const owner = email.toLowerCase();
    const now = this.now();
    let ended = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `SESSIONS#${owner}` },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const entry of page.Items ?? []) {
        const id = String(entry.sk).slice('SESSION#'.length);
        const { Attributes: gone } = await this.table.client.send(
          new DeleteCommand({ TableName: this.table.name, Key: sessionKey(id), ReturnValues: 'ALL_OLD' }),
        );
        if (gone !== undefined && Number(gone.expiresAt) > now) ended++;
        await this.table.client.send(
          new DeleteCommand({ TableName: this.table.name, Key: entryKey(owner, id) }),
        );
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return ended;
  }

  /** Deletes a session and its entry in its user's list, together. */
  private async remove(id: string, email: string): Promise<void> {
    await this.table.client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: this.table.name, Key: sessionKey(id) } },
          { Delete: { TableName: this.table.name, Key: entryKey(email, id) } },
        ],
      }),
    );
  }
}

/** The key of an API token, by its id. */
const tokenKey = (id: string) => ({ pk: `TOKEN#${id}`, sk: 'TOKEN' });

export class DynamoApiTokenStore implements ApiTokenStore {
  private readonly now: () => number;

  constructor(
    private readonly table: Table,
    options: AuthStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
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
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.name,
        Item: {
          ...tokenKey(id),
          hash,
          email: owner,
          name,
          scopes: checked,
          createdAt,
          gsi1pk: `TOKENS#${owner}`,
          gsi1sk: `${String(createdAt).padStart(16, '0')}#${id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { id, token };
  }

  async verifyApiToken(text: string): Promise<VerifiedApiToken | null> {
    const parts = typeof text === 'string' && text.length <= MAX_TOKEN_TEXT ? parseApiToken(text) : null;
    if (parts === null) return null;
    const { Item: item } = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: tokenKey(parts.id), ConsistentRead: true }),
    );
    const stored = typeof item?.hash === 'string' ? item.hash : undefined;
    if (!secretMatches(stored, parts.secret) || item === undefined || item.revokedAt !== undefined)
      return null;
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: tokenKey(parts.id),
          UpdateExpression: 'SET lastUsedAt = :now',
          // Revoked since it was read: refused, as it would have been a moment later.
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':now': this.now() },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      return null;
    }
    return { id: parts.id, email: String(item.email), scopes: item.scopes as string[] };
  }

  async revokeApiToken(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_TOKEN_TEXT) return false;
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: tokenKey(id),
          UpdateExpression: 'SET revokedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':now': this.now() },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async listApiTokens(email: string): Promise<ApiTokenInfo[]> {
    const tokens: ApiTokenInfo[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.client.send(
        new QueryCommand({
          TableName: this.table.name,
          IndexName: TABLE.gsi1.name,
          KeyConditionExpression: 'gsi1pk = :owner',
          ExpressionAttributeValues: { ':owner': `TOKENS#${email.toLowerCase()}` },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? [])
        tokens.push({
          id: String(item.pk).slice('TOKEN#'.length),
          email: String(item.email),
          name: String(item.name),
          scopes: item.scopes as string[],
          createdAt: Number(item.createdAt),
          lastUsedAt: typeof item.lastUsedAt === 'number' ? item.lastUsedAt : null,
          revokedAt: typeof item.revokedAt === 'number' ? item.revokedAt : null,
        });
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return tokens;
  }
}
