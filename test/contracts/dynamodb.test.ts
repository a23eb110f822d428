// The port contracts run against the AWS adapters on DynamoDB, spoken to over its real wire protocol by
// moto_server on loopback (test/support/moto.ts: missing, the suite fails). Each test gets a fresh table,
// reached through two clients (two connections), as two Lambdas would.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalLinkStore } from '../../adapters/aws/approval-link-store.js';
import { DynamoRateLimiter, MAX_DYNAMO_LIMIT } from '../../adapters/aws/rate-limiter.js';
import { DynamoScheduleStore } from '../../adapters/aws/schedule-store.js';
import { DynamoQuorumTallies, DynamoStepVisits } from '../../adapters/aws/step-tallies.js';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { DynamoWebhookDeliveryStore } from '../../adapters/aws/webhook-store.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import { type Contenders, fresh } from './contenders.js';
import { describeRateLimiterContract } from './rate-limiter.contract.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import { describeQuorumTalliesContract, describeStepVisitsContract } from './step-tallies.contract.js';
import { describeWebhookDeliveryStoreContract } from './webhook-delivery-store.contract.js';

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
