// The DurableHost contract (functions/core/ports.ts), written once and run against every host: run start
// by id (of several starts with one explicit run id, exactly one starts the run; stated for hosts whose
// starts may overlap: every call is awaited, the contenders started together; the embedded host owns its
// database alone, so its run races starts on one host), the run records and their filters, cancelling,
// events to a run that is not running, the audit trail in order, and what decided a completed run's path
// recorded in its record when it ended (RunRecord.pathOutcome: what the run list shows, reading no trail).
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AuditEntry } from '../../functions/core/audit.js';
import type { DurableHost } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { race } from './contenders.js';

// A run that waits an hour: it is still running when the suite looks at it.
const WAITS = validateWorkflow(`
version: 1
id: waits
inputs:
  type: object
  properties:
    n: { type: number }
steps:
  - id: wait
    type: delay
    duration: 1h
`).ir;

function workflow(): IrWorkflow {
  if (WAITS === undefined) throw new Error('the contract workflow does not validate');
  return WAITS;
}

/** A run that waits on one approval (step `ask`, level 1) and completes either way: a rejection ends it. */
export const ASKS = validateWorkflow(`
version: 1
id: asks
steps:
  - id: ask
    type: approval
    approvers: [bob@example.com]
    onReject: end
`).ir as IrWorkflow;

/** Who decides the contract's approvals. */
export const DECIDER = 'bob@example.com';

/**
 * How an adapter's test decides a run of ASKS that waits on its approval, as the platform's decision handler
 * would: the `approval.decision` entry (by DECIDER) in the run's trail, then the answer that lets the run go
 * on to its end (a raised event; on a host whose machines nothing executes, the execution's success).
 */
export type DecideAsk = (host: DurableHost, runId: string, decision: 'approve' | 'reject') => Promise<void>;

/** The `approval.decision` entry a decision of DECIDER writes at the step `ask` (level 1, deciding it). */
export function decisionEntry(decision: 'approve' | 'reject'): AuditEntry {
  return {
    type: 'approval.decision',
    step: 'ask',
    data: {
      level: 1,
      decides: true,
      by: DECIDER,
      decision,
      comment: null,
      at: '2026-01-01T00:00:00.000Z',
      channel: 'api',
    },
  };
}

const start = (n: number, runId?: string) => ({
  workflowId: 'waits',
  ir: workflow(),
  input: { n },
  trigger: {
    type: 'manual' as const,
    user: { email: 'alice@example.com', role: 'member', groups: [], manager: null },
  },
  ...(runId === undefined ? {} : { runId }),
});

/**
 * The contract of `DurableHost`; `make` gives a host on a fresh store (where runs of `waits` and `asks`
 * can start), `decide` answers a waiting run of ASKS.
 */
export function describeDurableHostContract(
  name: string,
  make: () => DurableHost | Promise<DurableHost>,
  decide: DecideAsk,
): void {
  const host = async (): Promise<DurableHost> => {
    const made = await make();
    onTestFinished(() => made.close());
    return made;
  };

  describe(`DurableHost contract: ${name}`, () => {
    it('starts a run under the id it is given, or a new id of its own', async () => {
      const durable = await host();
      expect(await durable.startRun(start(1, 'run-given'))).toBe('run-given');
      const chosen = await durable.startRun(start(2));
      expect(chosen).not.toBe('run-given');
      expect((await durable.listRuns()).map((r) => r.id).sort()).toEqual([chosen, 'run-given'].sort());
    });

    it('starts a run id once: a later start with that id is refused and changes nothing', async () => {
      const durable = await host();
      await durable.startRun(start(1, 'run-1'));
      await expect(durable.startRun(start(2, 'run-1'))).rejects.toThrow('run-1');
      expect(await durable.listRuns()).toHaveLength(1);
      expect((await durable.getRun('run-1'))?.input).toEqual({ n: 1 });
    });

    it('answers nothing for a run it does not know, and refuses events to it', async () => {
      const durable = await host();
      expect(await durable.getRun('nobody')).toBeUndefined();
      expect(await durable.audit('nobody')).toEqual([]);
      await expect(durable.raiseEvent('nobody', 'approval', {})).rejects.toThrow('nobody');
      await expect(durable.cancelRun('nobody', 'alice@example.com')).rejects.toThrow('nobody');
    });

    it('cancels a waiting run: it ends cancelled, its trail in order, and takes no event after', async () => {
      const durable = await host();
      await durable.startRun(start(1, 'run-1'));
      expect(await durable.getRun('run-1')).toMatchObject({
        status: 'running',
        endedAt: null,
        workflowId: 'waits',
      });
      await durable.cancelRun('run-1', 'alice@example.com');
      expect(await durable.waitForRun('run-1')).toBe('cancelled');
      const run = await durable.getRun('run-1');
      expect(run).toMatchObject({ status: 'cancelled' });
      expect(run?.endedAt).toEqual(expect.any(Number));
      const trail = await durable.audit('run-1');
      expect(trail.map((r) => r.seq)).toEqual(trail.map((_, i) => i + 1));
      expect(trail[0]?.type).toBe('run.started');
      expect(trail.map((r) => r.type)).toContain('run.cancelled');
      await expect(durable.raiseEvent('run-1', 'approval', {})).rejects.toThrow('run-1');
    });

    it('lists runs newest first, by status, workflow, who triggered them, and up to a limit', async () => {
      const durable = await host();
      for (const n of [1, 2, 3]) await durable.startRun(start(n, `run-${n}`));
      await durable.cancelRun('run-2', 'alice@example.com');
      await durable.waitForRun('run-2');
      const ids = async (filter: Parameters<DurableHost['listRuns']>[0]) =>
        (await durable.listRuns(filter)).map((r) => r.id);
      expect((await ids({})).sort()).toEqual(['run-1', 'run-2', 'run-3']);
      expect((await ids({ status: 'running' })).sort()).toEqual(['run-1', 'run-3']);
      expect(await ids({ status: 'cancelled' })).toEqual(['run-2']);
      expect(await ids({ workflowId: 'other' })).toEqual([]);
      expect((await ids({ triggeredBy: 'ALICE@example.com' })).length).toBe(3);
      expect(await ids({ triggeredBy: 'bob@example.com' })).toEqual([]);
      expect(await ids({ limit: 2 })).toHaveLength(2);
    });

    it('records what decided a completed run when it ends: approved or rejected, by whom; nothing otherwise', async () => {
      const durable = await host();
      const asks = (runId: string) => ({ ...start(0, runId), workflowId: 'asks', ir: ASKS, input: {} });
      for (const runId of ['run-yes', 'run-no', 'run-stop']) await durable.startRun(asks(runId));
      await durable.startRun(start(1, 'run-waits'));
      await decide(durable, 'run-yes', 'approve');
      await decide(durable, 'run-no', 'reject');
      expect(await durable.waitForRun('run-yes')).toBe('completed');
      expect(await durable.waitForRun('run-no')).toBe('completed');
      await durable.cancelRun('run-stop', 'alice@example.com');
      expect(await durable.waitForRun('run-stop')).toBe('cancelled');

      const approved = { kind: 'approved', step: 'ask', by: DECIDER };
      const rejected = { kind: 'rejected', step: 'ask', by: DECIDER };
      const listed = Object.fromEntries(
        (await durable.listRuns()).map((r) => [r.id, [r.status, r.pathOutcome ?? 'none']]),
      );
      expect(listed).toEqual({
        'run-yes': ['completed', approved],
        'run-no': ['completed', rejected],
        'run-stop': ['cancelled', 'none'],
        'run-waits': ['running', 'none'],
      });
      expect((await durable.getRun('run-no'))?.pathOutcome).toEqual(rejected);
      expect((await durable.getRun('run-yes'))?.pathOutcome).toEqual(approved);
    });

    it('starts one run however many start the same id at the same time', async () => {
      const durable = await host();
      const outcomes = await race(8, (i) => durable.startRun(start(i, 'run-1')));
      const started = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(started).toHaveLength(1);
      const runs = await durable.listRuns();
      expect(runs.map((r) => r.id)).toEqual(['run-1']);
      expect(runs[0]?.input).toEqual({ n: started[0] });
    });
  });
}
