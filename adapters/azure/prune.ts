// The bounded deletion the Azure adapters' `prune`s share. Table Storage keeps no TTL (DynamoDB and
// Firestore forget expired items by themselves), so a timer (functions/azure/housekeeping.ts) asks each
// store to delete what expired: the entities one query finds, each deleted only while it is as it was
// listed (its ETag: never an entity written again since), at most `limit` of them per call so one timer
// tick stays short however much accumulated — the rest goes on the next tick.
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { deleteAsRead } from './tables.js';

type Listed = TableEntityResult<Record<string, unknown>>;

/** The most entities a Table Storage query answers per page. */
const MAX_PAGE = 1000;

/** Throws a RangeError naming `limit` unless it is a positive whole number (or Infinity: no bound). */
export function checkPruneLimit(limit: number): void {
  if (limit !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(limit) && limit > 0))
    throw new RangeError(`prune: limit must be a positive whole number of entities, not ${limit}`);
}

/**
 * Calls `remove` on each of the first `limit` entities `filter` matches (in key order); answers how many
 * it removed (`remove` answers false for one another writer changed or deleted first).
 */
export async function pruneMatching(
  client: TableClient,
  filter: string,
  limit: number,
  remove: (entity: Listed) => Promise<boolean> = (entity) => deleteAsRead(client, entity),
): Promise<number> {
  checkPruneLimit(limit);
  let seen = 0;
  let removed = 0;
  const pages = client
    .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
    .byPage({ maxPageSize: Math.min(limit, MAX_PAGE) });
  for await (const page of pages)
    for (const entity of page) {
      if (seen++ >= limit) return removed;
      if (await remove(entity)) removed++;
    }
  return removed;
}
