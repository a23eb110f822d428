// Spent approval-link nonces in the DynamoDB table (adapters/aws/table.ts: pk `LINK#<nonce>`, sk `LINK`).
// Only the token's random nonce is kept, never the token. A claim is a conditional put
// (`attribute_not_exists`): of concurrent uses of one link, from any Lambda, exactly one writes. The item's
// `ttl` is the token's own expiry: DynamoDB forgets it after that, as `prune` does on demand.
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalLinkStore, UsedLink } from '../../functions/core/approval-links.js';
import { conditionFailed, deleteOlder, type Table, ttlSeconds } from './table.js';

const PREFIX = 'LINK#';

export class DynamoApprovalLinkStore implements ApprovalLinkStore {
  constructor(private readonly table: Table) {}

  async claim(used: UsedLink): Promise<boolean> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { pk: `${PREFIX}${used.nonce}`, sk: 'LINK', ...used, ttl: ttlSeconds(used.expiresAt) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async isUsed(nonce: string): Promise<boolean> {
    const found = await this.table.client.send(
      new GetCommand({
        TableName: this.table.name,
        Key: { pk: `${PREFIX}${nonce}`, sk: 'LINK' },
        ConsistentRead: true,
      }),
    );
    return found.Item !== undefined;
  }

  /** Forgets spent nonces whose tokens expired before `before`; how many. */
  prune(before: number): Promise<number> {
    return deleteOlder(this.table, PREFIX, 'expiresAt', before);
  }
}
