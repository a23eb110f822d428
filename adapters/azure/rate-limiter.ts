// The rate limiter on Azure Table Storage (or Cosmos DB for Table), as FirestoreRateLimiter and
// DynamoRateLimiter are: the same sliding-window log as the SQLite limiter, one entity per bucket holding
// the times of the calls still in its window, trimmed on every write. Table `intake`
// (adapters/azure/tables.ts):
//
// | entity | PartitionKey | RowKey | properties |
// | --- | --- | --- | --- |
// | rate-limit bucket | `buckets` | `<key>` | key, hits (JSON text of the call times, packed), lastAt (Int64) |
//
// (`<key>` is entityKey(key).) A take reads every bucket it draws from, decides, and writes every bucket in
// ONE entity-group transaction, each write conditioned on the ETag it read (or a create for a bucket not
// there yet): all buckets or none, and of concurrent takes from any instance exactly the limit wins; a take
// that lost the race (409 or 412) reads again and decides again, a bounded number of times. A transaction
// covers one partition, so every bucket is in the one partition `buckets`: a take's buckets are keyed by
// user, group, org and tool, or by account and address, with nothing in common to partition by. A
// partition serves about 2,000 entity operations a second on Table Storage (a take costs one read per
// bucket and one transaction); a refused take writes nothing.
//
// The login throttle (functions/core/login-throttle.ts AttemptCounter) also gives a hit back (`release`,
// conditioned on the ETag like a take), forgets a bucket (`clear`: the entity deleted) and asks how long
// until a full bucket has room (`retryAfter`, one read). Table Storage has no TTL: `prune` deletes the
// buckets whose last call is older than a time (a query of the partition filtered on lastAt), each only
// while it is as read, at most `limit` per call (the housekeeping timer, functions/azure/housekeeping.ts).
//
// Limitation: an entity holds at most 1 MiB, so a bucket holds at most MAX_AZURE_LIMIT (10,000) calls per
// window (about 300 KB of UTF-16 text); a larger limit is refused when it is taken from, naming the bucket.
import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { AttemptCounter } from '../../functions/core/login-throttle.js';
import type { RateLimitBucket, RateLimiter, RateLimitVerdict } from '../../functions/core/ports.js';
import { validateBuckets } from '../local/rate-limiter.js';
import { fromInt64, int64, int64Literal } from './int64.js';
import { pruneMatching } from './prune.js';
import {
  type AzureTables,
  entityKey,
  notFound,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

/** The largest limit one bucket entity holds (see the header). */
export const MAX_AZURE_LIMIT = 10_000;

const PARTITION = 'buckets';

type Stored = TableEntityResult<Record<string, unknown>>;

/** The call times a bucket entity holds (none for no entity). */
function hitsOf(entity: Stored | undefined): number[] {
  const text = entity === undefined ? undefined : unpackText(entity, 'hits');
  return text === undefined ? [] : (JSON.parse(text) as number[]);
}

/** A bucket entity holding `hits`, last written at `now`. */
function bucketEntity(key: string, hits: number[], now: number) {
  return {
    partitionKey: PARTITION,
    rowKey: entityKey(key),
    key,
    ...packText('hits', JSON.stringify(hits)),
    lastAt: int64(now),
  };
}

export class AzureRateLimiter implements RateLimiter, AttemptCounter {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('intake');
  }

  async take(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return (await this.takeAll([{ key, limit, windowMs }], now)).allowed;
  }

  async takeAll(buckets: RateLimitBucket[], now: number): Promise<RateLimitVerdict> {
    validateBuckets(buckets);
    for (const b of buckets)
      if (b.limit > MAX_AZURE_LIMIT)
        throw new RangeError(
          `rate limit for ${b.key} is ${b.limit} calls; on Azure Table Storage a bucket holds at most ${MAX_AZURE_LIMIT} calls per window`,
        );
    // A key given twice counts each of its calls, as on SQLite: decided on what was there before.
    const keys = [...new Set(buckets.map((b) => b.key))];
    return retryRaces(`rate limit buckets ${keys.join(', ')}`, async () => {
      const entities = await Promise.all(keys.map((key) => this.read(key)));
      const read = new Map(keys.map((key, i) => [key, entities[i]] as const));
      const kept = new Map<string, number[]>();
      for (const bucket of buckets) {
        const inWindow = (kept.get(bucket.key) ?? hitsOf(read.get(bucket.key))).filter(
          (at) => at > now - bucket.windowMs,
        );
        if (inWindow.length >= bucket.limit) return { allowed: false, key: bucket.key };
        kept.set(bucket.key, inWindow);
      }
      const actions: TransactionAction[] = keys.map((key) => {
        const mine = buckets.filter((b) => b.key === key);
        const next = bucketEntity(key, [...(kept.get(key) ?? []), ...mine.map(() => now)], now);
        const stored = read.get(key);
        return stored === undefined ? ['create', next] : ['update', next, 'Replace', { etag: stored.etag }];
      });
      await this.client.submitTransaction(actions);
      return { allowed: true };
    });
  }

  /** Gives back the hit `key` took at `at` (one of them): the call it counted turned out not to count. */
  async release(key: string, at: number): Promise<void> {
    return retryRaces(`rate limit bucket ${key}`, async () => {
      const stored = await this.read(key);
      const hits = hitsOf(stored);
      const index = hits.indexOf(at);
      if (stored === undefined || index < 0) return;
      const next = bucketEntity(
        key,
        hits.filter((_, i) => i !== index),
        fromInt64(stored.lastAt),
      );
      await this.client.updateEntity(next, 'Replace', { etag: stored.etag });
    });
  }

  /** Forgets every hit of `key` (its entity deleted; a take after it starts a new bucket). */
  async clear(key: string): Promise<void> {
    try {
      await this.client.deleteEntity(PARTITION, entityKey(key));
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  }

  /** Milliseconds until `bucket` has room for one more call (0 when it has room now). */
  async retryAfter(bucket: RateLimitBucket, now: number): Promise<number> {
    const hits = hitsOf(await this.read(bucket.key))
      .filter((at) => at > now - bucket.windowMs)
      .sort((a, b) => b - a);
    // The call fits once all but limit - 1 of the hits have left the window: the limit-th newest is the one.
    const last = hits[bucket.limit - 1];
    return last === undefined ? 0 : Math.max(0, last + bucket.windowMs - now);
  }

  /** Deletes the buckets whose last call was before `before`, at most `limit`; how many. */
  async prune(before: number, limit = Number.POSITIVE_INFINITY): Promise<number> {
    const filter = `${odata`PartitionKey eq ${PARTITION}`} and lastAt lt ${int64Literal(before)}`;
    return pruneMatching(this.client, filter, limit);
  }

  private read(key: string): Promise<Stored | undefined> {
    return readEntity(this.client, PARTITION, entityKey(key));
  }
}
