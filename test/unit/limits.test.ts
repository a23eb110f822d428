// The pure parts of the limits: nesting scans of JSON and YAML text, the hash gate, the login throttle's
// buckets over the SQLite rate limiter (give-back on success, Retry-After), and client address keys.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { HttpError } from '../../functions/core/http-error.js';
import { DEFAULT_LIMITS } from '../../functions/core/limits.js';
import { addressKey, HashGate, LoginThrottle } from '../../functions/core/login-throttle.js';
import { jsonTooDeep, yamlTooDeep } from '../../translator/nesting.js';

describe('jsonTooDeep', () => {
  it('finds the first bracket past the limit, counting none inside strings', () => {
    expect(jsonTooDeep('[[1]]', 2)).toBeUndefined();
    expect(jsonTooDeep('[[[1]]]', 2)).toBe(2);
    expect(jsonTooDeep('{"a":{"b":[1]}}', 3)).toBeUndefined();
    expect(jsonTooDeep('{"a":"[[[[\\"[[[["}', 1)).toBeUndefined();
    expect(jsonTooDeep(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, 64)).toBe(64);
  });
});

describe('yamlTooDeep', () => {
  it('counts block maps, block sequences (compact ones too) and flow collections', () => {
    const nested = 'a:\n  b:\n    c: 1\n';
    expect(yamlTooDeep(nested, 3)).toBeUndefined();
    expect(yamlTooDeep(nested, 2)).toBe(nested.indexOf('c'));
    expect(yamlTooDeep('- - - x\n', 2)).toBe(4);
    expect(yamlTooDeep('a:\n- b:\n  - c: 1\n', 4)).toBe('a:\n- b:\n  - '.length);
    expect(yamlTooDeep('a: {b: [1, [2]]}\n', 4)).toBeUndefined();
    expect(yamlTooDeep('a: {b: [1, [2]]}\n', 3)).toBe('a: {b: [1, '.length);
    expect(yamlTooDeep('a: [\n  [\n    [1]]]\n', 3)).toBe('a: [\n  [\n    '.length);
  });

  it('ignores brackets inside quotes, comments, plain scalars and block scalars', () => {
    const text = [
      'a: "[[[[[["',
      "b: '{{{{{{'",
      'c: see [docs [here',
      '# [[[[[[',
      'd: |',
      '  [[[[[[[[',
      '      - - - - - -',
      'e: 1',
    ].join('\n');
    expect(yamlTooDeep(text, 1)).toBeUndefined();
  });

  it('answers 100,000 levels at once, block or flow', () => {
    expect(yamlTooDeep(`${'- '.repeat(100_000)}x`, 64)).toBe(128);
    expect(yamlTooDeep(`a: ${'{a: '.repeat(100_000)}`, 64)).toBe(3 + 4 * 63);
  });
});

describe('HashGate', () => {
  it('runs at most `concurrent` tasks, queues `queue` more and refuses the rest at once', async () => {
    const gate = new HashGate(1, 1, 5);
    let release = () => {};
    const first = gate.run('a', () => new Promise<string>((done) => (release = () => done('first'))));
    const second = gate.run('b', async () => 'second');
    const third = await gate.run('c', async () => 'third');

    expect(third).toEqual({ ran: false });
    release();
    expect(await first).toEqual({ ran: true, value: 'first' });
    expect(await second).toEqual({ ran: true, value: 'second' });
    expect(await gate.run('c', async () => 'fourth')).toEqual({ ran: true, value: 'fourth' });
  });

  it('lets one owner hold at most `perOwner` waiting places, and starts the least busy owner first', async () => {
    const gate = new HashGate(1, 4, 2);
    const finish: (() => void)[] = [];
    const order: string[] = [];
    const task = (name: string) => () =>
      new Promise<string>((done) => {
        order.push(name);
        finish.push(() => done(name));
      });
    const flood = [
      gate.run('flood', task('f1')),
      gate.run('flood', task('f2')),
      gate.run('flood', task('f3')),
    ];
    const refused = await gate.run('flood', task('f4'));
    const user = gate.run('user', task('user'));

    expect(refused).toEqual({ ran: false });
    finish.shift()?.();
    await flood[0];
    finish.shift()?.();
    expect(await user).toEqual({ ran: true, value: 'user' });
    finish.shift()?.();
    expect(await flood[1]).toEqual({ ran: true, value: 'f2' });
    finish.shift()?.();
    expect(await flood[2]).toEqual({ ran: true, value: 'f3' });
    expect(order).toEqual(['f1', 'user', 'f2', 'f3']);
  });
});

describe('LoginThrottle', () => {
  let db: Db;
  let clock: VirtualClock;
  let throttle: LoginThrottle;
  const login = { ...DEFAULT_LIMITS.login, perAccountAddress: { max: 2, windowSeconds: 60 } };
  const wrong = async () => null;
  const right = async () => 'identity';

  beforeEach(() => {
    db = openDatabase(':memory:');
    clock = new VirtualClock(1_000_000);
    throttle = new LoginThrottle({ counter: new SqliteRateLimiter(db), clock, limits: login });
  });
  afterEach(() => db.close());

  const refusal = async (attempt: Promise<unknown>) => {
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  };

  it('refuses with 429 and the seconds until the oldest failure leaves the window, without verifying', async () => {
    await throttle.attempt('a@example.com', '10.0.0.1', wrong);
    await clock.run({ pending: () => 0 }, 1_010_000);
    await throttle.attempt('A@example.com ', '10.0.0.1', wrong);
    let verified = false;

    const error = await refusal(
      throttle.attempt('a@example.com', '10.0.0.1', async () => {
        verified = true;
        return 'identity';
      }),
    );

    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 50 });
    expect(verified).toBe(false);
    expect(await throttle.attempt('a@example.com', '10.0.0.2', right)).toBe('identity');
  });

  it("gives a success's attempt back and clears its account's failures from its address", async () => {
    await throttle.attempt('a@example.com', '10.0.0.1', wrong);
    expect(await throttle.attempt('a@example.com', '10.0.0.1', right)).toBe('identity');
    await throttle.attempt('a@example.com', '10.0.0.1', wrong);
    await throttle.attempt('a@example.com', '10.0.0.1', wrong);

    expect(await refusal(throttle.attempt('a@example.com', '10.0.0.1', right))).toMatchObject({
      status: 429,
    });
  });
});

describe('addressKey', () => {
  it('keeps IPv4 whole, unmaps IPv4-mapped IPv6 and counts IPv6 by its /64', () => {
    expect(addressKey('127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb::9'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
  });
});
