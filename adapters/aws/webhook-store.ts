// Accepted webhook deliveries in the DynamoDB table (adapters/aws/table.ts: pk `WEBHOOK#<workflowId>`, sk
// `DELIVERY#<deliveryId>`). A claim is a conditional put (`attribute_not_exists`): of concurrent claims of
// one delivery, from any Lambda, exactly one writes; the others read the winner's run with a strongly
// consistent get. Each claim carries a `ttl`, so DynamoDB forgets it a day (by default) later without any
// housekeeping; `prune` does the same on demand.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, WebhookClaim, WebhookDeliveryStore } from '../../functions/core/ports.js';
import { conditionFailed, deleteOlder, type Table, ttlSeconds } from './table.js';

const PREFIX = 'WEBHOOK#';

export interface DynamoWebhookDeliveryStoreOptions {
  /** How long DynamoDB keeps a claim before its TTL removes it (default a day). */
  ttlMs?: number;
}

export class DynamoWebhookDeliveryStore implements WebhookDeliveryStore {
  private readonly ttlMs: number;

  constructor(
    private readonly table: Table,
    private readonly clock: Pick<Clock, 'now'>,
    options: DynamoWebhookDeliveryStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 24 * 3_600_000;
  }

  async claim(workflowId: string, deliveryId: string, runId: string): Promise<WebhookClaim> {
    const key = { pk: `${PREFIX}${workflowId}`, sk: `DELIVERY#${deliveryId}` };
    const claimedAt = this.clock.now();
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { ...key, runId, claimedAt, ttl: ttlSeconds(claimedAt + this.ttlMs) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { runId, existing: false };
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
    const first = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }),
    );
    const firstRun = first.Item?.runId;
    if (typeof firstRun !== 'string')
      throw new Error(`webhook delivery ${deliveryId} of ${workflowId} vanished during its claim`);
    return { runId: firstRun, existing: true };
  }

  /** Deletes the claims made before `before` (each only while it is still that claim); how many. */
  prune(before: number): Promise<number> {
    return deleteOlder(this.table, PREFIX, 'claimedAt', before);
  }
}
