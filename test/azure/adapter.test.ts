// The DF adapter under durable-functions' own replay: a decision that beats the deadline cancels the
// deadline timer; an activity's ActivityError comes back as {code, message, retryable}; each activity and
// timer is scheduled exactly once however often the orchestrator waits on it again.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import {
  createActivityHandlers,
  decodeActivityError,
  encodeActivityError,
  type RecordedEntry,
} from '../../functions/azure/activities.js';
import { stepgateOrchestrator } from '../../functions/azure/durable-context.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import { ActivityError } from '../../functions/core/ports.js';
import { approvalEventName, type RunOutcome } from '../../functions/core/protocol.js';
import { DfReplayHost } from '../../testing/azure-replay.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

const WORKFLOW = `
version: 1
id: adapter-check
name: Adapter check
triggers: [{ type: manual }]
steps:
  - id: fetch
    type: tool
    tool: fetch
    args: { n: 1 }
    retry: { maxAttempts: 2, interval: 1s }
    timeout: 1m
    output: fetched
    onError: ask
  - id: ask
    type: approval
    approvers: [boss@example.com]
    message: ok?
    timeout: 1h
    output: decision
`;

function ir(): IrWorkflow {
  const result = validateWorkflow(WORKFLOW, 'yaml');
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

interface Setup {
  tool: () => Promise<unknown>;
  /** ms after the approval request when the decision event is raised, or undefined for none. */
  decideAfter?: number;
}

async function run(
  setup: Setup,
): Promise<{ host: DfReplayHost; clock: VirtualClock; audit: RecordedEntry[] }> {
  const clock = new VirtualClock();
  const audit: RecordedEntry[] = [];
  let host: DfReplayHost | undefined;
  const start: RunStart = {
    runId: 'r1',
    workflowId: 'adapter-check',
    ir: ir(),
    input: {},
    trigger: { type: 'manual', user: { email: 'u@example.com', role: 'member', groups: [], manager: null } },
  };
  const activities = createActivityHandlers({
    tools: { call: () => setup.tool() },
    results: { put: async () => 'memory:unused', get: async () => undefined },
    notifier: { send: async () => ({}) },
    approvals: {
      request: async (request) => {
        if (setup.decideAfter !== undefined) {
          clock.setTimer(clock.now() + setup.decideAfter, () => {
            void host?.raiseEvent(approvalEventName('ask', 1, 1), {
              approved: true,
              decidedBy: 'boss@example.com',
              comment: null,
              decisions: [],
            });
          });
        }
        return { approvers: request.approvers };
      },
      close: async () => null,
    },
    audit: { append: async (batch) => void audit.push(...batch.entries) },
    runs: { stages: async () => {}, end: async () => true },
  });
  host = new DfReplayHost({
    instanceId: 'r1',
    input: start,
    orchestrator: stepgateOrchestrator,
    activities,
    clock,
  });
  await host.start();
  await clock.run(host, clock.now() + 86_400_000);
  return { host, clock, audit };
}

const timerActions = (host: DfReplayHost) =>
  (host.episodes.at(-1) ?? []).filter((a) => a.actionType === 5) as Array<{
    fireAt: Date;
    isCanceled: boolean;
  }>;

describe('the Azure DurableContext under durable-functions replay', () => {
  it('cancels the deadline timer when the decision event wins', async () => {
    const { host, clock } = await run({ tool: async () => ({ ok: true }), decideAfter: 5 * 60_000 });
    expect(host.status).toBe('completed');
    const outcome = host.output as RunOutcome;
    expect(outcome.status).toBe('completed');
    expect(outcome.vars.decision).toMatchObject({ approved: true, timedOut: false });
    const timers = timerActions(host).map((t) => ({
      fireAt: new Date(t.fireAt).getTime(),
      isCanceled: t.isCanceled,
    }));
    const deadline = timers.reduce((a, b) => (b.fireAt > a.fireAt ? b : a));
    expect(deadline?.isCanceled).toBe(true);
    // The run never waited for the hour to pass, and no timer is left armed.
    expect(clock.pendingTimers).toBe(0);
    expect(host.history.filter((e) => e.EventType === 11)).toHaveLength(0);
  });

  it('lets the deadline win when no decision comes', async () => {
    const { host } = await run({ tool: async () => ({ ok: true }) });
    const outcome = host.output as RunOutcome;
    expect(outcome.status).toBe('timed_out');
    expect(outcome.error?.code).toBe('Stepgate.ApprovalTimeout');
  });

  it('decodes an activity failure back into {code, message, retryable}', async () => {
    const { host, audit } = await run({
      tool: async () => {
        throw new ActivityError('Payments.Declined', 'card declined', false);
      },
      decideAfter: 1000,
    });
    const failed = audit.filter((e) => e.type === 'attempt.finished');
    // retryable: false stops after the first of two attempts.
    expect(failed).toHaveLength(1);
    const data = failed[0]?.data;
    expect(data?.ok === false && data.error).toEqual({
      code: 'Payments.Declined',
      message: 'card declined',
      retryable: false,
    });
    expect((host.output as RunOutcome).vars.error).toEqual({
      code: 'Payments.Declined',
      message: 'card declined',
      step: 'fetch',
    });
    // It reached the orchestrator as a DF TaskFailed event.
    expect(host.history.some((e) => e.EventType === 6)).toBe(true);
  });

  it('schedules each activity and timer once, though the orchestrator waits on some many times', async () => {
    const { host } = await run({ tool: async () => ({ ok: true }), decideAfter: 1000 });
    const scheduled = host.history.filter((e) => e.EventType === 4 || e.EventType === 10);
    expect(scheduled.map((e) => e.EventId)).toEqual(scheduled.map((_, i) => i));
    const names = scheduled.filter((e) => e.EventType === 4).map((e) => e.Name);
    expect(names.filter((n) => n === 'tool-call')).toHaveLength(1);
    expect(names.filter((n) => n === 'approval-request')).toHaveLength(1);
  });
});

describe('the activity error encoding', () => {
  const error = encodeActivityError(new ActivityError('X.Code', 'it broke', false));

  it('survives the legacy Reason/Details wrapping', () => {
    const legacy = new Error(`Activity function 'tool-call' failed: ${error.message} \n at stack`);
    expect(decodeActivityError(legacy)).toEqual({ code: 'X.Code', message: 'it broke', retryable: false });
  });

  it('survives the FailureDetails wrapping', () => {
    const failure = Object.assign(new Error(`StepgateActivityError: ${error.message}`), {
      failureDetails: { errorType: 'StepgateActivityError', errorMessage: error.message },
    });
    expect(decodeActivityError(failure)).toEqual({ code: 'X.Code', message: 'it broke', retryable: false });
  });

  it('treats any other failure as a retryable Stepgate.ActivityFailed', () => {
    expect(decodeActivityError(new Error('boom'))).toEqual({
      code: 'Stepgate.ActivityFailed',
      message: 'boom',
    });
    expect(decodeActivityError(encodeActivityError(new TypeError('bad')))).toEqual({
      code: 'Stepgate.ActivityFailed',
      message: 'bad',
    });
  });
});
