// The rate limiter on the DynamoDB table (adapters/aws/table.ts: pk `RATE#<key>`, sk `RATE`): the same
// sliding-window log as the SQLite limiter, one item per bucket holding the times of the calls still in its
// window (`hits`, trimmed on every write), a `version`, and a `ttl` (the last call plus its window), so a
// bucket no longer used disappears on its own. A take reads every bucket with strongly consistent reads,
// decides, and writes every bucket in one TransactWriteItems, each conditioned on the version it read (or
// on not existing yet): all buckets or none, and of concurrent takes from any Lambda exactly the limit
// wins; a take that lost the race reads again and decides again (a bounded number of times).
//
// Limitation: a bucket is one item, and an item holds at most 400 KB. A call's time is a number of about 9
// bytes in the list, so a bucket holds at most MAX_DYNAMO_LIMIT (10,000) calls per window, about 90 KB;
// a larger limit is refused when it is taken from, naming the bucket, never silently cut short.
//
// The login throttle (functions/core/login-throttle.ts AttemptCounter) also gives a hit back (`release`,
// compare-and-set on the version like a take), forgets a key (`clear`) and asks when a full bucket has
// room again (`retryAfter`).
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { AttemptCounter } from '../../functions/core/login-throttle.js';
import type { RateLimitBucket, RateLimiter, RateLimitVerdict } from '../../functions/core/ports.js';
import { validateBuckets } from '../local/rate-limiter.js';
import { cancelledBy, conditionFailed, deleteOlder, type Table, ttlSeconds } from './table.js';

const PREFIX = 'RATE#';

/** The largest limit one bucket item holds (see the header). */
export const MAX_DYNAMO_LIMIT = 10_000;

/** How many times a take reads and decides again after losing a race before it gives up. */
const ATTEMPTS = 50;

interface BucketItem {
  pk: string;
  sk: string;
  hits: number[];
  version: number;
  lastAt?: number;
  ttl?: number;
}

export class DynamoRateLimiter implements RateLimiter, AttemptCounter {
  constructor(private readonly table: Table) {}

  async take(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return (await this.takeAll([{ key, limit, windowMs }], now)).allowed;
  }

  async takeAll(buckets: RateLimitBucket[], now: number): Promise<RateLimitVerdict> {
    validateBuckets(buckets);
    for (const b of buckets)
      if (b.limit > MAX_DYNAMO_LIMIT)
        throw new RangeError(
          `rate limit for ${b.key} is ${b.limit} calls; on DynamoDB a bucket holds at most ${MAX_DYNAMO_LIMIT} calls per window`,
        );
    // A key given twice counts each of its calls, as on SQLite: decided on what was there before.
    const keys = [...new Set(buckets.map((b) => b.key))];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const read = new Map(await Promise.all(keys.map(async (key) => [key, await this.read(key)] as const)));
      const kept = new Map<string, number[]>();
      for (const bucket of buckets) {
        const item = read.get(bucket.key);
        const inWindow = (kept.get(bucket.key) ?? item?.hits ?? []).filter(
          (at) => at > now - bucket.windowMs,
        );
        if (inWindow.length >= bucket.limit) return { allowed: false, key: bucket.key };
        kept.set(bucket.key, inWindow);
      }
      const ttl = new Map<string, number>();
      for (const b of buckets) ttl.set(b.key, Math.max(ttl.get(b.key) ?? 0, ttlSeconds(now + b.windowMs)));
      const calls = (key: string) => buckets.filter((b) => b.key === key).map(() => now);
      try {
        await this.table.client.send(
          new TransactWriteCommand({
            TransactItems: keys.map((key) => {
              const version = read.get(key)?.version;
              return {
                Put: {
                  TableName: this.table.name,
                  Item: {
                    pk: `${PREFIX}${key}`,
                    sk: 'RATE',
                    hits: [...(kept.get(key) ?? []), ...calls(key)],
                    version: (version ?? 0) + 1,
                    lastAt: now,
                    ttl: ttl.get(key),
                  },
                  ...(version === undefined
                    ? { ConditionExpression: 'attribute_not_exists(pk)' }
                    : {
                        ConditionExpression: 'version = :version',
                        ExpressionAttributeValues: { ':version': version },
                      }),
                },
              };
            }),
          }),
        );
        return { allowed: true };
      } catch (error) {
        if (cancelledBy(error) === undefined) throw error;
        // Another take wrote first: back off a little (jittered, so the losers spread out) and decide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
    throw new Error(
      `rate limit buckets ${keys.join(', ')} stayed contended through ${ATTEMPTS} attempts; try the call again`,
    );
  }

  /** Milliseconds until `bucket` has room for one more call (0 when it has room now). */
  async retryAfter(bucket: RateLimitBucket, now: number): Promise<number> {
    const hits = ((await this.read(bucket.key))?.hits ?? [])
      .filter((at) => at > now - bucket.windowMs)
      .sort((a, b) => b - a);
    // The call fits once all but limit - 1 of the hits have left the window: the limit-th newest is the one.
    const last = hits[bucket.limit - 1];
    return last === undefined ? 0 : Math.max(0, last + bucket.windowMs - now);
  }

  /** Gives back one hit `key` took at `at` (the call it counted turned out not to count). */
  async release(key: string, at: number): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const item = await this.read(key);
      const index = item?.hits.indexOf(at) ?? -1;
      if (item === undefined || index < 0) return;
      try {
        await this.table.client.send(
          new PutCommand({
            TableName: this.table.name,
            Item: { ...item, hits: item.hits.filter((_, i) => i !== index), version: item.version + 1 },
            ConditionExpression: 'version = :version',
            ExpressionAttributeValues: { ':version': item.version },
          }),
        );
        return;
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
    throw new Error(
      `rate limit bucket ${key} stayed contended through ${ATTEMPTS} attempts to release a hit`,
    );
  }

  /** Forgets every hit of `key`. */
  async clear(key: string): Promise<void> {
    await this.table.client.send(
      new DeleteCommand({ TableName: this.table.name, Key: { pk: `${PREFIX}${key}`, sk: 'RATE' } }),
    );
  }

  /** Deletes the buckets whose last call was before `before` (TTL does the same on its own); how many. */
  prune(before: number): Promise<number> {
    return deleteOlder(this.table, PREFIX, 'lastAt', before);
  }

  private async read(key: string): Promise<BucketItem | undefined> {
    const found = await this.table.client.send(
      new GetCommand({
        TableName: this.table.name,
        Key: { pk: `${PREFIX}${key}`, sk: 'RATE' },
        ConsistentRead: true,
      }),
    );
    return found.Item === undefined ? undefined : (found.Item as BucketItem);
  }
}
