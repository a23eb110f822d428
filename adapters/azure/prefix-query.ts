// The one query shape the Azure identity and intake adapters make: the entities of ONE partition whose
// RowKey starts with a prefix (a RowKey range, the cheap query Table Storage has), optionally narrowed by a
// filter on their properties, read page by page to the end.
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';

/** The first text after every text that starts with `prefix` (its last character one higher). */
export function afterPrefix(prefix: string): string {
  if (prefix.length === 0) throw new Error('a RowKey range needs a prefix');
  return `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
}

/**
 * Every entity of partition `partitionKey` whose RowKey starts with `prefix` (every one for ''), in RowKey
 * order; `filter` (OData, built with `odata`) narrows them further.
 */
export async function entitiesWithPrefix<T extends object = Record<string, unknown>>(
  client: TableClient,
  partitionKey: string,
  prefix: string,
  filter?: string,
): Promise<Array<TableEntityResult<T>>> {
  const range =
    prefix === ''
      ? odata`PartitionKey eq ${partitionKey}`
      : odata`PartitionKey eq ${partitionKey} and RowKey ge ${prefix} and RowKey lt ${afterPrefix(prefix)}`;
  const found: Array<TableEntityResult<T>> = [];
  const entities = client.listEntities<T>({
    queryOptions: { filter: filter === undefined ? range : `${range} and (${filter})` },
  });
  for await (const entity of entities) found.push(entity);
  return found;
}
