// Per-user limits on what costs the server work for someone else too: run starts (manual, chat, token
// webhooks — counted against the token's owner; signed webhook deliveries are machine traffic with their
// own idempotency and are not counted) and chat messages. Sliding windows in the rate limiter's store; a
// full window is a 429 with Retry-After, and whatever the request would have started is not started.

import { normalizeEmail } from './identity.js';
import type { LimitsConfig } from './limits.js';
import { type AttemptCounter, bucketOf, retryLater } from './login-throttle.js';
import type { Clock } from './ports.js';

export type UserLimitKind = 'runStarts' | 'chat';

const WHAT: Record<UserLimitKind, string> = { runStarts: 'run starts', chat: 'chat messages' };

export class UserLimits {
  constructor(
    private readonly deps: {
      counter: Pick<AttemptCounter, 'takeAll' | 'retryAfter'>;
      clock: Clock;
      limits: Pick<LimitsConfig, UserLimitKind>;
    },
  ) {}

  /** Counts one `kind` for `email`, or throws a 429 (Retry-After) when their window is full. */
  async take(kind: UserLimitKind, email: string): Promise<void> {
    const limit = this.deps.limits[kind];
    const bucket = bucketOf(`user-${kind}:${normalizeEmail(email)}`, limit);
    const now = this.deps.clock.now();
    const verdict = await this.deps.counter.takeAll([bucket], now);
    if (verdict.allowed) return;
    const wait = await this.deps.counter.retryAfter(bucket, now);
    throw retryLater(
      429,
      `at most ${limit.max} ${WHAT[kind]} per user in ${limit.windowSeconds} s; try again later`,
      wait,
    );
  }
}
