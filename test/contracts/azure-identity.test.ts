// The port contracts of workflows, identity and intake run against the Azure Table adapters on Azurite
// (test/support/azurite.ts: Table Storage's real wire protocol, ETags, 409/412 and entity-group
// transactions; missing, the suite fails). Each test gets tables of its own (a fresh prefix) reached through
// two AzureTables (two clients), as two function instances would. Beside the contracts: what the entities
// hold (only hashes of secrets, times a prune filters on as Int64), keys for awkward text, a full rate-limit
// bucket, pruning, expired webhook claims and sessions, and workflow definitions larger than one entity.
import type { TableEntityResult } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureDirectory } from '../../adapters/azure/directory.js';
import { AzureRateLimiter, MAX_AZURE_LIMIT } from '../../adapters/azure/rate-limiter.js';
import { AzureApiTokenStore, AzureSessionStore } from '../../adapters/azure/session-store.js';
import { AzureTables, type TableId } from '../../adapters/azure/tables.js';
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
