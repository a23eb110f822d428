// The RateLimiter contract (functions/core/ports.ts), written once and run against every adapter: `takeAll`
// allows exactly the limit, takes all buckets or none, and lets a window slide. Races are stated for
// asynchronous adapters; a synchronous adapter runs them interleaved over separate connections. The login
// throttle's part (AttemptCounter): a hit given back, a bucket forgotten, the wait until a full bucket has room.
import { describe, expect, it } from 'vitest';
import type { AttemptCounter } from '../../functions/core/login-throttle.js';
import type { RateLimiter } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const MINUTE = 60_000;

/** What the adapters are: a rate limiter the login throttle also counts with. */
type Limiter = RateLimiter & AttemptCounter;

/** The contract of `RateLimiter`; `make` gives adapters over one fresh store. */
export function describeRateLimiterContract(
  name: string,
  make: () => Contenders<Limiter> | Promise<Contenders<Limiter>>,
): void {
  describe(`RateLimiter contract: ${name}`, () => {
    it('allows exactly M of N concurrent takes against a limit of M, and names the full bucket', async () => {
      const limiters = await fresh(make);
      const bucket = { key: 'tool:charge', limit: 3, windowMs: MINUTE };
      const outcomes = await race(10, (i) => connectionFor(limiters, i).takeAll([bucket], 1_000));
      const verdicts = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
      expect(verdicts.filter((v) => !v.allowed)).toEqual(
        Array(7).fill({ allowed: false, key: 'tool:charge' }),
      );
    });

    it('takes from every bucket or from none', async () => {
      const [limiter, other] = await fresh(make);
      const user = { key: 'user:bob', limit: 1, windowMs: MINUTE };
      const tool = { key: 'tool:charge', limit: 2, windowMs: MINUTE };
      expect(await limiter.takeAll([user], 1_000)).toEqual({ allowed: true });
      expect(await other.takeAll([tool, user], 1_000)).toEqual({ allowed: false, key: 'user:bob' });
      // The refused call took nothing from `tool`: both of its calls are still there.
      expect(await other.takeAll([tool], 1_000)).toEqual({ allowed: true });
      expect(await limiter.takeAll([tool], 1_000)).toEqual({ allowed: true });
      expect(await limiter.takeAll([tool], 1_000)).toEqual({ allowed: false, key: 'tool:charge' });
    });

    it('gives a call back once it has left the window', async () => {
      const [limiter] = await fresh(make);
      const bucket = { key: 'k', limit: 1, windowMs: MINUTE };
      expect(await limiter.takeAll([bucket], 1_000)).toEqual({ allowed: true });
      expect(await limiter.takeAll([bucket], 1_000 + MINUTE - 1)).toEqual({ allowed: false, key: 'k' });
      expect(await limiter.takeAll([bucket], 1_000 + MINUTE)).toEqual({ allowed: true });
    });

    it('refuses a bucket without a positive whole limit or a positive window', async () => {
      const [limiter] = await fresh(make);
      for (const bad of [
        { key: 'zero', limit: 0, windowMs: MINUTE },
        { key: 'fraction', limit: 1.5, windowMs: MINUTE },
        { key: 'window', limit: 1, windowMs: 0 },
      ])
        await expect(async () => limiter.takeAll([bad], 1_000)).rejects.toThrow(bad.key);
    });

    it('says how long until a full bucket has room: until its limit-th newest hit leaves the window', async () => {
      const [limiter, other] = await fresh(make);
      const bucket = { key: 'login:a', limit: 2, windowMs: MINUTE };
      expect(await limiter.retryAfter(bucket, 1_000)).toBe(0);
      await limiter.takeAll([bucket], 1_000);
      expect(await other.retryAfter(bucket, 1_000)).toBe(0);
      await limiter.takeAll([bucket], 11_000);
      expect(await other.retryAfter(bucket, 20_000)).toBe(1_000 + MINUTE - 20_000);
      // One hit has left the window: room again.
      expect(await other.retryAfter(bucket, 1_000 + MINUTE)).toBe(0);
      // A smaller limit over the same hits waits for the newer one.
      expect(await other.retryAfter({ ...bucket, limit: 1 }, 20_000)).toBe(11_000 + MINUTE - 20_000);
    });

    it('gives one hit back: the one taken at the time given, once', async () => {
      const [limiter, other] = await fresh(make);
      const bucket = { key: 'login:b', limit: 2, windowMs: MINUTE };
      await limiter.takeAll([bucket], 1_000);
      await limiter.takeAll([bucket], 2_000);
      expect(await limiter.takeAll([bucket], 3_000)).toEqual({ allowed: false, key: 'login:b' });
      await other.release('login:b', 2_000);
      // A hit at a time never taken, or given back already, gives nothing more back.
      await other.release('login:b', 2_000);
      await other.release('login:b', 2_500);
      await other.release('login:none', 2_000);
      expect(await limiter.takeAll([bucket], 3_000)).toEqual({ allowed: true });
      expect(await limiter.takeAll([bucket], 3_000)).toEqual({ allowed: false, key: 'login:b' });
      await other.release('login:b', 3_000);
      expect(await limiter.retryAfter({ ...bucket, limit: 1 }, 3_000)).toBe(1_000 + MINUTE - 3_000);
    });

    it('forgets every hit of a bucket it clears, and only of that bucket', async () => {
      const [limiter, other] = await fresh(make);
      const a = { key: 'login:c', limit: 1, windowMs: MINUTE };
      const b = { key: 'login:d', limit: 1, windowMs: MINUTE };
      await limiter.takeAll([a, b], 1_000);
      await other.clear('login:c');
      await other.clear('login:never-taken');
      expect(await limiter.takeAll([a], 2_000)).toEqual({ allowed: true });
      expect(await limiter.takeAll([b], 2_000)).toEqual({ allowed: false, key: 'login:d' });
    });
  });
}
