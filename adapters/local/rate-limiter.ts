// The rate limiter on the embedded engine's SQLite database (table `rate_hits`): a sliding-window log.
// Each allowed call is one row (key, at); a call fits when fewer than `limit` rows of its key are newer
// than `now - windowMs`. Exact — no burst of twice the limit at a window boundary as with fixed windows —
// at the cost of up to `limit` rows per key, pruned as the key is used. Every take is one IMMEDIATE
// transaction, so connections in several processes on the same file count together, and the state
// survives restarts. The login throttle also gives a hit back (`release`: the attempt succeeded) and asks
// how long until a full bucket has room (`retryAfter`, for Retry-After).
import type { RateLimitBucket, RateLimiter, RateLimitVerdict } from '../../functions/core/ports.js';
import type { Db } from './database.js';

export class SqliteRateLimiter implements RateLimiter {
  private readonly takeAllTransaction;

  constructor(db: Db) {
    const prune = db.prepare<[string, number]>('DELETE FROM rate_hits WHERE key = ? AND at <= ?');
    const count = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM rate_hits WHERE key = ?');
    const insert = db.prepare<[string, number]>('INSERT INTO rate_hits (key, at) VALUES (?, ?)');
    const takeAll = db.transaction((buckets: RateLimitBucket[], now: number): RateLimitVerdict => {
      for (const bucket of buckets) {
        prune.run(bucket.key, now - bucket.windowMs);
        if ((count.get(bucket.key)?.n ?? 0) >= bucket.limit) return { allowed: false, key: bucket.key };
      }
      for (const bucket of buckets) insert.run(bucket.key, now);
      return { allowed: true };
    });
    this.takeAllTransaction = (buckets: RateLimitBucket[], now: number) => takeAll.immediate(buckets, now);
    this.pruneStatement = db.prepare<[number]>('DELETE FROM rate_hits WHERE at < ?');
    this.releaseStatement = db.prepare<[string, number]>(
      'DELETE FROM rate_hits WHERE rowid = (SELECT rowid FROM rate_hits WHERE key = ? AND at = ? LIMIT 1)',
    );
    this.clearStatement = db.prepare<[string]>('DELETE FROM rate_hits WHERE key = ?');
    this.inWindow = db.prepare<[string, number], { at: number }>(
      'SELECT at FROM rate_hits WHERE key = ? AND at > ? ORDER BY at DESC',
    );
  }

  private readonly pruneStatement;
  private readonly releaseStatement;
  private readonly clearStatement;
  private readonly inWindow;

  /** Gives back the hit `key` took at `at` (one of them): the call it counted turned out not to count. */
  release(key: string, at: number): void {
    this.releaseStatement.run(key, at);
  }

  /** Forgets every hit of `key`. */
  clear(key: string): void {
    this.clearStatement.run(key);
  }

  /** Milliseconds until `bucket` has room for one more call (0 when it has room now). */
  retryAfter(bucket: RateLimitBucket, now: number): number {
    const hits = this.inWindow.all(bucket.key, now - bucket.windowMs);
    // The call fits once all but limit - 1 of the hits have left the window: the limit-th newest is the one.
    const last = hits[bucket.limit - 1];
    return last === undefined ? 0 : Math.max(0, last.at + bucket.windowMs - now);
  }

  /** Drops hits older than `before` of every key (keys no longer used are not pruned by `take`). */
  prune(before: number): number {
    return this.pruneStatement.run(before).changes;
  }

  async take(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return (await this.takeAll([{ key, limit, windowMs }], now)).allowed;
  }

  async takeAll(buckets: RateLimitBucket[], now: number): Promise<RateLimitVerdict> {
    validateBuckets(buckets);
    return this.takeAllTransaction(buckets, now);
  }
}

/** Throws a RangeError naming the first bucket without a positive whole limit over a positive window. */
export function validateBuckets(buckets: RateLimitBucket[]): void {
  for (const b of buckets)
    if (!Number.isInteger(b.limit) || b.limit < 1 || !(b.windowMs > 0))
      throw new RangeError(`rate limit for ${b.key} must be a positive whole limit over a positive window`);
}
