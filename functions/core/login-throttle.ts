// Login throttling, in front of the password check: failed logins are counted per client address, per
// account from that address, and per account from everywhere (sliding windows in the rate limiter's store,
// so a restart does not reset them), and a full bucket answers 429 with Retry-After before any password is
// hashed. Each attempt is counted up front, in the same transaction as the check, so concurrent attempts
// cannot slip past a limit together; a success gives its own hit back, clears its account's failures from
// its address, and leaves the address's failures on other accounts alone.
//
// Why three buckets: a flood from one address against someone's account uses up only that (account,
// address) pair, so the owner still logs in from elsewhere; the per-account bucket, set higher, bounds a
// guess spread over many addresses (and only such a guess can lock the owner out); the per-address bucket
// bounds one address trying many accounts.
//
// Password hashing itself is bounded too (HashGate): `concurrentHashes` at once and a short queue; past it
// a login is told to come back (503, Retry-After) instead of piling up behind a flood.
import ipaddr from 'ipaddr.js';
import type { Clock, RateLimitBucket, RateLimitVerdict } from '../../adapters/ports.js';
import { HttpError } from './http-error.js';
import { normalizeEmail } from './identity.js';
import type { LimitsConfig, WindowLimit } from './limits.js';

/** What the throttle counts with (adapters/local/rate-limiter.ts). */
export interface AttemptCounter {
  takeAll(buckets: RateLimitBucket[], now: number): RateLimitVerdict | Promise<RateLimitVerdict>;
  /** Milliseconds until `bucket` has room again. */
  retryAfter(bucket: RateLimitBucket, now: number): number | Promise<number>;
  /** Gives back one hit `key` took at `at`. */
  release(key: string, at: number): void | Promise<void>;
  /** Forgets every hit of `key`. */
  clear(key: string): void | Promise<void>;
}

/** A 429 (or 503) whose Retry-After says when to come back. */
export function retryLater(status: 429 | 503, detail: string, retryAfterMs: number): HttpError {
  return new HttpError(status, detail, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

/** A sliding-window limit of the config as a bucket of the rate limiter. */
export function bucketOf(key: string, limit: WindowLimit): RateLimitBucket {
  return { key, limit: limit.max, windowMs: limit.windowSeconds * 1000 };
}

/**
 * The part of a client address that identifies a client: an IPv4 address (IPv4-mapped IPv6 too) whole, an
 * IPv6 address by its /64 — one host is usually given a whole /64, so counting single addresses would give
 * it 2^64 fresh budgets.
 */
export function addressKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/** At most `concurrent` tasks at once, `queue` more waiting; beyond that `run` refuses at once. */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrent: number,
    private readonly queue: number,
  ) {}

  /** Runs `task` when a slot is free; false (and `task` not run) when the queue is full too. */
  async run<T>(task: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.running >= this.concurrent) {
      if (this.waiting.length >= this.queue) return { ran: false };
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return { ran: true, value: await task() };
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}

// Each hash slot may have this many logins waiting for it: with ~100 ms per hash, a wait of well under a second.
const QUEUE_PER_SLOT = 4;
// A login turned away because every slot and the queue are busy: come back after about one queue's worth.
const BUSY_RETRY_MS = 1_000;

export interface LoginThrottleDeps {
  counter: AttemptCounter;
  clock: Clock;
  limits: LimitsConfig['login'];
}

export class LoginThrottle {
  private readonly gate: HashGate;

  constructor(private readonly deps: LoginThrottleDeps) {
    this.gate = new HashGate(deps.limits.concurrentHashes, deps.limits.concurrentHashes * QUEUE_PER_SLOT);
  }

  /**
   * Runs `verify` (the password check: null for a wrong password) for a login as `email` from `address`,
   * unless a limit is reached (429) or every hash slot is taken (503); both carry Retry-After and cost no
   * hashing. A null result stays counted as a failure.
   */
  async attempt<T>(email: string, address: string, verify: () => Promise<T | null>): Promise<T | null> {
    const account = normalizeEmail(email);
    const from = addressKey(address);
    const { limits, counter } = this.deps;
    const pair = bucketOf(`login:account-address:${account}|${from}`, limits.perAccountAddress);
    const buckets = [
      bucketOf(`login:address:${from}`, limits.perAddress),
      pair,
      bucketOf(`login:account:${account}`, limits.perAccount),
    ];
    const now = this.deps.clock.now();
    const verdict = await counter.takeAll(buckets, now);
    if (!verdict.allowed) {
      const full = buckets.find((b) => b.key === verdict.key) as RateLimitBucket;
      const wait = await counter.retryAfter(full, now);
      throw retryLater(429, 'too many failed logins; try again later', wait);
    }
    const giveBack = async () => {
      for (const bucket of buckets) await counter.release(bucket.key, now);
    };
    const checked = await this.gate.run(verify);
    if (!checked.ran) {
      await giveBack();
      throw retryLater(503, 'the server is busy checking passwords; try again shortly', BUSY_RETRY_MS);
    }
    if (checked.value === null) return null;
    await giveBack();
    await counter.clear(pair.key);
    return checked.value;
  }
}
