// The port contracts of identity and intake run against the GCP adapters on the gcloud Firestore emulator
// (test/support/firestore-emulator.ts: Firestore's real wire protocol, transactions and preconditions;
// missing, the suite fails). Each test gets a fresh project (an empty database) reached through two clients
// (two connections), as two function instances would. Beside the contracts: what the documents hold (only
// hashes of secrets, the TTL field), document ids for any text, a full rate-limit bucket, pruning, expired
// webhook claims, and that every collection the adapters write is registered for the Terraform.
import type { Firestore } from '@google-cloud/firestore';
import { Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS, type CollectionSpec } from '../../adapters/gcp/collections.js';
import { FirestoreDirectory } from '../../adapters/gcp/directory.js';
import { docId } from '../../adapters/gcp/documents.js';
import { FirestoreRateLimiter, MAX_FIRESTORE_LIMIT } from '../../adapters/gcp/rate-limiter.js';
import { FirestoreApiTokenStore, FirestoreSessionStore } from '../../adapters/gcp/session-store.js';
import { FirestoreWebhookDeliveryStore } from '../../adapters/gcp/webhook-store.js';
import { FirestoreWorkflowStore } from '../../adapters/gcp/workflow-store.js';
import { sha256Hex } from '../../functions/core/auth.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { describeAdminDirectoryContract } from './admin-directory.contract.js';
import { describeApiTokenStoreContract } from './api-token-store.contract.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { describeDirectoryContract } from './directory.contract.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';
import { describeSessionStoreContract } from './session-store.contract.js';
import { describeWebhookDeliveryStoreContract } from './webhook-delivery-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';

// No Google credentials here: the clients must not probe for a metadata server.
process.env.METADATA_SERVER_DETECTION = 'none';

let emulator: FirestoreEmulator | undefined;
beforeAll(async () => {
  emulator = await startFirestoreEmulator();
}, 90_000);
afterAll(async () => {
  await emulator?.stop();
});

/** The emulator serialises conflicting writes slowly: a race of a dozen contenders takes seconds. */
const RACE_TIMEOUT = 120_000;

/** A fresh project (empty database) and two clients of it, each wrapped by `adapter`. */
function twoClients<T>(adapter: (db: Firestore) => T): Contenders<T> {
  if (emulator === undefined) throw new Error('the Firestore emulator is not running');
  const project = emulator.freshProject();
  const clients = [emulator.client(project), emulator.client(project)];
  return {
    connections: clients.map(adapter),
    close: async () => {
      await Promise.all(clients.map((db) => db.terminate()));
    },
  };
}

/** A valid definition of workflow `id`: its source and IR. */
function definition(id: string, name: string) {
  const source = `version: 1\nid: ${id}\nname: ${name}\ntriggers:\n  - type: manual\nsteps:\n  - id: go\n    type: tool\n    tool: supplies\n`;
  const { ir, diagnostics } = validateWorkflow(source, 'yaml');
  if (ir === undefined) throw new Error(JSON.stringify(diagnostics));
  return { ir, source };
}

describeWorkflowStoreContract('Firestore', () => twoClients((db) => new FirestoreWorkflowStore(db)));
describeSessionStoreContract('Firestore', (time) =>
  twoClients((db) => new FirestoreSessionStore(db, { now: () => time.at })),
);
describeApiTokenStoreContract('Firestore', (time) =>
  twoClients((db) => new FirestoreApiTokenStore(db, { now: () => time.at })),
);
describeDirectoryContract('Firestore', async (users) => {
  const [directory] = await fresh(() => twoClients((db) => new FirestoreDirectory(db)));
  for (const user of users) await directory.upsertUser(user);
  return directory;
});
describeAdminDirectoryContract('Firestore', () => twoClients((db) => new FirestoreDirectory(db)));
describeWebhookDeliveryStoreContract('Firestore', (time) =>
  twoClients((db) => new FirestoreWebhookDeliveryStore(db, { now: () => time.at })),
);
describeRateLimiterContract('Firestore', () => twoClients((db) => new FirestoreRateLimiter(db)));

describe('Firestore document ids', () => {
  it('keeps plain keys readable and encodes everything Firestore refuses, one to one', () => {
    expect(docId('alice@example.com')).toBe('alice@example%2Ecom');
    expect(docId('tool:charge')).toBe('tool%3Acharge');
    const awkward = [
      '',
      '.',
      '..',
      '__name__',
      'a/b',
      'a%2Fb',
      'é',
      '#',
      'x'.repeat(2_000),
      'x'.repeat(2_001),
    ];
    const ids = awkward.map((text) => docId(text));
    expect(new Set(ids).size).toBe(awkward.length);
    for (const id of ids) {
      expect(id).not.toMatch(/\/|^\.\.?$|^__.*__$/);
      expect(id.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(id)).toBeLessThanOrEqual(1_500);
    }
    expect(docId('x'.repeat(2_000))).toMatch(/^#[0-9a-f]{64}$/);
  });

  it('stores and finds keys Firestore would refuse as ids', async () => {
    const [limiter, other] = await fresh(() => twoClients((db) => new FirestoreRateLimiter(db)));
    for (const key of ['.', '..', '__name__', 'a/b/c', 'k'.repeat(3_000)]) {
      const bucket = { key, limit: 1, windowMs: 60_000 };
      expect(await limiter.takeAll([bucket], 1_000)).toEqual({ allowed: true });
      expect(await other.takeAll([bucket], 1_000)).toEqual({ allowed: false, key });
    }
  });
});

describe('FirestoreRateLimiter on the emulator', () => {
  const limiters = () => fresh(() => twoClients((db) => ({ db, limiter: new FirestoreRateLimiter(db) })));

  it('holds a full bucket of the largest limit in one document, and refuses a larger limit naming the bucket', async () => {
    const [{ db, limiter }] = await limiters();
    const bucket = { key: 'big', limit: MAX_FIRESTORE_LIMIT, windowMs: 3_600_000 };
    // All but one call already taken, at the latest times a take could have written them.
    const hits = Array.from({ length: MAX_FIRESTORE_LIMIT - 1 }, (_, i) => 1_700_000_000_000 + i);
    await db
      .collection(COLLECTIONS.rateBuckets.name)
      .doc(docId('big'))
      .set({ key: 'big', hits, lastAt: 0, expireAt: Timestamp.fromMillis(0) });
    const now = 1_700_000_000_000 + MAX_FIRESTORE_LIMIT;
    expect(await limiter.takeAll([bucket], now)).toEqual({ allowed: true });
    expect(await limiter.takeAll([bucket], now)).toEqual({ allowed: false, key: 'big' });
    await expect(limiter.takeAll([{ ...bucket, limit: MAX_FIRESTORE_LIMIT + 1 }], now)).rejects.toThrow(
      `rate limit for big is ${MAX_FIRESTORE_LIMIT + 1} calls`,
    );
  });

  it('keeps in a bucket the calls in its window and an expiry of the last call plus the longest window', async () => {
    const [{ db, limiter }] = await limiters();
    await limiter.takeAll([{ key: 'k', limit: 5, windowMs: 60_000 }], 1_000);
    await limiter.takeAll([{ key: 'k', limit: 5, windowMs: 10_000 }], 30_000);
    const stored = (await db.collection(COLLECTIONS.rateBuckets.name).doc('k').get()).data();
    expect(stored).toEqual({
      key: 'k',
      hits: [30_000],
      lastAt: 30_000,
      expireAt: Timestamp.fromMillis(61_000),
    });
  });

  it('prunes the buckets whose last call is older than the time given, and only those', async () => {
    const [{ limiter }, { limiter: other }] = await limiters();
    await limiter.takeAll([{ key: 'old', limit: 1, windowMs: 60_000 }], 1_000);
    await limiter.takeAll([{ key: 'new', limit: 1, windowMs: 60_000 }], 5_000);
    expect(await other.prune(5_000)).toBe(1);
    expect(await other.takeAll([{ key: 'old', limit: 1, windowMs: 60_000 }], 6_000)).toEqual({
      allowed: true,
    });
    expect(await other.takeAll([{ key: 'new', limit: 1, windowMs: 60_000 }], 6_000)).toEqual({
      allowed: false,
      key: 'new',
    });
  });
});

describe('Firestore webhook delivery claims', () => {
  const HOUR = 3_600_000;
  const stores = (time: { at: number }) =>
    fresh(() =>
      twoClients((db) => ({
        db,
        store: new FirestoreWebhookDeliveryStore(db, { now: () => time.at }, { ttlMs: HOUR }),
      })),
    );

  it('stores a claim with the Timestamp its TTL policy expires it by', async () => {
    const [{ db, store }] = await stores({ at: 1_000 });
    await store.claim('w/1', 'd.1', 'run-1');
    const { docs } = await db.collection(COLLECTIONS.webhookDeliveries.name).get();
    expect(docs.map((d) => [d.id, d.data()])).toEqual([
      [
        `${docId('w/1')}:${docId('d.1')}`,
        {
          workflowId: 'w/1',
          deliveryId: 'd.1',
          runId: 'run-1',
          claimedAt: 1_000,
          expireAt: Timestamp.fromMillis(1_000 + HOUR),
        },
      ],
    ]);
  });

  it('treats a claim past its expiry as gone, whether or not Firestore deleted it yet', async () => {
    const time = { at: 1_000 };
    const [{ store }, { store: other }] = await stores(time);
    await store.claim('w', 'd1', 'run-1');
    time.at = 1_000 + HOUR - 1;
    expect(await other.claim('w', 'd1', 'run-2')).toEqual({ runId: 'run-1', existing: true });
    time.at = 1_000 + HOUR;
    expect(await other.claim('w', 'd1', 'run-3')).toEqual({ runId: 'run-3', existing: false });
    expect(await store.claim('w', 'd1', 'run-4')).toEqual({ runId: 'run-3', existing: true });
  });

  it(
    'lets exactly one of many concurrent claims replace an expired claim',
    async () => {
      const time = { at: 1_000 };
      const pairs = await stores(time);
      await pairs[0].store.claim('w', 'd1', 'run-old');
      time.at = 1_000 + 2 * HOUR;
      const outcomes = await race(10, (i) => connectionFor(pairs, i).store.claim('w', 'd1', `run-${i}`));
      const claims = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      const winners = claims.filter((c) => !c.existing);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.runId).not.toBe('run-old');
      expect(new Set(claims.map((c) => c.runId))).toEqual(new Set([winners[0]?.runId]));
    },
    RACE_TIMEOUT,
  );
});

describe('Firestore sessions and API tokens at rest', () => {
  it('keeps only hashes: no session token and no API token secret is in the database', async () => {
    const [{ db, sessions, tokens }] = await fresh(() =>
      twoClients((db) => ({
        db,
        sessions: new FirestoreSessionStore(db, { now: () => 1_000 }),
        tokens: new FirestoreApiTokenStore(db, { now: () => 1_000 }),
      })),
    );
    const grant = await sessions.createSession('alice@example.com', 3_600_000);
    const { id, token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    expect(await tokens.verifyApiToken(token)).not.toBeNull();
    const session = await db.collection(COLLECTIONS.sessions.name).doc(sha256Hex(grant.token)).get();
    expect(session.data()).toEqual({
      email: 'alice@example.com',
      csrf: grant.csrf,
      expiresAt: 1_000 + 3_600_000,
      expireAt: Timestamp.fromMillis(1_000 + 3_600_000),
    });
    const everything = await Promise.all(
      [COLLECTIONS.sessions.name, COLLECTIONS.apiTokens.name].map((name) => db.collection(name).get()),
    );
    const stored = JSON.stringify(everything.flatMap((s) => s.docs.map((d) => [d.id, d.data()])));
    expect(stored).toContain(sha256Hex(grant.token));
    expect(stored).not.toContain(grant.token);
    expect(stored).not.toContain(token.slice(`sg_${id}_`.length));
  });

  it(
    'verifies every one of many concurrent calls with one token, and records its use',
    async () => {
      const time = { at: 1_000 };
      const stores = await fresh(() =>
        twoClients((db) => new FirestoreApiTokenStore(db, { now: () => time.at })),
      );
      const { id, token } = await stores[0].createApiToken('alice@example.com', 'ci', ['runs:read']);
      time.at = 2_000;
      const outcomes = await race(10, (i) => connectionFor(stores, i).verifyApiToken(token));
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') throw outcome.reason;
        expect(outcome.value).toEqual({ id, email: 'alice@example.com', scopes: ['runs:read'] });
      }
      expect(await stores[1].listApiTokens('alice@example.com')).toMatchObject([{ id, lastUsedAt: 2_000 }]);
    },
    RACE_TIMEOUT,
  );

  it('deletes an expired session when it meets it', async () => {
    const time = { at: 1_000 };
    const [{ db, sessions }] = await fresh(() =>
      twoClients((db) => ({ db, sessions: new FirestoreSessionStore(db, { now: () => time.at }) })),
    );
    const grant = await sessions.createSession('alice@example.com', 60_000);
    time.at = 61_000;
    expect(await sessions.getSession(grant.token)).toBeNull();
    expect((await db.collection(COLLECTIONS.sessions.name).get()).size).toBe(0);
  });

  it(
    'counts each session once when two "log out everywhere" run at once',
    async () => {
      const [sessions, other] = await fresh(() => twoClients((db) => new FirestoreSessionStore(db)));
      for (let i = 0; i < 6; i++) await sessions.createSession('alice@example.com', 3_600_000);
      const [a, b] = await Promise.all([
        sessions.deleteSessionsFor('alice@example.com'),
        other.deleteSessionsFor('alice@example.com'),
      ]);
      expect(a + b).toBe(6);
    },
    RACE_TIMEOUT,
  );
});

describe('the Firestore directory', () => {
  it('logs a user in with the password set, keeps it across an upsert, never for a service account', async () => {
    const [directory, other] = await fresh(() => twoClients((db) => new FirestoreDirectory(db)));
    await directory.upsertUser({ email: 'ada@example.com', role: 'admin' });
    await directory.upsertUser({ email: 'bot@example.com', role: 'member', service: true });
    await other.setPassword('Ada@Example.com', 'correct horse');
    await directory.upsertUser({ email: 'ada@example.com', role: 'admin', name: 'Ada' });
    expect(await directory.verifyPassword('ADA@example.com', 'correct horse')).toMatchObject({
      email: 'ada@example.com',
      name: 'Ada',
    });
    expect(await directory.getUser('ada@example.com')).toMatchObject({ hasPassword: true });
    expect(await directory.verifyPassword('ada@example.com', 'wrong horse')).toBeNull();
    expect(await directory.verifyPassword('eve@example.com', 'correct horse')).toBeNull();
    await expect(directory.setPassword('bot@example.com', 'correct horse')).rejects.toMatchObject({
      field: 'password',
    });
    await expect(directory.setPassword('ada@example.com', 'short')).rejects.toMatchObject({
      field: 'password',
    });
  });

  it('keeps the enabled admins and the positions handed out in its state document', async () => {
    const [{ db, directory }] = await fresh(() =>
      twoClients((db) => ({ db, directory: new FirestoreDirectory(db) })),
    );
    await directory.upsertUser({ email: 'ada@example.com', role: 'admin' });
    await directory.upsertUser({ email: 'bea@example.com', role: 'admin' });
    await directory.upsertUser({ email: 'cal@example.com', role: 'member' });
    await directory.upsertUser({ email: 'bea@example.com', role: 'admin', disabled: true });
    await directory.deleteUser('cal@example.com');
    const state = await db.collection(COLLECTIONS.userDirectory.name).doc('state').get();
    expect(state.data()).toEqual({ admins: ['ada@example.com'], lastPosition: 3 });
    // A user added after a delete comes after everyone, never in the deleted one's place.
    await directory.upsertUser({ email: 'dan@example.com', role: 'member' });
    expect((await directory.listUsers()).map((u) => u.email)).toEqual([
      'ada@example.com',
      'bea@example.com',
      'dan@example.com',
    ]);
  });
});

describe('the Firestore workflow store', () => {
  it('keeps each version as a document of its own under its workflow, the IR as JSON text', async () => {
    const [{ db, store }] = await fresh(() =>
      twoClients((db) => ({ db, store: new FirestoreWorkflowStore(db) })),
    );
    const { ir, source } = definition('supplies', 'Supplies');
    await store.save({ ir, source, format: 'yaml', by: 'lead@example.com', at: 1_000 });
    const head = await db.collection(COLLECTIONS.workflows.name).doc('supplies').get();
    expect(head.data()).toEqual({ id: 'supplies', version: 1, deleted: false });
    const version = await head.ref.collection(COLLECTIONS.workflowVersions.name).doc('0000000001').get();
    expect(version.data()).toEqual({
      id: 'supplies',
      version: 1,
      name: 'Supplies',
      format: 'yaml',
      source,
      ir: JSON.stringify(ir),
      createdAt: 1_000,
      createdBy: 'lead@example.com',
    });
  });

  it('lists what another instance saved since its last listing, not its cached versions', async () => {
    const [store, other] = await fresh(() => twoClients((db) => new FirestoreWorkflowStore(db)));
    const save = (on: FirestoreWorkflowStore, id: string, name: string) =>
      on.save({ ...definition(id, name), format: 'yaml', by: 'lead@example.com', at: 1_000 });
    await save(store, 'alpha', 'One');
    await save(store, 'beta', 'One');
    expect((await store.list()).map((w) => [w.id, w.version, w.name])).toEqual([
      ['alpha', 1, 'One'],
      ['beta', 1, 'One'],
    ]);
    await save(other, 'beta', 'Two');
    await other.delete('alpha');
    expect((await store.list()).map((w) => [w.id, w.version, w.name])).toEqual([['beta', 2, 'Two']]);
  });
});

describe('the Firestore collections registry', () => {
  it('names every collection the identity adapters write, with the TTL field of documents that expire', async () => {
    const [db] = await fresh(() => twoClients((db) => db));
    const now = () => 1_000;
    await new FirestoreWorkflowStore(db).save({
      ...definition('w', 'W'),
      format: 'yaml',
      by: 'a@example.com',
      at: 1,
    });
    await new FirestoreSessionStore(db, { now }).createSession('a@example.com', 60_000);
    await new FirestoreApiTokenStore(db, { now }).createApiToken('a@example.com', 'ci', ['runs:read']);
    await new FirestoreDirectory(db).upsertUser({ email: 'a@example.com', role: 'admin' });
    await new FirestoreWebhookDeliveryStore(db, { now }).claim('w', 'd', 'r');
    await new FirestoreRateLimiter(db).take('k', 1, 60_000, 1_000);
    const registered = new Map(
      Object.values(COLLECTIONS).map((spec): [string, CollectionSpec] => [spec.name, spec]),
    );
    const written = await db.collectionGroup(COLLECTIONS.workflowVersions.name).get();
    expect(written.size).toBe(1);
    for (const collection of await db.listCollections()) {
      const spec = registered.get(collection.id);
      expect(spec, collection.id).toBeDefined();
      for (const doc of (await collection.get()).docs)
        expect(doc.get('expireAt') instanceof Timestamp, `${collection.id}/${doc.id}`).toBe(
          spec?.ttlField === 'expireAt',
        );
    }
    expect((await db.listCollections()).map((c) => c.id).sort()).toEqual(
      [
        COLLECTIONS.apiTokens.name,
        COLLECTIONS.rateBuckets.name,
        COLLECTIONS.sessions.name,
        COLLECTIONS.userDirectory.name,
        COLLECTIONS.users.name,
        COLLECTIONS.webhookDeliveries.name,
        COLLECTIONS.workflows.name,
      ].sort(),
    );
  });
});
