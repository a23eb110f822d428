// Login sessions and API tokens in the DynamoDB table (adapters/aws/table.ts), as
// adapters/local/session-store.ts keeps them on SQLite: nothing stored logs anyone in. A session item's key
// is the SHA-256 of the cookie's token; an API token item holds the SHA-256 of the token's secret.
//
// A session is two items written in one transaction: the session (`SESSION#<hash>`, read on every request)
// and its entry in the user's list (`SESSIONS#<email>`), which "log out everywhere" reads with a strongly
// consistent query, so a session opened a moment before is never missed (an index would be eventually
// consistent). Both carry the session's expiry as `ttl`; an expired session met is deleted at once.
import { DeleteCommand, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { newSessionToken, sha256Hex } from '../../functions/core/auth.js';
import { isEmail } from '../../functions/core/identity.js';
import type { SessionGrant, SessionInfo, SessionStore } from '../../functions/core/ports.js';
import type { AuthStoreOptions } from '../local/session-store.js';
import { type Table, ttlSeconds } from './table.js';

const MAX_TOKEN_TEXT = 512;

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
