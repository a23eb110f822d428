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
// a login is told to come back (503, Retry-After) instead of piling up behind a flood. One address holds
// at most `concurrentHashes` places in the queue, and a freed slot goes to the address holding the fewest
// places, so a flood from one address cannot keep everyone else waiting.
//
// A full bucket stays full until its oldest hit leaves the window (nothing can give a hit back meanwhile:
// every attempt that would is refused by that same bucket), so the throttle remembers it until then and
// refuses a flood's further attempts without asking the store: a throttled attempt costs a map lookup.
import ipaddr from 'ipaddr.js';
import { HttpError } from './http-error.js';
import { normalizeEmail } from './identity.js';
import type { LimitsConfig, WindowLimit } from './limits.js';
import type { Clock, RateLimitBucket, RateLimitVerdict } from './ports.js';

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
  return new HttpError(status, status === 429 ? 'Too Many Requests' : 'Service Unavailable', detail, {
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  });
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

/**
 * At most `concurrent` tasks at once and `queue` more waiting, of which one owner holds at most
 * `perOwner`; beyond that `run` refuses at once. A freed slot goes to the waiting task whose owner runs
 * the fewest places, running or waiting (the earliest among equals), so one busy owner cannot keep the
 * others waiting.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: { owner: string; start: () => void }[] = [];
  private readonly active = new Map<string, number>();

  constructor(
    private readonly concurrent: number,
    private readonly queue: number,
    private readonly perOwner: number,
  ) {}

  /** Runs `task` for `owner` when a slot is free; `ran: false` (and `task` not run) when it may not wait. */
  async run<T>(owner: string, task: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.running >= this.concurrent) {
      const queued = this.waiting.filter((w) => w.owner === owner).length;
      if (this.waiting.length >= this.queue || queued >= this.perOwner) return { ran: false };
      await new Promise<void>((start) => this.waiting.push({ owner, start }));
    } else this.running++;
    this.active.set(owner, (this.active.get(owner) ?? 0) + 1);
    try {
      return { ran: true, value: await task() };
    } finally {
      const left = (this.active.get(owner) ?? 1) - 1;
      if (left === 0) this.active.delete(owner);
      else this.active.set(owner, left);
      this.startNext();
    }
  }

  /** Hands the freed slot to the waiting task whose owner holds the fewest places, or frees it. */
  private startNext(): void {
    const held = (owner: string) =>
      (this.active.get(owner) ?? 0) + this.waiting.filter((w) => w.owner === owner).length;
    let best: { index: number; held: number } | undefined;
    this.waiting.forEach((w, index) => {
      const places = held(w.owner);
      if (best === undefined || places < best.held) best = { index, held: places };
    });
    if (best === undefined) {
      this.running--;
      return;
    }
    const [next] = this.waiting.splice(best.index, 1);
    next?.start();
  }
}

// Each hash slot may have this many logins waiting for it: with ~100 ms per hash, a wait of well under a second.
const QUEUE_PER_SLOT = 4;
// A login turned away because every slot and the queue are busy: come back after about one queue's worth.
const BUSY_RETRY_MS = 1_000;
// Full buckets remembered at most (a flood from many addresses fills many): past it, the expired are dropped
// and, if that is not enough, all (they are only a shortcut; the store still refuses).
const MAX_REMEMBERED = 10_000;

export interface LoginThrottleDeps {
  counter: AttemptCounter;
  clock: Clock;
  limits: LimitsConfig['login'];
}

export class LoginThrottle {
  private readonly gate: HashGate;
  /** Full buckets: key → when the bucket has room again (ms). */
  private readonly fullUntil = new Map<string, number>();

  constructor(private readonly deps: LoginThrottleDeps) {
    const { concurrentHashes } = deps.limits;
    this.gate = new HashGate(concurrentHashes, concurrentHashes * QUEUE_PER_SLOT, concurrentHashes);
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
    const until = Math.max(0, ...buckets.map((b) => this.fullUntil.get(b.key) ?? 0));
    if (until > now) throw retryLater(429, 'too many failed logins; try again later', until - now);
    const verdict = await counter.takeAll(buckets, now);
    if (!verdict.allowed) {
      const full = buckets.find((b) => b.key === verdict.key) as RateLimitBucket;
      const wait = await counter.retryAfter(full, now);
      this.remember(full.key, now + wait);
      throw retryLater(429, 'too many failed logins; try again later', wait);
    }
    const giveBack = async () => {
      for (const bucket of buckets) await counter.release(bucket.key, now);
    };
    const checked = await this.gate.run(from, verify);
    if (!checked.ran) {
      await giveBack();
      throw retryLater(503, 'the server is busy checking passwords; try again shortly', BUSY_RETRY_MS);
    }
    if (checked.value === null) return null;
    await giveBack();
    await counter.clear(pair.key);
    return checked.value;
  }

  private remember(key: string, until: number): void {
    if (this.fullUntil.size >= MAX_REMEMBERED) {
      const now = this.deps.clock.now();
      for (const [k, t] of this.fullUntil) if (t <= now) this.fullUntil.delete(k);
      if (this.fullUntil.size >= MAX_REMEMBERED) this.fullUntil.clear();
    }
    this.fullUntil.set(key, until);
  }
}
