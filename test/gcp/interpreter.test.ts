// The oracle interpreter keeps GCP's rules, so that emitted code relying on something GCP forbids fails
// here instead of passing: unshared assignments in branches, type errors in expressions, retry backoff
// timing, callbacks answered before they are awaited, jumps out of a branch.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { evaluate, GcpRaise } from '../../testing/gcp-oracle/expression.js';
import { GcpInterpreter, type GcpValue } from '../../testing/gcp-oracle/interpreter.js';

type Doc = ConstructorParameters<typeof GcpInterpreter>[0];

async function run(
  doc: unknown,
  http: (url: string, body: GcpValue) => Promise<GcpValue> = async () => null,
) {
  const clock = new VirtualClock();
  const interpreter = new GcpInterpreter(doc as Doc, { clock, http }, 'x');
  const execution = interpreter.execute(null);
  execution.catch(() => undefined);
  await clock.run(interpreter);
  return { result: await execution, clock, start: Date.UTC(2026, 0, 5, 9, 0, 0) };
}

const e = (text: string): string => `\${${text}}`;

describe('the GCP oracle interpreter', () => {
  it('refuses a branch assigning an unshared parent variable, allows a shared one', async () => {
    const doc = (shared: string[]) => ({
      main: {
        steps: [
          { a: { assign: [{ n: 1 }] } },
          {
            p: {
              parallel: {
                shared,
                branches: [
                  { b0: { steps: [{ s: { assign: [{ n: 2 }] } }] } },
                  { b1: { steps: [{ t: { assign: [{ m: 3 }] } }] } },
                ],
              },
            },
          },
          { r: { return: e('n') } },
        ],
      },
    });
    expect((await run(doc([]))).result).toMatchObject({ state: 'failed', error: { tags: ['ScopeError'] } });
    expect((await run(doc(['n']))).result).toEqual({ state: 'succeeded', result: 2 });
  });

  it('raises on type errors as GCP does, and compares int with double', () => {
    const lookup = (name: string): GcpValue => ({ s: 'a', n: 1, d: 1.0, m: { k: null } })[name] ?? null;
    expect(() => evaluate('s < n', lookup)).toThrow(GcpRaise);
    expect(() => evaluate('m.missing', lookup)).toThrow(GcpRaise);
    expect(() => evaluate('s + n', lookup)).toThrow(GcpRaise);
    expect(evaluate('n == d and get_type(n) == "integer"', lookup)).toBe(true);
    expect(evaluate('map.get(m, ["missing", "deeper"])', lookup)).toBe(null);
    expect(evaluate('default(map.get(m, "k"), 7) + 1', lookup)).toBe(8);
    expect(evaluate('text.find_substring("héllo", "llo")', lookup)).toBe(2);
  });

  it('retries with exponential backoff capped at max_delay, then runs except', async () => {
    const calls: number[] = [];
    let clock: VirtualClock | undefined;
    const doc = {
      main: {
        steps: [
          {
            t: {
              try: { call: 'http.post', args: { url: 'https://x/fail' } },
              retry: {
                predicate: e('always'),
                max_retries: 3,
                backoff: { initial_delay: 2, max_delay: 3, multiplier: 2 },
              },
              except: { as: 'err', steps: [{ r: { return: e('err.code') } }] },
            },
          },
        ],
      },
      always: { params: ['e'], steps: [{ y: { return: true } }] },
    };
    const vc = new VirtualClock();
    clock = vc;
    const interpreter = new GcpInterpreter(
      doc as unknown as Doc,
      {
        clock: vc,
        http: async () => {
          calls.push((clock?.now() ?? 0) - Date.UTC(2026, 0, 5, 9, 0, 0));
          throw new GcpRaise({ code: 'Down' });
        },
      },
      'x',
    );
    const execution = interpreter.execute(null);
    await vc.run(interpreter);
    expect(await execution).toEqual({ state: 'succeeded', result: 'Down' });
    expect(calls).toEqual([0, 2000, 5000, 8000]);
  });

  it('keeps a callback answered before it is awaited, and times out one never answered', async () => {
    const doc = {
      main: {
        steps: [
          {
            c: {
              call: 'events.create_callback_endpoint',
              args: { http_callback_method: 'POST' },
              result: 'cb',
            },
          },
          { p: { call: 'http.post', args: { url: e('cb.url'), body: { hello: 1 } } } },
          { w: { call: 'events.await_callback', args: { callback: e('cb'), timeout: 10 }, result: 'got' } },
          {
            c2: {
              call: 'events.create_callback_endpoint',
              args: { http_callback_method: 'POST' },
              result: 'cb2',
            },
          },
          {
            w2: {
              try: { call: 'events.await_callback', args: { callback: e('cb2'), timeout: 10 } },
              except: {
                as: 'err',
                steps: [{ r: { return: [e('got.http_request.body.hello'), e('err.tags')] } }],
              },
            },
          },
        ],
      },
    };
    const { result, clock, start } = await run(doc);
    expect(result).toEqual({ state: 'succeeded', result: [1, ['TimeoutError']] });
    expect(clock.now() - start).toBe(10_000);
  });

  it('does not let a jump leave a branch', async () => {
    const doc = {
      main: {
        steps: [
          {
            p: {
              parallel: {
                branches: [
                  { b0: { steps: [{ j: { next: 'outside' } }] } },
                  { b1: { steps: [{ k: { next: 'end' } }] } },
                ],
              },
            },
          },
          { outside: { return: 1 } },
        ],
      },
    };
    await expect(run(doc)).rejects.toThrow(/jump out of a branch/);
  });
});
