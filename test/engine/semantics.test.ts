// The workflow semantics on the embedded engine, one behaviour per test: tool retries, timeouts and
// error paths, conditions, parallel joins and cancellation, notify, delay, `next: end`, whole-run
// timeout, cancellation, final statuses, the audit trail and loops.
import { describe, expect, it } from 'vitest';
import { alice, attemptTimes, define, entries, fail, Harness, ms, ok, runWorkflow, T0 } from './harness.js';

const HOUR = 3_600_000;

function tool(id: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'tool', tool: name, ...extra };
}

function slack(id: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'notify', channel: 'slack', to: '#ops', message, ...extra };
}

describe('a tool step', () => {
  it('retries with exponential backoff, each delay multiplied by backoffRate and capped at maxDelay', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'backoff',
        steps: [
          tool('charge', 'payments-charge', {
            retry: { maxAttempts: 4, interval: '1s', backoffRate: 3, maxDelay: '5s' },
          }),
        ],
      }),
      tools: {
        'payments-charge': [fail('Upstream.Busy'), fail('Upstream.Busy'), fail('Upstream.Busy'), ok()],
      },
    });

    expect(run.status).toBe('completed');
    expect(attemptTimes(run.audit, 'charge')).toEqual([0, 1_000, 4_000, 9_000]);
  });

  it('draws full-jitter delays within [0, capped], the same ones for the same run, step and attempt', async () => {
    const workflow = define({
      id: 'jitter',
      steps: [
        tool('charge', 'payments-charge', {
          retry: { maxAttempts: 6, interval: '10s', backoffRate: 2, maxDelay: '1m', jitter: 'full' },
          onError: 'gave_up',
        }),
        slack('gave_up', 'gave up'),
      ],
    });
    const capped = [10_000, 20_000, 40_000, 60_000, 60_000];
    const delaysOf = async (runId: string): Promise<number[]> => {
      const run = await runWorkflow({ workflow, runId, tools: { 'payments-charge': fail('Upstream.Busy') } });
      const times = attemptTimes(run.audit, 'charge');
      return times.slice(1).map((time, i) => time - (times[i] ?? 0));
    };

    const first = await delaysOf('run-jitter');
    const again = await delaysOf('run-jitter');
    const other = await delaysOf('run-other');

    expect(first).toHaveLength(5);
    first.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(capped[i] ?? 0);
    });
    expect(again).toEqual(first);
    expect(first).not.toEqual(capped);
    expect(other).not.toEqual(first);
  });

  it('counts an answer that comes after the per-attempt timeout as a failed attempt with Stepgate.Timeout', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'attempt-timeout',
        steps: [tool('lookup', 'crm-lookup', { timeout: '30s', retry: { maxAttempts: 2, interval: '1s' } })],
      }),
      tools: { 'crm-lookup': [ok({ late: true }, '45s'), ok({ late: false })] },
    });

    expect(run.status).toBe('completed');
    expect(entries(run.audit, 'attempt.finished', 'lookup').map((a) => a.data)).toEqual([
      { attempt: 1, ok: false, error: { code: 'Stepgate.Timeout', message: expect.any(String) } },
      { attempt: 2, ok: true },
    ]);
    expect(attemptTimes(run.audit, 'lookup')).toEqual([0, 31_000]);
    expect(run.vars.lookup).toEqual({ late: false });
  });

  it('takes onError after the last attempt, with error.code, error.message and error.step readable there', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'on-error',
        steps: [
          tool('charge', 'payments-charge', { retry: { maxAttempts: 2, interval: '1s' }, onError: 'report' }),
          slack('paid', 'paid', { next: 'end' }),
          slack('report', '{{error.step}} failed with {{error.code}}: {{error.message}}'),
        ],
      }),
      tools: { 'payments-charge': fail('Card.Declined', 'the card was declined') },
    });

    expect(run.status).toBe('completed');
    expect(run.toolCalls).toHaveLength(2);
    expect(run.path).toEqual(['charge', 'report']);
    expect(run.notifications.map((n) => n.message)).toEqual([
      'charge failed with Card.Declined: the card was declined',
    ]);
  });

  it('fails the run, naming the step, when the last attempt fails and there is no onError', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'no-on-error',
        steps: [
          tool('charge', 'payments-charge', { retry: { maxAttempts: 2, interval: '1s' } }),
          slack('paid', 'paid'),
        ],
      }),
      tools: { 'payments-charge': fail('Card.Declined', 'the card was declined') },
    });

    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ code: 'Card.Declined', message: 'the card was declined', step: 'charge' });
    expect(run.path).toEqual(['charge']);
    expect(entries(run.audit, 'step.failed', 'charge')).toHaveLength(1);
  });

  it('gives every attempt the idempotency key runId:stepId:attempt', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'keys',
        steps: [tool('charge', 'payments-charge', { retry: { maxAttempts: 3, interval: '1s' } })],
      }),
      runId: 'run-keys',
      tools: { 'payments-charge': [fail('Upstream.Busy'), fail('Upstream.Busy'), ok({ id: 'ch_1' })] },
    });

    expect(run.toolCalls.map((c) => [c.attempt, c.idempotencyKey])).toEqual([
      [1, 'run-keys:charge:1'],
      [2, 'run-keys:charge:2'],
      [3, 'run-keys:charge:3'],
    ]);
  });

  it('does not retry a non-retryable error such as PolicyDenied', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'policy-denied',
        steps: [tool('delete_repo', 'github-delete-repo', { retry: { maxAttempts: 3, interval: '1s' } })],
      }),
      tools: {
        'github-delete-repo': fail('PolicyDenied', 'members may not delete repositories', {
          retryable: false,
        }),
      },
    });

    expect(run.toolCalls).toHaveLength(1);
    expect(entries(run.audit, 'retry.scheduled')).toEqual([]);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'PolicyDenied', step: 'delete_repo' });
  });
});

describe('a condition step', () => {
  const workflow = define({
    id: 'threshold',
    inputs: { type: 'object', properties: { amount: { type: 'number' } } },
    steps: [
      { id: 'big', type: 'condition', if: 'amount > 500', then: 'review', else: 'pay' },
      slack('review', 'review', { next: 'end' }),
      slack('pay', 'pay'),
    ],
  });

  it('goes to then when the expression is true', async () => {
    const run = await runWorkflow({ workflow, input: { amount: 900 } });

    expect(run.path).toEqual(['big', 'review']);
  });

  it('goes to else when it is not', async () => {
    const run = await runWorkflow({ workflow, input: { amount: 90 } });

    expect(run.path).toEqual(['big', 'pay']);
  });
});

describe('a parallel step', () => {
  it('with require: all fails on the first branch failure, takes its onError and cancels the other branches', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'all-fails-fast',
        steps: [
          {
            id: 'fan_out',
            type: 'parallel',
            branches: [
              { name: 'fails', steps: [tool('broken', 'broken-tool')] },
              {
                name: 'waits',
                steps: [{ id: 'pause', type: 'delay', duration: '1h' }, tool('after_pause', 'after-pause')],
              },
            ],
            onError: 'recover',
          },
          tool('finish', 'finish', { next: 'end' }),
          slack('recover', '{{error.step}}: {{error.code}}'),
        ],
      }),
      tools: { 'broken-tool': fail('Boom') },
    });

    expect(run.status).toBe('completed');
    expect(run.path).toEqual(['fan_out', 'broken', 'pause', 'recover']);
    expect(run.notifications.map((n) => n.message)).toEqual(['broken: Boom']);
    expect(entries(run.audit, 'branch.cancelled', 'fan_out').map((a) => a.data)).toEqual([{ branch: 1 }]);
    expect(run.record.endedAt).toBe(T0);
    expect(run.harness.history().filter((e) => e.type === 'TimerFired')).toEqual([]);
    expect(run.harness.storedTimers()).toBe(0);
  });

  it('with require: N continues once N branches succeeded, cancelling the rest: timers and approval requests', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'first-two',
        steps: [
          {
            id: 'race',
            type: 'parallel',
            require: 2,
            branches: [
              { name: 'a', steps: [tool('fast_a', 'fast-a')] },
              { name: 'b', steps: [tool('fast_b', 'fast-b')] },
              {
                name: 'sign',
                steps: [
                  { id: 'sign_off', type: 'approval', approvers: ['carol@example.com'], timeout: '4h' },
                ],
              },
              { name: 'wait', steps: [{ id: 'long_wait', type: 'delay', duration: '2h' }] },
            ],
          },
          { id: 'final_ok', type: 'approval', approvers: ['dave@example.com'] },
        ],
      }),
      tools: { 'fast-a': ok({ a: 1 }, '10m'), 'fast-b': ok({ b: 1 }, '10m') },
      decisions: [
        { at: '1h', step: 'sign_off', by: 'carol@example.com' },
        { at: '1h', step: 'final_ok', by: 'dave@example.com' },
      ],
    });
    const runId = await harness.start();

    await harness.run('30m');

    expect((await harness.result()).status).toBe('running');
    expect((await harness.result()).path).toEqual([
      'race',
      'fast_a',
      'fast_b',
      'sign_off',
      'long_wait',
      'final_ok',
    ]);
    expect(entries((await harness.result()).audit, 'branch.cancelled', 'race').map((a) => a.data)).toEqual([
      { branch: 2 },
      { branch: 3 },
    ]);
    expect(harness.storedTimers(runId)).toBe(0);
    expect((await harness.approval(runId, 'sign_off'))?.status).toBe('closed');

    await harness.run();
    const run = await harness.result();

    expect(run.status).toBe('completed');
    expect(run.decisions.map((d) => [d.input.stepId, d.result.accepted])).toEqual([
      ['sign_off', false],
      ['final_ok', true],
    ]);
    expect(entries(run.audit, 'approval.refused', 'sign_off')).toHaveLength(1);
    expect(harness.history().filter((e) => e.type === 'TimerFired')).toEqual([]);
  });

  it('with require: N also closes an approval request its cancelled branch was still opening', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'first-one',
        steps: [
          {
            id: 'race',
            type: 'parallel',
            require: 1,
            branches: [
              { name: 'a', steps: [tool('fast_a', 'fast-a')] },
              {
                name: 'sign',
                steps: [{ id: 'sign_off', type: 'approval', approvers: ['carol@example.com'] }],
              },
            ],
          },
          { id: 'final_ok', type: 'approval', approvers: ['dave@example.com'] },
        ],
      }),
      decisions: [
        { at: '1h', step: 'sign_off', by: 'carol@example.com' },
        { at: '2h', step: 'final_ok', by: 'dave@example.com' },
      ],
    });
    const runId = await harness.start();

    await harness.run('30m');

    expect(entries((await harness.result()).audit, 'branch.cancelled', 'race').map((a) => a.data)).toEqual([
      { branch: 1 },
    ]);
    expect((await harness.approval(runId, 'sign_off'))?.status).toBe('closed');

    await harness.run();

    expect((await harness.result()).status).toBe('completed');
    expect(harness.decisions.map((d) => [d.input.stepId, d.result.accepted])).toEqual([
      ['sign_off', false],
      ['final_ok', true],
    ]);
  });

  it('with require: N fails as soon as N successes became impossible', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'two-of-three',
        steps: [
          {
            id: 'vote',
            type: 'parallel',
            require: 2,
            branches: [
              { name: 'a', steps: [tool('try_a', 'try-a')] },
              { name: 'b', steps: [tool('try_b', 'try-b')] },
              { name: 'c', steps: [{ id: 'slow_c', type: 'delay', duration: '1h' }, tool('try_c', 'try-c')] },
            ],
          },
          tool('after', 'after'),
        ],
      }),
      tools: { 'try-a': fail('A.Failed'), 'try-b': fail('B.Failed') },
    });

    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'A.Failed', step: 'try_a' });
    expect(run.record.endedAt).toBe(T0);
    expect(run.toolCalls.map((c) => c.tool)).toEqual(['try-a', 'try-b']);
    expect(entries(run.audit, 'branch.cancelled', 'vote').map((a) => a.data)).toEqual([{ branch: 2 }]);
  });
});

describe('a notify step', () => {
  it('sends the rendered message through the Notifier port', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'greet',
        inputs: { type: 'object', properties: { name: { type: 'string' } } },
        steps: [
          {
            id: 'hello',
            type: 'notify',
            channel: 'email',
            to: ['{{trigger.user.email}}', 'ops@example.com'],
            subject: 'Hello {{name}}',
            message: 'Run {{run.id}} greets {{name}}',
          },
        ],
      }),
      runId: 'run-greet',
      input: { name: 'Zoe' },
    });

    expect(run.status).toBe('completed');
    expect(run.notifications).toEqual([
      expect.objectContaining({
        stepId: 'hello',
        channel: 'email',
        to: ['alice@example.com', 'ops@example.com'],
        subject: 'Hello Zoe',
        message: 'Run run-greet greets Zoe',
        idempotencyKey: 'run-greet:hello:1',
        identity: alice,
      }),
    ]);
  });

  it('retries a failed delivery and then takes onError', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'notify-retry',
        steps: [
          slack('page', 'wake up', { retry: { maxAttempts: 3, interval: '1m' }, onError: 'fallback' }),
          tool('done', 'done', { next: 'end' }),
          tool('fallback', 'sms-fallback', { args: { reason: '{{error.code}} at {{error.step}}' } }),
        ],
      }),
      notifications: { page: fail('Slack.Down', 'slack is down') },
    });

    expect(run.status).toBe('completed');
    expect(run.notifications.map((n) => n.at - T0)).toEqual([0, 60_000, 180_000]);
    expect(run.path).toEqual(['page', 'fallback']);
    expect(run.toolCalls.map((c) => c.args)).toEqual([{ reason: 'Slack.Down at page' }]);
  });
});

describe('a delay step', () => {
  const untilWorkflow = define({
    id: 'wait-until',
    inputs: { type: 'object', properties: { when: { type: 'string' } } },
    steps: [{ id: 'wait', type: 'delay', until: '{{when}}' }, tool('go', 'go')],
  });

  it('waits for its duration', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'wait-2h',
        steps: [{ id: 'wait', type: 'delay', duration: '2h' }, tool('go', 'go')],
      }),
    });

    expect(run.toolCalls.map((c) => c.at - T0)).toEqual([2 * HOUR]);
  });

  it('waits until an ISO-8601 time with a zone', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'wait-fixed',
        steps: [{ id: 'wait', type: 'delay', until: '2026-01-05T14:30:00+02:00' }, tool('go', 'go')],
      }),
    });

    expect(run.toolCalls.map((c) => c.at)).toEqual([Date.parse('2026-01-05T12:30:00Z')]);
  });

  it('waits until the time a template yields', async () => {
    const run = await runWorkflow({ workflow: untilWorkflow, input: { when: '2026-01-06T08:00:00Z' } });

    expect(run.toolCalls.map((c) => c.at)).toEqual([Date.parse('2026-01-06T08:00:00Z')]);
  });

  it('continues at once when until is in the past', async () => {
    const run = await runWorkflow({ workflow: untilWorkflow, input: { when: '2025-12-31T00:00:00Z' } });

    expect(run.status).toBe('completed');
    expect(run.toolCalls.map((c) => c.at)).toEqual([T0]);
    expect(run.harness.history().filter((e) => e.type === 'TimerCreated')).toEqual([]);
  });

  it.each([
    ['text', 'next tuesday'],
    ['a number', 1_767_600_000_000],
    ['a time without a zone', '2026-01-06T08:00:00'],
    ['a date in another format', 'January 6, 2026 08:00 UTC'],
  ])('fails the step when until is %s, not an ISO-8601 time with a zone', async (_kind, when) => {
    const run = await runWorkflow({ workflow: untilWorkflow, input: { when } });

    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'Stepgate.InvalidTime', step: 'wait' });
    expect(run.toolCalls).toEqual([]);
  });
});

describe('next: end', () => {
  it('ends the run there, completed', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'stop-early',
        steps: [tool('first', 'first', { next: 'end' }), tool('second', 'second')],
      }),
    });

    expect(run.status).toBe('completed');
    expect(run.path).toEqual(['first']);
    expect(run.toolCalls.map((c) => c.tool)).toEqual(['first']);
  });
});

const waitsTwoWays = (extra: Record<string, unknown> = {}): string =>
  define({
    id: 'waits-two-ways',
    ...extra,
    steps: [
      {
        id: 'both',
        type: 'parallel',
        branches: [
          { name: 'sign', steps: [{ id: 'sign_off', type: 'approval', approvers: ['carol@example.com'] }] },
          { name: 'wait', steps: [{ id: 'long_wait', type: 'delay', duration: '1d' }] },
        ],
      },
      tool('after', 'after'),
    ],
  });

describe('the whole-run timeout', () => {
  it('ends the run timed_out and cancels everything pending', async () => {
    const run = await runWorkflow({
      workflow: waitsTwoWays({ timeout: '2h' }),
      decisions: [{ at: '3h', step: 'sign_off', by: 'carol@example.com' }],
    });

    expect(run.status).toBe('timed_out');
    expect(run.error).toMatchObject({ code: 'Stepgate.Timeout', step: null });
    expect(run.record.endedAt).toBe(T0 + 2 * HOUR);
    expect(run.toolCalls).toEqual([]);
    expect((await run.harness.approval(run.runId, 'sign_off'))?.status).toBe('closed');
    expect(run.decisions.map((d) => d.result.accepted)).toEqual([false]);
    expect(run.harness.storedTimers()).toBe(0);
    expect(run.harness.history().filter((e) => e.type === 'TimerFired')).toHaveLength(1);
  });
});

describe('cancelling a run', () => {
  it('cancels everything pending, closes open approvals and ends the run cancelled', async () => {
    const harness = new Harness({
      workflow: waitsTwoWays(),
      decisions: [{ at: '2h', step: 'sign_off', by: 'carol@example.com' }],
    });
    const runId = await harness.start();
    harness.at('1h', () => harness.host.cancelRun(runId, 'admin@example.com'));

    await harness.run();
    const run = await harness.result();

    expect(run.status).toBe('cancelled');
    expect(run.error).toBeNull();
    expect(run.record.endedAt).toBe(T0 + HOUR);
    expect(entries(run.audit, 'run.cancelled').map((a) => a.data)).toEqual([{ by: 'admin@example.com' }]);
    expect((await harness.approval(runId, 'sign_off'))?.status).toBe('closed');
    expect(run.decisions.map((d) => d.result.accepted)).toEqual([false]);
    expect(harness.storedTimers()).toBe(0);
    expect(harness.history().filter((e) => e.type === 'TimerFired')).toEqual([]);
    expect(harness.failures).toEqual([]);
  });
  it('also closes an approval request that was still being sent when the run was cancelled', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'cancel-while-asking',
        steps: [
          { id: 'sign_off', type: 'approval', approvers: ['carol@example.com'] },
          tool('after', 'after'),
        ],
      }),
      approvalNotifierDelay: '1m',
      decisions: [{ at: '1h', step: 'sign_off', by: 'carol@example.com' }],
    });
    const runId = await harness.start();
    harness.at(0, () => harness.host.cancelRun(runId, 'admin@example.com'));

    await harness.run('30m');

    expect((await harness.result()).status).toBe('cancelled');
    expect((await harness.approval(runId, 'sign_off'))?.status).toBe('closed');
    expect(await harness.engine.store.pendingFor('carol@example.com')).toEqual([]);

    await harness.run();

    expect(harness.decisions.map((d) => d.result.accepted)).toEqual([false]);
    expect(harness.failures).toEqual([]);
  });
});

describe('the final status', () => {
  const handled = define({
    id: 'handled-paths',
    inputs: { type: 'object', properties: { path: { type: 'string' } } },
    steps: [
      { id: 'which', type: 'condition', if: "path == 'error'", then: 'risky', else: 'ask' },
      tool('risky', 'risky', { onError: 'handled', next: 'end' }),
      {
        id: 'ask',
        type: 'approval',
        approvers: ['bob@example.com'],
        timeout: '1h',
        onReject: 'handled',
        onTimeout: 'handled',
        next: 'end',
      },
      slack('handled', 'handled'),
    ],
  });

  it.each([
    ['error', []],
    ['reject', [{ at: '10m', step: 'ask', by: 'bob@example.com', decision: 'reject' as const }]],
    ['timeout', []],
  ])('is completed for a run that ends on its handled %s path', async (path, decisions) => {
    const run = await runWorkflow({
      workflow: handled,
      input: { path },
      decisions,
      tools: { risky: fail('Risky.Failed') },
    });

    expect(run.status).toBe('completed');
    expect(run.path.at(-1)).toBe('handled');
    expect(entries(run.audit, 'run.finished').map((a) => a.data)).toEqual([
      { status: 'completed', error: null },
    ]);
  });
});

describe('the audit trail', () => {
  it('answers who triggered the run, every step, attempt, approval decision and timer', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'audited',
        inputs: { type: 'object', properties: { amount: { type: 'number' } } },
        steps: [
          tool('validate', 'expenses-validate', { retry: { maxAttempts: 2, interval: '1s' } }),
          { id: 'big', type: 'condition', if: 'amount > 500', then: 'approve', else: 'cool_off' },
          { id: 'approve', type: 'approval', approvers: ['{{trigger.user.manager}}'], message: 'ok?' },
          { id: 'cool_off', type: 'delay', duration: '1h' },
          slack('tell', 'done'),
        ],
      }),
      input: { amount: 900 },
      tools: { 'expenses-validate': [fail('Upstream.Busy', 'busy'), ok({ valid: true })] },
      decisions: [
        { at: '30m', step: 'approve', by: 'bob@example.com', comment: 'fine by me', channel: 'email-link' },
      ],
    });
    const { audit } = run;

    expect(run.status).toBe('completed');
    expect(entries(audit, 'run.started')[0]?.data).toEqual({
      trigger: 'manual',
      user: 'alice@example.com',
      input: { amount: 900 },
    });
    const entered = entries(audit, 'step.entered').map((a) => a.step);
    const finished = audit
      .filter((a) => ['step.finished', 'step.failed', 'step.error-handled'].includes(a.type))
      .map((a) => a.step);
    expect(entered).toEqual(['validate', 'big', 'approve', 'cool_off', 'tell']);
    expect(finished).toEqual(entered);
    expect(entries(audit, 'attempt.finished', 'validate').map((a) => a.data)).toEqual([
      { attempt: 1, ok: false, error: { code: 'Upstream.Busy', message: 'busy', retryable: true } },
      { attempt: 2, ok: true },
    ]);
    expect(entries(audit, 'step.finished', 'validate')[0]?.data).toMatchObject({ result: { valid: true } });
    expect(entries(audit, 'approval.requested', 'approve')[0]).toMatchObject({
      at: T0 + 1_000,
      data: { level: 1, approvers: ['bob@example.com'], require: 'any', message: 'ok?' },
    });
    expect(entries(audit, 'approval.decision', 'approve')[0]).toMatchObject({
      at: T0 + ms('30m'),
      data: {
        by: 'bob@example.com',
        decision: 'approve',
        comment: 'fine by me',
        channel: 'email-link',
        at: new Date(T0 + ms('30m')).toISOString(),
      },
    });
    expect(entries(audit, 'timer.started', 'cool_off')[0]?.data).toEqual({
      fireAt: new Date(T0 + ms('30m') + HOUR).toISOString(),
    });
    expect(entries(audit, 'step.finished', 'cool_off')[0]?.at).toBe(T0 + ms('30m') + HOUR);
    expect(audit.at(-1)?.type).toBe('run.finished');
  });
  it('finishes an approval step that timed out into onTimeout like every other step', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'audited-timeout',
        steps: [
          { id: 'ask', type: 'approval', approvers: ['bob@example.com'], timeout: '1h', onTimeout: 'chase' },
          slack('done', 'done', { next: 'end' }),
          slack('chase', 'nobody answered'),
        ],
      }),
    });

    expect(run.path).toEqual(['ask', 'chase']);
    expect(entries(run.audit, 'approval.timed-out', 'ask').map((a) => a.data)).toEqual([
      { level: 1, escalatesTo: null },
    ]);
    expect(entries(run.audit, 'step.finished').map((a) => [a.step, a.at - T0])).toEqual([
      ['ask', HOUR],
      ['chase', HOUR],
    ]);
  });
});

describe('a loop', () => {
  it('through an approval visits its steps again, with increasing visits and new idempotency keys', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'draft-until-approved',
        steps: [
          tool('draft', 'write-draft'),
          { id: 'review', type: 'approval', approvers: ['bob@example.com'], onReject: 'draft' },
        ],
      }),
      runId: 'run-loop',
      decisions: [
        { at: '1h', step: 'review', by: 'bob@example.com', decision: 'reject' },
        { at: '2h', step: 'review', by: 'bob@example.com', decision: 'approve' },
      ],
    });

    expect(run.status).toBe('completed');
    expect(entries(run.audit, 'step.entered').map((a) => [a.step, a.data.visit])).toEqual([
      ['draft', 1],
      ['review', 1],
      ['draft', 2],
      ['review', 2],
    ]);
    expect(run.toolCalls.map((c) => [c.visit, c.idempotencyKey])).toEqual([
      [1, 'run-loop:draft:1'],
      [2, 'run-loop:draft#2:1'],
    ]);
    expect(run.approvalRequests.map((r) => [r.visit, r.eventName])).toEqual([
      [1, 'approval:review:1:1'],
      [2, 'approval:review:2:1'],
    ]);
  });

  it('through a delay visits its steps again, with increasing visits and new idempotency keys', async () => {
    const run = await runWorkflow({
      workflow: define({
        id: 'poll-until-done',
        steps: [
          tool('poll', 'check-status'),
          { id: 'done', type: 'condition', if: 'poll.done == true', then: 'end', else: 'wait' },
          { id: 'wait', type: 'delay', duration: '5m', next: 'poll' },
        ],
      }),
      runId: 'run-poll',
      tools: { 'check-status': [ok({ done: false }), ok({ done: false }), ok({ done: true })] },
    });

    expect(run.status).toBe('completed');
    expect(run.toolCalls.map((c) => [c.at - T0, c.idempotencyKey])).toEqual([
      [0, 'run-poll:poll:1'],
      [300_000, 'run-poll:poll#2:1'],
      [600_000, 'run-poll:poll#3:1'],
    ]);
    expect(entries(run.audit, 'step.entered', 'wait').map((a) => a.data.visit)).toEqual([1, 2]);
  });
});
