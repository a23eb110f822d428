// Spent approval-link nonces in Azure Table Storage (table `links`): one entity per nonce, PartitionKey
// entityKey(nonce), RowKey `link`. Only the token's random nonce is kept, never the token. A claim is a
// create, which fails (409) when the entity exists: of concurrent uses of one link, from any instance,
// exactly one writes. Table Storage forgets nothing by itself (no TTL), so the adapter checks expiry: `prune`
// (the housekeeping timer's, at most `limit` per call) deletes the entities whose token expired before a
// time, found by `expiresKey` (the expiry as fixed-width
// digits: a string compares the same on Table Storage, Cosmos DB and Azurite, where a large number's stored
// type varies). A nonce stays spent until it is pruned: an expired token is refused as expired before its
// nonce is looked at, so nothing depends on when that happens.
import type { TableClient } from '@azure/data-tables';
import type { ApprovalLinkStore, UsedLink } from '../../functions/core/approval-links.js';
import { checkPruneLimit, pruneMatching } from './prune.js';
import { type AzureTables, alreadyExists, digits, entityKey, readEntity } from './tables.js';

const ROW = 'link';

export class AzureApprovalLinkStore implements ApprovalLinkStore {
  private readonly links: TableClient;

  constructor(tables: AzureTables) {
    this.links = tables.client('links');
  }

  async claim(used: UsedLink): Promise<boolean> {
    if (used.nonce.length === 0) throw new Error('the link nonce is empty');
    try {
      await this.links.createEntity({
        partitionKey: entityKey(used.nonce),
        rowKey: ROW,
        ...used,
        expiresKey: digits(Math.max(0, Math.floor(used.expiresAt))),
      });
      return true;
    } catch (error) {
      if (alreadyExists(error)) return false;
      throw error;
    }
  }

  async isUsed(nonce: string): Promise<boolean> {
    return (await readEntity(this.links, entityKey(nonce), ROW)) !== undefined;
  }

  /** Forgets spent nonces whose tokens expired before `before`, at most `limit`; how many. */
  async prune(before: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (!Number.isFinite(before)) throw new Error(`before must be a time in ms since epoch, got ${before}`);
    checkPruneLimit(limit);
    if (before <= 0) return 0;
    return pruneMatching(this.links, `expiresKey lt '${digits(Math.ceil(before))}'`, limit);
  }
}
