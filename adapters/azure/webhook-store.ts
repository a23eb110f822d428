// Accepted webhook deliveries in Azure Table Storage (or Cosmos DB for Table), as
// FirestoreWebhookDeliveryStore and DynamoWebhookDeliveryStore keep them. Table `intake`
// (adapters/azure/tables.ts):
//
// | entity | PartitionKey | RowKey | properties |
// | --- | --- | --- | --- |
// | webhook delivery claim | `webhook|<workflowId>` | `<deliveryId>` | workflowId, deliveryId, runId, claimedAt (Int64) |
//
// (Both keys are entityKey()s.) A claim is a create: of concurrent claims of one delivery, from any
// function instance, exactly one writes (the others get 409) and the others read the winner's run.
//
// Table Storage has no TTL: a claim expires `ttlMs` (a day by default) after it was made, and the adapter
// treats an expired claim as gone, so a redelivery after the expiry starts a run. Replacing an expired
// claim is conditioned on the ETag it was read with (If-Match), so of concurrent claimers exactly one
// replaces it. `prune` deletes claims (the housekeeping timer calls it, functions/azure/housekeeping.ts): a
// query of the webhook partitions' range with a filter on claimedAt, each deletion conditioned the same way
// (never a claim made again since it was read), at most `limit` per call (adapters/azure/prune.ts).
import { odata, type TableClient } from '@azure/data-tables';
import type { Clock, WebhookClaim, WebhookDeliveryStore } from '../../functions/core/ports.js';
import { fromInt64, int64, int64Literal } from './int64.js';
import { afterPrefix } from './prefix-query.js';
import { pruneMatching } from './prune.js';
import { type AzureTables, alreadyExists, entityKey, readEntity, retryRaces } from './tables.js';

export interface AzureWebhookDeliveryStoreOptions {
  /** How long a claim is kept (default a day). */
  ttlMs?: number;
}

interface ClaimEntity {
  workflowId: string;
  deliveryId: string;
  runId: string;
  claimedAt: unknown;
}

/** Every webhook partition starts with this, a long workflow id's too (its entityKey is `~` and a hash). */
const PARTITIONS = 'webhook|';

export class AzureWebhookDeliveryStore implements WebhookDeliveryStore {
  private readonly ttlMs: number;
  private readonly client: TableClient;

  constructor(
    tables: AzureTables,
    private readonly clock: Pick<Clock, 'now'>,
    options: AzureWebhookDeliveryStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.client = tables.client('intake');
  }

  async claim(workflowId: string, deliveryId: string, runId: string): Promise<WebhookClaim> {
    const keys = { partitionKey: `${PARTITIONS}${entityKey(workflowId)}`, rowKey: entityKey(deliveryId) };
    return retryRaces(`claiming webhook delivery ${deliveryId} of ${workflowId}`, async () => {
      const claimedAt = this.clock.now();
      const claim = { ...keys, workflowId, deliveryId, runId, claimedAt: int64(claimedAt) };
      try {
        await this.client.createEntity(claim);
        return { runId, existing: false };
      } catch (error) {
        if (!alreadyExists(error)) throw error;
      }
      const found = await readEntity<ClaimEntity>(this.client, keys.partitionKey, keys.rowKey);
      // Pruned between the create and the read: created again (a racer creating it first makes this lose).
      if (found === undefined) {
        await this.client.createEntity(claim);
        return { runId, existing: false };
      }
      if (fromInt64(found.claimedAt) + this.ttlMs > claimedAt) return { runId: found.runId, existing: true };
      await this.client.updateEntity(claim, 'Replace', { etag: found.etag });
      return { runId, existing: false };
    });
  }

  /** Deletes the claims made before `before` (each only while it is still that claim), at most `limit`; how many. */
  async prune(before: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    const filter = `${odata`PartitionKey ge ${PARTITIONS} and PartitionKey lt ${afterPrefix(PARTITIONS)}`} and claimedAt lt ${int64Literal(before)}`;
    return pruneMatching(this.client, filter, limit);
  }
}
