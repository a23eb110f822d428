// The login throttle (functions/core/login-throttle.ts) counting on the DynamoDB rate limiter, over
// DynamoDB's wire protocol on moto_server (test/support/moto.ts: missing, the test fails): a Lambda's
// login locks out after the limit, a success gives its attempt back and clears its account's failures
// from its address, and the refusal carries Retry-After — with the throttle's memory of full buckets
// fresh per Lambda, so the store itself must answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRateLimiter } from '../../adapters/aws/rate-limiter.js';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { HttpError } from '../../functions/core/http-error.js';
import { DEFAULT_LIMITS } from '../../functions/core/limits.js';
import { LoginThrottle } from '../../functions/core/login-throttle.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

let moto: Moto | undefined;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

const login = { ...DEFAULT_LIMITS.login, perAccountAddress: { max: 2, windowSeconds: 60 } };
const wrong = async () => null;
const right = async () => 'identity';
let tables = 0;

/** Moves `clock` on to `at` (nothing else waits on it here). */
const moveTo = (clock: VirtualClock, at: number) => clock.run({ pending: () => 0 }, at);

/** A fresh table and a throttle factory: each throttle is one Lambda container (own client, own memory). */
async function lambdas(clock: VirtualClock): Promise<() => LoginThrottle> {
  if (moto === undefined) throw new Error('moto_server is not running');
  const config = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const name = `stepgate-login-${++tables}`;
  const first: Table = openTable(name, config);
  await createTable(first);
  return () =>
    new LoginThrottle({ counter: new DynamoRateLimiter(openTable(name, config)), clock, limits: login });
}

async function refusal(attempt: Promise<unknown>): Promise<HttpError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('LoginThrottle over the DynamoDB rate limiter', () => {
  it('locks an account out from an address after the limit, across Lambdas, with Retry-After', async () => {
    const clock = new VirtualClock(1_000_000);
    const lambda = await lambdas(clock);
    await lambda().attempt('a@example.com', '10.0.0.1', wrong);
    await moveTo(clock, 1_010_000);
    await lambda().attempt('A@example.com ', '10.0.0.1', wrong);
    let verified = false;
    const error = await refusal(
      lambda().attempt('a@example.com', '10.0.0.1', async () => {
        verified = true;
        return 'identity';
      }),
    );
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 50 });
    expect(verified).toBe(false);
    // Another address still logs in; the locked pair opens once the oldest failure leaves the window.
    expect(await lambda().attempt('a@example.com', '10.0.0.2', right)).toBe('identity');
    await moveTo(clock, 1_000_000 + 60_000);
    expect(await lambda().attempt('a@example.com', '10.0.0.1', right)).toBe('identity');
  });

  it("gives a success's attempt back and clears its account's failures from its address", async () => {
    const clock = new VirtualClock(2_000_000);
    const lambda = await lambdas(clock);
    const throttle = lambda();
    await throttle.attempt('b@example.com', '10.0.0.1', wrong);
    expect(await throttle.attempt('b@example.com', '10.0.0.1', right)).toBe('identity');
    // Cleared: two more failures fit before the lockout (the success took nothing either).
    await throttle.attempt('b@example.com', '10.0.0.1', wrong);
    await moveTo(clock, 2_000_001);
    await throttle.attempt('b@example.com', '10.0.0.1', wrong);
    expect(await refusal(lambda().attempt('b@example.com', '10.0.0.1', right))).toMatchObject({
      status: 429,
      retryAfterSeconds: 60,
    });
  });
});
