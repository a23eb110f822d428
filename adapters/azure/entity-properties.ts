// An entity's own properties as read, without what the service adds (keys, ETag, timestamp): what a store
// writes back when it replaces an entity it read with some properties changed.
import type { TableEntityResult } from '@azure/data-tables';

export function ownProperties<T extends object>(entity: TableEntityResult<T>): Omit<T, 'etag'> {
  const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...own } = entity;
  return own as Omit<T, 'etag'>;
}
