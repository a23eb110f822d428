// The port contracts of workflows, identity and intake run against the Azure Table adapters on Azurite
// (test/support/azurite.ts: Table Storage's real wire protocol, ETags, 409/412 and entity-group
// transactions; missing, the suite fails). Each test gets tables of its own (a fresh prefix) reached through
// two AzureTables (two clients), as two function instances would. Beside the contracts: what the entities
// hold (only hashes of secrets, times a prune filters on as Int64), keys for awkward text, a full rate-limit
// bucket, pruning, expired webhook claims and sessions, and workflow definitions larger than one entity.
import type { TableEntityResult } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureDirectory } from '../../adapters/azure/directory.js';
import { int64 } from '../../adapters/azure/int64.js';
import { AzureRateLimiter, MAX_AZURE_LIMIT } from '../../adapters/azure/rate-limiter.js';
import { AzureApiTokenStore, AzureSessionStore } from '../../adapters/azure/session-store.js';
import { AzureTables, entityKey, packText, TABLES, type TableId } from '../../adapters/azure/tables.js';
import { AzureWebhookDeliveryStore } from '../../adapters/azure/webhook-store.js';
import { AzureWorkflowStore, ENTITY_CHARS, MAX_VERSION_BYTES } from '../../adapters/azure/workflow-store.js';
import { sha256Hex } from '../../functions/core/auth.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { describeAdminDirectoryContract } from './admin-directory.contract.js';
import { describeApiTokenStoreContract } from './api-token-store.contract.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { describeDirectoryContract } from './directory.contract.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';
import { describeSessionStoreContract } from './session-store.contract.js';
import { describeWebhookDeliveryStoreContract } from './webhook-delivery-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

/** Races of a dozen contenders retry on 409/412: allow them time on two shared cores. */
const RACE_TIMEOUT = 60_000;

/** Fresh tables (a new prefix) and two clients of them, each wrapped by `adapter`. */
async function twoClients<T>(adapter: (tables: AzureTables) => T): Promise<Contenders<T>> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const first = await azurite.freshTables();
  const second = new AzureTables({ ...first.options });
  return { connections: [first, second].map(adapter), close: () => undefined };
}

/** Every entity of table `id`, without its ETag and Timestamp (what the store wrote). */
async function entitiesOf(tables: AzureTables, id: TableId): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for await (const entity of tables.client(id).listEntities()) {
    const {
      etag: _etag,
      timestamp: _timestamp,
      ...rest
    } = entity as TableEntityResult<Record<string, unknown>>;
    found.push(rest);
  }
  return found;
}

/** A valid definition of workflow `id`: its source (with `padding` as a comment) and IR. */
function definition(id: string, name: string, padding = '') {
  const source = `# ${padding}\nversion: 1\nid: ${id}\nname: ${name}\ntriggers:\n  - type: manual\nsteps:\n  - id: go\n    type: tool\n    tool: supplies\n`;
  const { ir, diagnostics } = validateWorkflow(source, 'yaml');
  if (ir === undefined) throw new Error(JSON.stringify(diagnostics));
  return { ir, source };
}

describeWorkflowStoreContract('Azure Table Storage', () => twoClients((t) => new AzureWorkflowStore(t)));
describeSessionStoreContract('Azure Table Storage', (time) =>
  twoClients((t) => new AzureSessionStore(t, { now: () => time.at })),
);
describeApiTokenStoreContract('Azure Table Storage', (time) =>
  twoClients((t) => new AzureApiTokenStore(t, { now: () => time.at })),
);
describeDirectoryContract('Azure Table Storage', async (users) => {
  const [directory] = await fresh(() => twoClients((t) => new AzureDirectory(t)));
  for (const user of users) await directory.upsertUser(user);
  return directory;
});
describeAdminDirectoryContract('Azure Table Storage', () => twoClients((t) => new AzureDirectory(t)));
describeWebhookDeliveryStoreContract('Azure Table Storage', (time) =>
  twoClients((t) => new AzureWebhookDeliveryStore(t, { now: () => time.at })),
);
describeRateLimiterContract('Azure Table Storage', () => twoClients((t) => new AzureRateLimiter(t)));

describe('Azure keys for awkward text', () => {
  it('stores and finds rate-limit buckets, webhook claims and users whose keys Table Storage would refuse', async () => {
    const [{ limiter, claims, directory }, other] = await fresh(() =>
      twoClients((t) => ({
        limiter: new AzureRateLimiter(t),
        claims: new AzureWebhookDeliveryStore(t, { now: () => 1_000 }),
        directory: new AzureDirectory(t),
      })),
    );
    const awkward = ['', '.', 'a/b\\c', '#?', "it's", '\u0001\u007f', 'é😀', '%2F', 'k'.repeat(3_000)];
    for (const key of awkward) {
      const bucket = { key, limit: 1, windowMs: 60_000 };
      expect(await limiter.takeAll([bucket], 1_000)).toEqual({ allowed: true });
      expect(await other.limiter.takeAll([bucket], 1_000)).toEqual({ allowed: false, key });
      expect(await claims.claim(key, key, `run-${key}`)).toEqual({ runId: `run-${key}`, existing: false });
      expect(await other.claims.claim(key, key, 'run-x')).toEqual({ runId: `run-${key}`, existing: true });
    }
    // Every claim is in a webhook partition, however long its workflow's id: a prune reaches them all.
    expect(await other.claims.prune(2_000)).toBe(awkward.length);
    await directory.upsertUser({ email: "o'brien/x#y@example.com", role: 'admin' });
    expect(await other.directory.user("O'Brien/X#Y@example.com")).toMatchObject({
      email: "o'brien/x#y@example.com",
    });
  });
});

describe('AzureRateLimiter on Azurite', () => {
  const limiters = () =>
    fresh(() => twoClients((tables) => ({ tables, limiter: new AzureRateLimiter(tables) })));

  it('holds a full bucket of the largest limit in one entity, and refuses a larger limit naming the bucket', async () => {
    const [{ tables, limiter }, { limiter: other }] = await limiters();
    const bucket = { key: 'big', limit: MAX_AZURE_LIMIT, windowMs: 3_600_000 };
    // All but one call already taken, at the latest times a take could have written them.
    const hits = Array.from({ length: MAX_AZURE_LIMIT - 1 }, (_, i) => 1_700_000_000_000 + i);
    await tables.client('intake').createEntity({
      partitionKey: 'buckets',
      rowKey: entityKey('big'),
      key: 'big',
      ...packText('hits', JSON.stringify(hits)),
      lastAt: int64(0),
    });
    const now = 1_700_000_000_000 + MAX_AZURE_LIMIT;
    expect(await limiter.takeAll([bucket], now)).toEqual({ allowed: true });
    expect(await other.takeAll([bucket], now)).toEqual({ allowed: false, key: 'big' });
    expect(await other.retryAfter(bucket, now)).toBe(3_600_000 - MAX_AZURE_LIMIT);
    await expect(limiter.takeAll([{ ...bucket, limit: MAX_AZURE_LIMIT + 1 }], now)).rejects.toThrow(
      `rate limit for big is ${MAX_AZURE_LIMIT + 1} calls`,
    );
  });

  it('keeps in a bucket the calls in its window and the last call, as an Int64', async () => {
    const [{ tables, limiter }] = await limiters();
    await limiter.takeAll([{ key: 'k', limit: 5, windowMs: 60_000 }], 1_000);
    await limiter.takeAll([{ key: 'k', limit: 5, windowMs: 10_000 }], 30_000);
    expect(await entitiesOf(tables, 'intake')).toEqual([
      { partitionKey: 'buckets', rowKey: 'k', key: 'k', hits: 1, hits0: '[30000]', lastAt: 30_000n },
    ]);
  });

  it('prunes the buckets whose last call is older than the time given, and only those', async () => {
    const [{ tables, limiter }, { limiter: other }] = await limiters();
    await limiter.takeAll([{ key: 'old', limit: 1, windowMs: 60_000 }], 1_000);
    await limiter.takeAll([{ key: 'new', limit: 1, windowMs: 60_000 }], 1_700_000_000_000);
    // A webhook claim in the same table is no bucket: pruning buckets leaves it.
    await new AzureWebhookDeliveryStore(tables, { now: () => 0 }).claim('w', 'd', 'r');
    expect(await other.prune(1_700_000_000_000)).toBe(1);
    expect(await other.takeAll([{ key: 'old', limit: 1, windowMs: 60_000 }], 6_000)).toEqual({
      allowed: true,
    });
    expect(await other.takeAll([{ key: 'new', limit: 1, windowMs: 60_000 }], 1_700_000_000_001)).toEqual({
      allowed: false,
      key: 'new',
    });
    expect((await entitiesOf(tables, 'intake')).map((e) => e.rowKey).sort()).toEqual(['d', 'new', 'old']);
  });
});

describe('Azure webhook delivery claims', () => {
  const HOUR = 3_600_000;
  const stores = (time: { at: number }) =>
    fresh(() =>
      twoClients((tables) => ({
        tables,
        store: new AzureWebhookDeliveryStore(tables, { now: () => time.at }, { ttlMs: HOUR }),
      })),
    );

  it('stores a claim under its workflow, the time claimed as an Int64', async () => {
    const [{ tables, store }] = await stores({ at: 1_700_000_000_000 });
    await store.claim('w/1', 'd.1', 'run-1');
    expect(await entitiesOf(tables, 'intake')).toEqual([
      {
        partitionKey: `webhook|${entityKey('w/1')}`,
        rowKey: entityKey('d.1'),
        workflowId: 'w/1',
        deliveryId: 'd.1',
        runId: 'run-1',
        claimedAt: 1_700_000_000_000n,
      },
    ]);
  });

  it('treats a claim past its expiry as gone, though it is still stored', async () => {
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
      const outcomes = await race(12, (i) => connectionFor(pairs, i).store.claim('w', 'd1', `run-${i}`));
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

  it('prunes the claims of every workflow made before the cut, and no rate-limit bucket', async () => {
    const time = { at: 1_000 };
    const [{ tables, store }, { store: other }] = await stores(time);
    await store.claim('a', 'd1', 'run-1');
    await store.claim('b', 'd1', 'run-2');
    await new AzureRateLimiter(tables).take('k', 1, HOUR, 0);
    time.at = 5_000;
    await store.claim('b', 'd2', 'run-3');
    expect(await other.prune(5_000)).toBe(2);
    expect((await entitiesOf(tables, 'intake')).map((e) => e.runId ?? e.key)).toEqual(['k', 'run-3']);
  });
});

describe('Azure sessions and API tokens at rest', () => {
  const stores = (time: { at: number }) =>
    fresh(() =>
      twoClients((tables) => ({
        tables,
        sessions: new AzureSessionStore(tables, { now: () => time.at }),
        tokens: new AzureApiTokenStore(tables, { now: () => time.at }),
      })),
    );

  it('keeps only hashes: no session token and no API token secret is in the table', async () => {
    const [{ tables, sessions, tokens }] = await stores({ at: 1_000 });
    const grant = await sessions.createSession('Alice@example.com', 3_600_000);
    const { id, token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    expect(await tokens.verifyApiToken(token)).not.toBeNull();
    const stored = await entitiesOf(tables, 'identity');
    const hash = sha256Hex(grant.token);
    expect(stored).toContainEqual({
      partitionKey: `session|${hash}`,
      rowKey: 'session',
      email: 'alice@example.com',
      csrf: grant.csrf,
      expiresAt: 1_000 + 3_600_000,
    });
    expect(stored).toContainEqual({
      partitionKey: `sessions|${entityKey('alice@example.com')}`,
      rowKey: hash,
      expiresAt: BigInt(1_000 + 3_600_000),
    });
    expect(stored).toContainEqual({
      partitionKey: `token|${id}`,
      rowKey: 'token',
      hash: sha256Hex(token.slice(`sg_${id}_`.length)),
      email: 'alice@example.com',
      name: 'ci',
      scopes: '["runs:read"]',
      createdAt: 1_000,
      lastUsedAt: 1_000,
    });
    expect(stored).toContainEqual({
      partitionKey: `tokens|${entityKey('alice@example.com')}`,
      rowKey: `${'1000'.padStart(16, '0')}|${id}`,
      id,
    });
    expect(stored).toHaveLength(4);
    const text = JSON.stringify(stored, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(text).not.toContain(grant.token);
    expect(text).not.toContain(token.slice(`sg_${id}_`.length));
  });

  it('deletes an expired session when it meets it, and a login sweeps the user’s expired sessions', async () => {
    const time = { at: 1_000 };
    const [{ tables, sessions }, { sessions: other }] = await stores(time);
    const met = await sessions.createSession('alice@example.com', 60_000);
    await sessions.createSession('alice@example.com', 60_000);
    const bob = await sessions.createSession('bob@example.com', 60_000);
    time.at = 61_000;
    expect(await other.getSession(met.token)).toBeNull();
    expect(await entitiesOf(tables, 'identity')).toHaveLength(4);
    const fresh = await other.createSession('ALICE@example.com', 60_000);
    // Alice's expired sessions are gone with their entries; Bob's wait for his next login.
    const left = await entitiesOf(tables, 'identity');
    expect(left.map((e) => e.partitionKey).sort()).toEqual(
      [
        `session|${sha256Hex(fresh.token)}`,
        `sessions|${entityKey('alice@example.com')}`,
        `session|${sha256Hex(bob.token)}`,
        `sessions|${entityKey('bob@example.com')}`,
      ].sort(),
    );
    expect(await sessions.deleteSessionsFor('alice@example.com')).toBe(1);
  });

  it(
    'counts each session once when two "log out everywhere" run at once',
    async () => {
      const [{ sessions }, { sessions: other }] = await stores({ at: 1_000 });
      for (let i = 0; i < 6; i++) await sessions.createSession('alice@example.com', 3_600_000);
      const [a, b] = await Promise.all([
        sessions.deleteSessionsFor('alice@example.com'),
        other.deleteSessionsFor('alice@example.com'),
      ]);
      expect(a + b).toBe(6);
    },
    RACE_TIMEOUT,
  );

  it(
    'verifies every one of many concurrent calls with one token, and records its use',
    async () => {
      const time = { at: 1_000 };
      const pairs = await stores(time);
      const { id, token } = await pairs[0].tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
      time.at = 2_000;
      const outcomes = await race(10, (i) => connectionFor(pairs, i).tokens.verifyApiToken(token));
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') throw outcome.reason;
        expect(outcome.value).toEqual({ id, email: 'alice@example.com', scopes: ['runs:read'] });
      }
      expect(await pairs[1].tokens.listApiTokens('alice@example.com')).toMatchObject([
        { id, lastUsedAt: 2_000 },
      ]);
    },
    RACE_TIMEOUT,
  );
});

describe('the Azure directory', () => {
  it('logs a user in with the password set, keeps it across an upsert, never for a service account', async () => {
    const [directory, other] = await fresh(() => twoClients((t) => new AzureDirectory(t)));
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

  it('keeps the users and the state (enabled admins, last position) in one partition', async () => {
    const [{ tables, directory }] = await fresh(() =>
      twoClients((tables) => ({ tables, directory: new AzureDirectory(tables) })),
    );
    await directory.upsertUser({ email: 'ada@example.com', role: 'admin', groups: ['ops', 'eng'] });
    await directory.upsertUser({ email: 'bea@example.com', role: 'admin' });
    await directory.upsertUser({ email: 'cal@example.com', role: 'member', manager: 'ada@example.com' });
    await directory.upsertUser({ email: 'bea@example.com', role: 'admin', disabled: true });
    await directory.deleteUser('cal@example.com');
    expect(await entitiesOf(tables, 'identity')).toEqual([
      { partitionKey: 'users', rowKey: 'state', admins: '["ada@example.com"]', lastPosition: 3 },
      {
        partitionKey: 'users',
        rowKey: `user|${entityKey('ada@example.com')}`,
        email: 'ada@example.com',
        role: 'admin',
        groups: 1,
        groups0: '["ops","eng"]',
        disabled: false,
        service: false,
        position: 1,
      },
      {
        partitionKey: 'users',
        rowKey: `user|${entityKey('bea@example.com')}`,
        email: 'bea@example.com',
        role: 'admin',
        groups: 1,
        groups0: '[]',
        disabled: true,
        service: false,
        position: 2,
      },
    ]);
    // A user added after a delete comes after everyone, never in the deleted one's place.
    await directory.upsertUser({ email: 'dan@example.com', role: 'member' });
    expect((await directory.listUsers()).map((u) => u.email)).toEqual([
      'ada@example.com',
      'bea@example.com',
      'dan@example.com',
    ]);
  });
});

describe('the Azure workflow store', () => {
  const stores = () =>
    fresh(() => twoClients((tables) => ({ tables, store: new AzureWorkflowStore(tables) })));

  it('keeps a version beside its head in one partition, the IR as JSON text', async () => {
    const [{ tables, store }] = await stores();
    const { ir, source } = definition('supplies', 'Supplies');
    await store.save({ ir, source, format: 'yaml', by: 'lead@example.com', at: 1_000 });
    expect(await entitiesOf(tables, 'workflows')).toEqual([
      { partitionKey: 'workflows', rowKey: 'head|supplies', id: 'supplies', version: 1, deleted: false },
      {
        partitionKey: 'workflows',
        rowKey: 'version|supplies|0000000001|000',
        id: 'supplies',
        version: 1,
        name: 'Supplies',
        format: 'yaml',
        createdAt: 1_000,
        createdBy: 'lead@example.com',
        parts: 1,
        source: 1,
        source0: source,
        ir: 1,
        ir0: JSON.stringify(ir),
      },
    ]);
  });

  it('stores a definition larger than one entity over several, and reads it back whole', async () => {
    const [{ tables, store }, { store: other }] = await stores();
    // An emoji across every boundary: a part never splits a surrogate pair.
    const padding = `${'x'.repeat(ENTITY_CHARS - 5)}${'😀'.repeat(200_000)}`;
    const { ir, source } = definition('big', 'Big', padding);
    await store.save({ ir, source, format: 'yaml', by: 'lead@example.com', at: 1_000 });
    await store.save({ ...definition('big', 'Small'), format: 'yaml', by: 'lead@example.com', at: 2_000 });
    const parts = (await entitiesOf(tables, 'workflows')).filter((e) =>
      String(e.rowKey).startsWith('version|big|0000000001|'),
    );
    expect(parts.length).toBeGreaterThan(1);
    expect(parts[0]?.parts).toBe(parts.length);
    expect(await other.history('big')).toMatchObject([
      { version: 1, name: 'Big', source, ir },
      { version: 2, name: 'Small' },
    ]);
  });

  it('refuses a definition too large for one transaction, naming its size, and writes nothing', async () => {
    const [{ tables, store }] = await stores();
    const { ir, source } = definition('huge', 'Huge', 'y'.repeat(MAX_VERSION_BYTES));
    const saving = store.save({ ir, source, format: 'yaml', by: 'lead@example.com', at: 1_000 });
    await expect(saving).rejects.toMatchObject({
      status: 413,
      message: expect.stringMatching(/^workflow huge takes \d+ bytes to store/),
    });
    expect(await entitiesOf(tables, 'workflows')).toEqual([]);
  });

  it('lists what another instance saved since its last listing, not its cached versions', async () => {
    const [{ store }, { store: other }] = await stores();
    const save = (on: AzureWorkflowStore, id: string, name: string) =>
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

describe('the Azure tables registry', () => {
  it('names the tables the workflow, identity and intake adapters write, and they write no other', async () => {
    const [tables] = await fresh(() => twoClients((t) => t));
    const now = () => 1_000;
    await new AzureWorkflowStore(tables).save({
      ...definition('w', 'W'),
      format: 'yaml',
      by: 'a@example.com',
      at: 1,
    });
    await new AzureSessionStore(tables, { now }).createSession('a@example.com', 60_000);
    await new AzureApiTokenStore(tables, { now }).createApiToken('a@example.com', 'ci', ['runs:read']);
    await new AzureDirectory(tables).upsertUser({ email: 'a@example.com', role: 'admin' });
    await new AzureWebhookDeliveryStore(tables, { now }).claim('w', 'd', 'r');
    await new AzureRateLimiter(tables).take('k', 1, 60_000, 1_000);
    const written: string[] = [];
    for (const id of Object.keys(TABLES) as TableId[])
      if ((await entitiesOf(tables, id)).length > 0) written.push(id);
    expect(written.sort()).toEqual(['identity', 'intake', 'workflows']);
  });
});
