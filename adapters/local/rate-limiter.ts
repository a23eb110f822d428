// The rate limiter on the embedded engine's SQLite database (table `rate_hits`): a sliding-window log.
// Each allowed call is one row (key, at); a call fits when fewer than `limit` rows of its key are newer
// than `now - windowMs`. Exact — no burst of twice the limit at a window boundary as with fixed windows —
// at the cost of up to `limit` rows per key, pruned as the key is used. Every take is one IMMEDIATE
// transaction, so connections in several processes on the same file count together, and the state
// survives restarts.
import type { RateLimitBucket, RateLimiter, RateLimitVerdict } from '../ports.js';
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
  }

  private readonly pruneStatement;

  /** Drops hits older than `before` of every key (keys no longer used are not pruned by `take`). */
  prune(before: number): number {
    return this.pruneStatement.run(before).changes;
  }

  take(key: string, limit: number, windowMs: number, now: number): boolean {
    return this.takeAll([{ key, limit, windowMs }], now).allowed;
  }

  takeAll(buckets: RateLimitBucket[], now: number): RateLimitVerdict {
    for (const b of buckets)
      if (!Number.isInteger(b.limit) || b.limit < 1 || !(b.windowMs > 0))
        throw new RangeError(`rate limit for ${b.key} must be a positive whole limit over a positive window`);
    return this.takeAllTransaction(buckets, now);
  }
}
