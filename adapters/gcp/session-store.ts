// Login sessions and API tokens in Firestore, as adapters/local/session-store.ts keeps them on SQLite and
// adapters/aws/session-store.ts on DynamoDB: nothing stored logs anyone in. A session document's id is the
// SHA-256 of the cookie's token; an API token document holds the SHA-256 of the token's secret.
//
// A session is one document (`sessions/<hash>`: email, csrf, expiresAt, and `expireAt`, the Timestamp its
// TTL policy deletes it by some time later). Firestore queries are strongly consistent, so "log out
// everywhere" queries the user's sessions by email and never misses one opened a moment before (DynamoDB
// needed a second item per session for that). An expired session met is deleted at once; each deletion is
// conditioned on the update time it was read at, so of two concurrent "log out everywhere" each session is
// counted by exactly one.
//
// An API token is one document (`apiTokens/<id>`), found by id to verify and listed by owner in the order
// made (the composite index email + createdAt; ties in document id order, which is the token id). A
// revocation, and a verification's `lastUsedAt`, are updates conditioned on the update time read: of
// concurrent revocations exactly one finds the token unrevoked, and a token revoked after it was read is
// refused, as it would have been a moment later. A verification whose write meets another's reads the
// token again instead of retrying: concurrent calls with one token (a CI job's) never queue on it.
import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';
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
import { COLLECTIONS } from './collections.js';
import { deleteAsRead, docId, expireAt, lostRace, retryRaces } from './documents.js';

interface SessionDocument {
  email: string;
  csrf: string;
  expiresAt: number;
}

const usableToken = (token: unknown): token is string =>
  typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_TEXT;

export class FirestoreSessionStore implements SessionStore {
  private readonly now: () => number;

  constructor(
    private readonly db: Firestore,
    options: AuthStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async createSession(email: string, ttlMs: number): Promise<SessionGrant> {
    if (typeof email !== 'string' || !isEmail(email)) throw new TypeError('a session belongs to an email');
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`a session lasts a positive time, not ${ttlMs}`);
    const { token, id, csrf } = newSessionToken();
    const expiresAt = this.now() + Math.floor(ttlMs);
    await this.ref(id).create({
      email: email.toLowerCase(),
      csrf,
      expiresAt,
      expireAt: expireAt(expiresAt),
    });
    return { token, csrf, expiresAt };
  }

  async getSession(token: string): Promise<SessionInfo | null> {
    if (!usableToken(token)) return null;
    const found = await this.ref(sha256Hex(token)).get();
    const session = found.data() as SessionDocument | undefined;
    if (session === undefined) return null;
    if (session.expiresAt <= this.now()) {
      await deleteAsRead(found);
      return null;
    }
    return { email: session.email, csrf: session.csrf, expiresAt: session.expiresAt };
  }

  async deleteSession(token: string): Promise<void> {
    if (usableToken(token)) await this.ref(sha256Hex(token)).delete();
  }

  async deleteSessionsFor(email: string): Promise<number> {
    if (typeof email !== 'string') return 0;
    const now = this.now();
    const sessions = await this.db
      .collection(COLLECTIONS.sessions.name)
      .where('email', '==', email.toLowerCase())
      .get();
    let ended = 0;
    for (const session of sessions.docs)
      if ((await deleteAsRead(session)) && (session.data() as SessionDocument).expiresAt > now) ended++;
    return ended;
  }

  private ref(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.sessions.name).doc(id);
  }
}

interface TokenDocument {
  hash: string;
  email: string;
  name: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

/** The token a snapshot holds when `secret` is its secret and it is not revoked. */
function valid(found: DocumentSnapshot, secret: string): TokenDocument | undefined {
  const token = found.data() as TokenDocument | undefined;
  const matches = secretMatches(token?.hash, secret);
  return matches && token !== undefined && token.revokedAt === undefined ? token : undefined;
}

export class FirestoreApiTokenStore implements ApiTokenStore {
  private readonly now: () => number;

  constructor(
    private readonly db: Firestore,
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
    const stored: TokenDocument = {
      hash,
      email: email.toLowerCase(),
      name,
      scopes: checked,
      createdAt: this.now(),
    };
    await this.ref(id).create(stored);
    return { id, token };
  }

  async verifyApiToken(text: string): Promise<VerifiedApiToken | null> {
    const parts = usableToken(text) ? parseApiToken(text) : null;
    if (parts === null) return null;
    const found = await this.ref(parts.id).get();
    const token = valid(found, parts.secret);
    if (token === undefined) return null;
    try {
      await found.ref.update({ lastUsedAt: this.now() }, { lastUpdateTime: found.updateTime });
    } catch (error) {
      if (!lostRace(error)) throw error;
      // Changed since the read: refused when that was its revocation; otherwise another verification
      // wrote its use a moment ago, which stands for this one too.
      if (valid(await found.ref.get(), parts.secret) === undefined) return null;
    }
    return { id: parts.id, email: token.email, scopes: token.scopes };
  }

  async revokeApiToken(id: string): Promise<boolean> {
    if (!usableToken(id)) return false;
    return retryRaces(`revoking API token ${id}`, async () => {
      const found = await this.ref(id).get();
      const token = found.data() as TokenDocument | undefined;
      if (token === undefined || token.revokedAt !== undefined) return false;
      await found.ref.update({ revokedAt: this.now() }, { lastUpdateTime: found.updateTime });
      return true;
    });
  }

  async listApiTokens(email: string): Promise<ApiTokenInfo[]> {
    if (typeof email !== 'string') return [];
    const tokens = await this.db
      .collection(COLLECTIONS.apiTokens.name)
      .where('email', '==', email.toLowerCase())
      .orderBy('createdAt')
      .get();
    return tokens.docs.map((doc) => {
      const token = doc.data() as TokenDocument;
      return {
        id: doc.id,
        email: token.email,
        name: token.name,
        scopes: token.scopes,
        createdAt: token.createdAt,
        lastUsedAt: token.lastUsedAt ?? null,
        revokedAt: token.revokedAt ?? null,
      };
    });
  }

  private ref(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.apiTokens.name).doc(docId(id));
  }
}
