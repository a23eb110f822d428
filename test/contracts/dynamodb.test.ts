// The port contracts run against the AWS adapters on DynamoDB, spoken to over its real wire protocol by
// moto_server on loopback (test/support/moto.ts: missing, the suite fails). Each test gets a fresh table,
// reached through two clients (two connections), as two Lambdas would; the result store gets a fresh S3
// bucket the same way. Beside the contracts: what one rate-limit bucket holds, the run's audit trail, and
// the approval store writing to it, and what the vault keeps in the table.
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DynamoApprovalLinkStore } from '../../adapters/aws/approval-link-store.js';
import { DynamoApprovalStore } from '../../adapters/aws/approval-store.js';
import { DynamoRunAudit } from '../../adapters/aws/audit.js';
import { DynamoDirectory } from '../../adapters/aws/directory.js';
import { DynamoRateLimiter, MAX_DYNAMO_LIMIT } from '../../adapters/aws/rate-limiter.js';
import { S3ResultStore } from '../../adapters/aws/result-store.js';
import { DynamoScheduleStore } from '../../adapters/aws/schedule-store.js';
import { DynamoApiTokenStore, DynamoSessionStore } from '../../adapters/aws/session-store.js';
import { DynamoQuorumTallies, DynamoStepVisits } from '../../adapters/aws/step-tallies.js';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { DATA_KEY_ITEM, DynamoVault } from '../../adapters/aws/vault.js';
import { DynamoWebhookDeliveryStore } from '../../adapters/aws/webhook-store.js';
import { DynamoWorkflowStore } from '../../adapters/aws/workflow-store.js';
import { approvalCallbackKey } from '../../adapters/local/approval-store.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import { sha256Hex } from '../../functions/core/auth.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import { describeAdminDirectoryContract } from './admin-directory.contract.js';
import { describeApiTokenStoreContract } from './api-token-store.contract.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import { approvalRecord, describeApprovalStoreContract } from './approval-store.contract.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { describeDirectoryContract } from './directory.contract.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';
import { describeResultStoreContract } from './result-store.contract.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import { describeSessionStoreContract } from './session-store.contract.js';
import { describeQuorumTalliesContract, describeStepVisitsContract } from './step-tallies.contract.js';
import { describeVaultContract } from './vault.contract.js';
import { describeWebhookDeliveryStoreContract } from './webhook-delivery-store.contract.js';
import { describeWorkflowStoreContract } from './workflow-store.contract.js';

let moto: Moto | undefined;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

let tables = 0;

/** A fresh table and two clients of it, each wrapped by `adapter`. */
async function twoClients<T>(adapter: (table: Table) => T): Promise<Contenders<T>> {
  if (moto === undefined) throw new Error('moto_server is not running');
  const name = `stepgate-contract-${++tables}`;
  const config = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const handles = [openTable(name, config), openTable(name, config)];
  await createTable(handles[0] as Table);
  return {
    connections: handles.map(adapter),
    close: () => {
      for (const handle of handles) handle.client.destroy();
    },
  };
}

describeWebhookDeliveryStoreContract('DynamoDB', (time) =>
  twoClients((table) => new DynamoWebhookDeliveryStore(table, { now: () => time.at })),
);
describeApprovalLinkStoreContract('DynamoDB', () =>
  twoClients((table) => new DynamoApprovalLinkStore(table)),
);
describeRateLimiterContract('DynamoDB', () => twoClients((table) => new DynamoRateLimiter(table)));
describeScheduleStoreContract('DynamoDB', () => twoClients((table) => new DynamoScheduleStore(table)));
describeStepVisitsContract('DynamoDB', () => twoClients((table) => new DynamoStepVisits(table)));
describeQuorumTalliesContract('DynamoDB', () => twoClients((table) => new DynamoQuorumTallies(table)));

// Beyond the contract: what one bucket item holds on DynamoDB, and the housekeeping of buckets.
describe('DynamoRateLimiter on DynamoDB', () => {
  const limiters = () =>
    fresh(() => twoClients((table) => ({ table, limiter: new DynamoRateLimiter(table) })));

  it('holds a full bucket of the largest limit in one item, and refuses a larger limit naming the bucket', async () => {
    const [{ table, limiter }] = await limiters();
    const bucket = { key: 'big', limit: MAX_DYNAMO_LIMIT, windowMs: 3_600_000 };
    // All but one call already taken, at the latest times a take could have written them.
    const hits = Array.from({ length: MAX_DYNAMO_LIMIT - 1 }, (_, i) => 1_700_000_000_000 + i);
    await table.client.send(
      new PutCommand({ TableName: table.name, Item: { pk: 'RATE#big', sk: 'RATE', hits, version: 1 } }),
    );
    const now = 1_700_000_000_000 + MAX_DYNAMO_LIMIT;
    expect(await limiter.takeAll([bucket], now)).toEqual({ allowed: true });
    expect(await limiter.takeAll([bucket], now)).toEqual({ allowed: false, key: 'big' });
    await expect(limiter.takeAll([{ ...bucket, limit: MAX_DYNAMO_LIMIT + 1 }], now)).rejects.toThrow(
      `rate limit for big is ${MAX_DYNAMO_LIMIT + 1} calls`,
    );
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

describe('DynamoRateLimiter as the login throttle counts', () => {
  it('says when a full bucket has room, gives one hit back, and forgets a key', async () => {
    const [limiter, other] = await fresh(() => twoClients((table) => new DynamoRateLimiter(table)));
    const bucket = { key: 'login:x', limit: 2, windowMs: 60_000 };
    await limiter.takeAll([bucket], 1_000);
    await limiter.takeAll([bucket], 2_000);
    expect(await other.retryAfter(bucket, 10_000)).toBe(51_000);
    await other.release('login:x', 2_000);
    expect(await limiter.retryAfter(bucket, 10_000)).toBe(0);
    expect(await limiter.takeAll([bucket], 10_000)).toEqual({ allowed: true });
    await other.clear('login:x');
    expect(await limiter.takeAll([{ ...bucket, limit: 1 }], 11_000)).toEqual({ allowed: true });
  });
});

describeWorkflowStoreContract('DynamoDB', () => twoClients((table) => new DynamoWorkflowStore(table)));
describeSessionStoreContract('DynamoDB', (time) =>
  twoClients((table) => new DynamoSessionStore(table, { now: () => time.at })),
);
describeApiTokenStoreContract('DynamoDB', (time) =>
  twoClients((table) => new DynamoApiTokenStore(table, { now: () => time.at })),
);
describeDirectoryContract('DynamoDB', async (users) => {
  const [directory] = await fresh(() => twoClients((table) => new DynamoDirectory(table)));
  for (const user of users) await directory.upsertUser(user);
  return directory;
});
describeAdminDirectoryContract('DynamoDB', () => twoClients((table) => new DynamoDirectory(table)));

describe('DynamoDB directory passwords', () => {
  it('logs a user in with the password set, keeps it across an upsert, never for a service account', async () => {
    const [directory, other] = await fresh(() => twoClients((table) => new DynamoDirectory(table)));
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
});

describe('DynamoDB sessions and API tokens at rest', () => {
  it('keeps only hashes: no session token and no API token secret is in the table', async () => {
    const [{ table, sessions, tokens }] = await fresh(() =>
      twoClients((table) => ({
        table,
        sessions: new DynamoSessionStore(table),
        tokens: new DynamoApiTokenStore(table),
      })),
    );
    const grant = await sessions.createSession('alice@example.com', 3_600_000);
    const { id, token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    expect(await tokens.verifyApiToken(token)).not.toBeNull();
    const { Items = [] } = await table.client.send(new ScanCommand({ TableName: table.name }));
    const stored = JSON.stringify(Items);
    expect(stored).toContain(sha256Hex(grant.token));
    expect(stored).not.toContain(grant.token);
    expect(stored).not.toContain(token.slice(`sg_${id}_`.length));
  });
});

let buckets = 0;

/** A fresh S3 bucket and two clients of it, each wrapped by `adapter`. */
async function twoS3Clients<T>(adapter: (client: S3Client, bucket: string) => T): Promise<Contenders<T>> {
  if (moto === undefined) throw new Error('moto_server is not running');
  const bucket = `stepgate-blobs-${++buckets}`;
  const config = { ...MOTO_CLIENT, endpoint: moto.endpoint, forcePathStyle: true };
  const clients = [new S3Client(config), new S3Client(config)];
  await clients[0]?.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    connections: clients.map((client) => adapter(client, bucket)),
    close: () => {
      for (const client of clients) client.destroy();
    },
  };
}

describeResultStoreContract('S3', () => twoS3Clients((client, bucket) => new S3ResultStore(client, bucket)));

const MASTER_KEY = new Uint8Array(32).fill(7);
const clock = { now: () => 1_000 };

/** The audit entry a decision writes with its update. */
const decisionEntry = (by: string): AuditEntry => ({
  type: 'approval.decision',
  step: 'ask',
  data: {
    level: 1,
    decides: true,
    by,
    decision: 'approve',
    comment: null,
    at: '2026-01-01T00:00:00.000Z',
    channel: 'api',
  },
});

/** An approval store and the audit trail it writes to, over one client of the table. */
function approvalsWithAudit(table: Table): { store: DynamoApprovalStore; audit: DynamoRunAudit } {
  const audit = new DynamoRunAudit(table, clock);
  const callbackKey = approvalCallbackKey(MASTER_KEY);
  return { store: new DynamoApprovalStore(table, { callbackKey, audit }), audit };
}

describeApprovalStoreContract('DynamoDB', () => twoClients((table) => approvalsWithAudit(table).store));

describe('the DynamoDB audit trail', () => {
  it('numbers entries from 1 in the order they were appended, per run', async () => {
    const [audit, other] = await fresh(() => twoClients((table) => new DynamoRunAudit(table, clock)));
    await audit.append('r1', decisionEntry('a@example.com'));
    await other.append('r2', decisionEntry('x@example.com'));
    await other.append('r1', decisionEntry('b@example.com'));
    expect(await audit.list('r1')).toEqual([
      {
        seq: 1,
        at: 1_000,
        type: 'approval.decision',
        step: 'ask',
        data: decisionEntry('a@example.com').data,
      },
      {
        seq: 2,
        at: 1_000,
        type: 'approval.decision',
        step: 'ask',
        data: decisionEntry('b@example.com').data,
      },
    ]);
    expect((await audit.list('r2')).map((r) => r.seq)).toEqual([1]);
    expect(await audit.list('r3')).toEqual([]);
  });

  it('keeps the trail gapless and ordered under many concurrent appends', async () => {
    const audits = await fresh(() => twoClients((table) => new DynamoRunAudit(table, clock)));
    const outcomes = await race(8, (i) =>
      connectionFor(audits, i).append('r1', decisionEntry(`approver${i}@example.com`)),
    );
    const seqs = outcomes.map((o) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value.seq;
    });
    expect([...seqs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const trail = await audits[1].list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const by = (r: (typeof trail)[number]) => (r.data as { by: string }).by;
    expect(new Set(trail.map(by)).size).toBe(8);
  });
});

describe('the DynamoDB approval store with its audit trail', () => {
  it('writes a decision and its audit entry together, and neither when the version moved on', async () => {
    const [a, b] = await fresh(() => twoClients(approvalsWithAudit));
    await a.store.create(approvalRecord());
    const read = await a.store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    await a.audit.append('r1', {
      type: 'run.started',
      data: { trigger: 'manual', user: 'alice@example.com', input: {} },
    });
    expect(
      await b.store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).toMatchObject({ status: 'approved', version: 2 });
    expect(await a.store.update({ ...read, status: 'rejected' }, decisionEntry('dana@example.com'))).toBe(
      undefined,
    );
    expect(await a.store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'approved', version: 2 });
    const trail = await b.audit.list('r1');
    expect(trail.map((r) => [r.seq, r.type])).toEqual([
      [1, 'run.started'],
      [2, 'approval.decision'],
    ]);
    expect(trail[1]?.data).toMatchObject({ by: 'bob@example.com' });
  });

  it('lets exactly one of many decisions from one read succeed, with exactly its one entry', async () => {
    const pairs = await fresh(() => twoClients(approvalsWithAudit));
    await pairs[0].store.create(approvalRecord());
    const read = await pairs[0].store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    const outcomes = await race(8, (i) =>
      connectionFor(pairs, i).store.update(
        { ...read, status: 'approved' },
        decisionEntry(`approver${i}@example.com`),
      ),
    );
    const won = outcomes.flatMap((o, i) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value === undefined ? [] : [i];
    });
    expect(won).toHaveLength(1);
    const trail = await pairs[1].audit.list('r1');
    expect(trail.map((r) => (r.data as { by: string }).by)).toEqual([`approver${won[0]}@example.com`]);
  });

  it('appends the entries of decisions on different requests of one run without a gap', async () => {
    const pairs = await fresh(() => twoClients(approvalsWithAudit));
    const levels = [1, 2, 3, 4, 5, 6];
    for (const level of levels) await pairs[0].store.create(approvalRecord({ level }));
    const outcomes = await race(levels.length, async (i) => {
      const { store } = connectionFor(pairs, i);
      const read = await store.get('r1', 'ask', 1, i + 1);
      if (read === undefined) throw new Error('not created');
      return store.update({ ...read, status: 'approved' }, decisionEntry(`level${i + 1}@example.com`));
    });
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') throw outcome.reason;
      expect(outcome.value).toMatchObject({ version: 2 });
    }
    expect((await pairs[1].audit.list('r1')).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps the callback handle sealed in the item, bound to its request', async () => {
    const [{ store, table }] = await fresh(() =>
      twoClients((table) => ({ ...approvalsWithAudit(table), table })),
    );
    const callback = 'arn:aws:states:task-token:AAAAKgAAAAIAAAAAAAAAAd9vSECRET';
    await store.create(approvalRecord({ callback }));
    const { Items = [] } = await table.client.send(new ScanCommand({ TableName: table.name }));
    const raw = Items[0]?.callback as Uint8Array;
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(raw).toString('latin1')).not.toContain('SECRET');
    await store.create(approvalRecord({ level: 2 }));
    await table.client.send(
      new UpdateCommand({
        TableName: table.name,
        Key: { pk: Items[0]?.pk, sk: String(Items[0]?.sk).replace(/1$/, '2') },
        UpdateExpression: 'SET callback = :c',
        ExpressionAttributeValues: { ':c': raw },
      }),
    );
    // Moved to another request's item, the ciphertext no longer opens (and the error holds no handle).
    await expect(store.get('r1', 'ask', 1, 2)).rejects.toThrow(
      /cannot decrypt the callback handle of approval r1\/ask level 2/,
    );
    await expect(store.get('r1', 'ask', 1, 2)).rejects.not.toThrow(/SECRET/);
    expect((await store.get('r1', 'ask', 1, 1))?.callback).toBe(callback);
  });

  it('refuses an update that carries an audit entry when it has no audit trail, and writes nothing', async () => {
    const [store] = await fresh(() => twoClients((table) => new DynamoApprovalStore(table)));
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    await expect(
      store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).rejects.toThrow(/no audit trail/);
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });
  });
});

/** A fresh table and a fresh KMS key; two vaults over them, each with its own DynamoDB and KMS clients. */
async function twoVaults(): Promise<Contenders<{ vault: DynamoVault; table: Table; keyId: string }>> {
  if (moto === undefined) throw new Error('moto_server is not running');
  const config = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const kms = [new KMSClient(config), new KMSClient(config)];
  const { KeyMetadata } = await (kms[0] as KMSClient).send(new CreateKeyCommand({}));
  const keyId = KeyMetadata?.KeyId;
  if (keyId === undefined) throw new Error('moto created no KMS key');
  const tables = await twoClients((table) => table);
  return {
    connections: tables.connections.map((table, i) => ({
      vault: new DynamoVault(table, kms[i] as KMSClient, keyId, { now: () => 1_000 }),
      table,
      keyId,
    })),
    close: () => {
      for (const client of kms) client.destroy();
      return tables.close();
    },
  };
}

describeVaultContract('DynamoDB + KMS', async () => {
  const vaults = await twoVaults();
  return { connections: vaults.connections.map((c) => c.vault), close: vaults.close };
});

describe('the DynamoDB vault', () => {
  it('stores only sealed values, and the data key only as KMS ciphertext', async () => {
    const [{ vault, table }, { vault: other }] = await fresh(twoVaults);
    const value = 'sk_live_PLAINTEXT_SECRET_VALUE';
    await vault.set('org', 'STRIPE', value);
    await other.set('group:ops', 'STRIPE', value);
    const { Items = [] } = await table.client.send(new ScanCommand({ TableName: table.name }));
    const keyItems = Items.filter((i) => i.pk === DATA_KEY_ITEM.pk);
    const secrets = Items.filter((i) => String(i.pk).startsWith('VAULT#'));
    expect(keyItems).toHaveLength(1);
    expect(secrets.map((i) => [i.pk, i.sk])).toEqual(
      expect.arrayContaining([
        ['VAULT#org', 'SECRET#STRIPE'],
        ['VAULT#group:ops', 'SECRET#STRIPE'],
      ]),
    );
    for (const item of secrets) {
      expect(Object.keys(item).sort()).toEqual(['name', 'pk', 'scope', 'sealed', 'sk', 'updatedAt']);
      expect(item.sealed).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(item.sealed).toString('latin1')).not.toContain('PLAINTEXT');
    }
    const keyItem = keyItems[0] as Record<string, unknown>;
    expect(Object.keys(keyItem).sort()).toEqual(['createdAt', 'encryptedKey', 'kmsKeyId', 'pk', 'sk']);
    // Not the 32 raw key bytes: KMS's ciphertext blob, longer than the key it wraps.
    expect(keyItem.encryptedKey).toBeInstanceOf(Uint8Array);
    expect((keyItem.encryptedKey as Uint8Array).length).toBeGreaterThan(32);
    expect(JSON.stringify(Items)).not.toContain('PLAINTEXT');
    // A secret moved to another name no longer opens, and the error shows no value.
    const org = secrets.find((i) => i.pk === 'VAULT#org');
    await table.client.send(
      new PutCommand({ TableName: table.name, Item: { ...org, sk: 'SECRET#MOVED', name: 'MOVED' } }),
    );
    const moved = vault.resolve({ email: 'a@example.com', groups: [] }, ['MOVED']);
    await expect(moved).rejects.toThrow(/cannot decrypt secret MOVED in scope org/);
  });

  it('agrees on one data key when many vaults use an empty table at once', async () => {
    const [first, second] = await fresh(twoVaults);
    const config = { ...MOTO_CLIENT, endpoint: (moto as Moto).endpoint };
    const clients = Array.from({ length: 6 }, () => new KMSClient(config));
    onTestFinished(() => {
      for (const client of clients) client.destroy();
    });
    const racers = clients.map((client, i) => {
      const { table, keyId } = i % 2 === 0 ? first : second;
      return new DynamoVault(table, client, keyId);
    });
    const outcomes = await race(racers.length, (i) =>
      (racers[i] as DynamoVault).set('org', `K${i}`, `value-${i}`),
    );
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    const names = racers.map((_, i) => `K${i}`);
    const resolved = await first.vault.resolve({ email: 'a@example.com', groups: [] }, names);
    expect(resolved.values).toEqual(Object.fromEntries(names.map((n, i) => [n, `value-${i}`])));
    const { Items = [] } = await first.table.client.send(new ScanCommand({ TableName: first.table.name }));
    expect(Items.filter((i) => i.pk === DATA_KEY_ITEM.pk)).toHaveLength(1);
  });
});
