// The port contracts run against the AWS adapters on DynamoDB, spoken to over its real wire protocol by
// moto_server on loopback (test/support/moto.ts: missing, the suite fails). Each test gets a fresh table,
// reached through two clients (two connections), as two Lambdas would.
import { afterAll, beforeAll } from 'vitest';
import { DynamoApprovalLinkStore } from '../../adapters/aws/approval-link-store.js';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { DynamoWebhookDeliveryStore } from '../../adapters/aws/webhook-store.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import type { Contenders } from './contenders.js';
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
