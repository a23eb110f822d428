// The rate limiter on Firestore, as DynamoRateLimiter is on DynamoDB: the same sliding-window log as the
// SQLite limiter, one document per bucket (`rateBuckets/<key>`: key, `hits`, the times of the calls still in
// its window, trimmed on every write; `lastAt`; `expireAt`, the last call plus the longest window it was
// taken with, for the TTL policy, so a bucket no longer used disappears on its own).
//
// A take reads every bucket in one consistent read, decides, and writes every bucket in ONE batch, each write
// conditioned on the update time it read (or a `create()` for a bucket not there yet): all buckets or none,
// and of concurrent takes from any instance exactly the limit wins; a take that lost the race reads again
// and decides again, a bounded number of times. Optimistic rather than a transaction: a refused take writes
// nothing and holds no lock, so on a hot bucket the refusals do not queue behind each other.
//
// The login throttle (functions/core/login-throttle.ts AttemptCounter) also gives a hit back (`release`,
// conditioned on the read like a take), forgets a bucket (`clear`: the document deleted) and asks how long
// until a full bucket has room (`retryAfter`, one read), as on SQLite.
//
// Limitation: a document holds at most 1 MiB, so a bucket holds at most MAX_FIRESTORE_LIMIT (10,000) calls
// per window (about 90 KB; `hits` is exempt from indexing, see adapters/gcp/collections.ts); a larger limit
// is refused when it is taken from, naming the bucket, never silently cut short.
import type { DocumentReference, Firestore, Timestamp } from '@google-cloud/firestore';
import type { AttemptCounter } from '../../functions/core/login-throttle.js';
import type { RateLimitBucket, RateLimiter, RateLimitVerdict } from '../../functions/core/ports.js';
import { validateBuckets } from '../local/rate-limiter.js';
import { COLLECTIONS } from './collections.js';
import { deleteAsRead, docId, expireAt, retryRaces } from './documents.js';

/** The largest limit one bucket document holds (see the header). */
export const MAX_FIRESTORE_LIMIT = 10_000;

interface BucketDocument {
  key: string;
  hits: number[];
  lastAt: number;
  expireAt: Timestamp;
}

export class FirestoreRateLimiter implements RateLimiter, AttemptCounter {
  constructor(private readonly db: Firestore) {}

  async take(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return (await this.takeAll([{ key, limit, windowMs }], now)).allowed;
  }

  async takeAll(buckets: RateLimitBucket[], now: number): Promise<RateLimitVerdict> {
    validateBuckets(buckets);
    for (const b of buckets)
      if (b.limit > MAX_FIRESTORE_LIMIT)
        throw new RangeError(
          `rate limit for ${b.key} is ${b.limit} calls; on Firestore a bucket holds at most ${MAX_FIRESTORE_LIMIT} calls per window`,
        );
    // A key given twice counts each of its calls, as on SQLite: decided on what was there before.
    const keys = [...new Set(buckets.map((b) => b.key))];
    return retryRaces(`rate limit buckets ${keys.join(', ')}`, async () => {
      const snapshots = await this.db.getAll(...keys.map((key) => this.ref(key)));
      const read = new Map(keys.map((key, i) => [key, snapshots[i]] as const));
      const kept = new Map<string, number[]>();
      for (const bucket of buckets) {
        const stored = read.get(bucket.key)?.data() as BucketDocument | undefined;
        const inWindow = (kept.get(bucket.key) ?? stored?.hits ?? []).filter(
          (at) => at > now - bucket.windowMs,
        );
        if (inWindow.length >= bucket.limit) return { allowed: false, key: bucket.key };
        kept.set(bucket.key, inWindow);
      }
      const batch = this.db.batch();
      for (const key of keys) {
        const snapshot = read.get(key);
        const mine = buckets.filter((b) => b.key === key);
        const stored = snapshot?.data() as BucketDocument | undefined;
        const until = Math.max(stored?.expireAt.toMillis() ?? 0, ...mine.map((b) => now + b.windowMs));
        const next: BucketDocument = {
          key,
          hits: [...(kept.get(key) ?? []), ...mine.map(() => now)],
          lastAt: now,
          expireAt: expireAt(until),
        };
        if (snapshot?.updateTime === undefined) batch.create(this.ref(key), next);
        else batch.update(this.ref(key), { ...next }, { lastUpdateTime: snapshot.updateTime });
      }
      await batch.commit();
      return { allowed: true };
    });
  }

  /** Gives back the hit `key` took at `at` (one of them): the call it counted turned out not to count. */
  async release(key: string, at: number): Promise<void> {
    return retryRaces(`rate limit bucket ${key}`, async () => {
      const found = await this.ref(key).get();
      const hits = (found.data() as BucketDocument | undefined)?.hits ?? [];
      const index = hits.indexOf(at);
      if (index < 0) return;
      await found.ref.update(
        { hits: hits.filter((_, i) => i !== index) },
        { lastUpdateTime: found.updateTime },
      );
    });
  }

  /** Forgets every hit of `key` (its document deleted; a take after it starts a new bucket). */
  async clear(key: string): Promise<void> {
    await this.ref(key).delete();
  }

  /** Milliseconds until `bucket` has room for one more call (0 when it has room now). */
  async retryAfter(bucket: RateLimitBucket, now: number): Promise<number> {
    const found = await this.ref(bucket.key).get();
    const hits = ((found.data() as BucketDocument | undefined)?.hits ?? [])
      .filter((at) => at > now - bucket.windowMs)
      .sort((a, b) => b - a);
    // The call fits once all but limit - 1 of the hits have left the window: the limit-th newest is the one.
    const last = hits[bucket.limit - 1];
    return last === undefined ? 0 : Math.max(0, last + bucket.windowMs - now);
  }

  /** Deletes the buckets whose last call was before `before` (TTL does the same on its own); how many. */
  async prune(before: number): Promise<number> {
    const old = await this.db.collection(COLLECTIONS.rateBuckets.name).where('lastAt', '<', before).get();
    let deleted = 0;
    for (const bucket of old.docs) if (await deleteAsRead(bucket)) deleted++;
    return deleted;
  }

  private ref(key: string): DocumentReference {
    return this.db.collection(COLLECTIONS.rateBuckets.name).doc(docId(key));
  }
}
