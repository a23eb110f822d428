// The Step Functions host and the state machine deployer against moto_server (test/support/moto.ts: missing,
// the suite fails), reached through the moto front (test/support/moto-front.ts), which answers
// ValidateStateMachineDefinition (moto has none) and records every request. moto keeps executions as
// records without its interpreter, which is all the DurableHost contract's cases need (a run that must end
// completed ends by its execution's SUCCEEDED event, applied as the run-status function does): the whole
// contract runs here. What moto cannot do is said where it matters: it cannot start
// an execution on a version ARN (the front passes the start on unqualified; the request sent is checked),
// and without its interpreter SendTaskSuccess/SendTaskFailure accept any token (the requests are checked;
// an expired token's answer is AWS's TaskTimedOut, given by the front). The history mapping is checked on
// an expense run's history captured from moto's interpreter (test/fixtures/aws/capture-expense-history.ts:
// a retried tool, an escalated approval level, a choice), and end to end on the interpreter with a workflow
// that needs no Lambda.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeStateMachineAliasCommand,
  DescribeStateMachineCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DynamoRunAudit } from '../../adapters/aws/audit.js';
import { historyEntries } from '../../adapters/aws/execution-history.js';
import { DynamoRunStore } from '../../adapters/aws/run-store.js';
import { StateMachineDeployer, StateMachineWorkflowStore } from '../../adapters/aws/state-machines.js';
import { StepFunctionsHost } from '../../adapters/aws/step-functions-host.js';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { DynamoWorkflowStore } from '../../adapters/aws/workflow-store.js';
import { aslCallback } from '../../functions/core/handlers/approval-decision.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { DurableHost } from '../../functions/core/ports.js';
import { aslExecutionInput } from '../../functions/core/wire.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import {
  ASKS,
  DECIDER,
  decisionEntry,
  describeDurableHostContract,
} from '../contracts/durable-host.contract.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import {
  type FrontRoute,
  type MotoFront,
  sfnAction,
  startMotoFront,
  startOnVersionRoute,
  validateDefinitionRoute,
} from '../support/moto-front.js';

const FUNCTIONS = {
  toolCall: 'arn:aws:lambda:us-east-1:123456789012:function:stepgate-tool-call',
  notify: 'arn:aws:lambda:us-east-1:123456789012:function:stepgate-notify',
  approvalRequest: 'arn:aws:lambda:us-east-1:123456789012:function:stepgate-approval-request',
  quorum: 'arn:aws:lambda:us-east-1:123456789012:function:stepgate-quorum',
};
const ROLE = 'arn:aws:iam::123456789012:role/stepgate-state-machines';

let moto: Moto | undefined;
let front: MotoFront | undefined;
/** Answers the next SendTask* request with AWS's TaskTimedOut error when set (moto cannot). */
let expireTokens = false;
const expiredTokens: FrontRoute = (request) => {
  const action = sfnAction(request);
  if (!expireTokens || (action !== 'SendTaskSuccess' && action !== 'SendTaskFailure')) return undefined;
  return {
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({ __type: 'TaskTimedOut', message: 'Task Timed Out' }),
  };
};

beforeAll(async () => {
  moto = await startMoto();
  front = await startMotoFront(moto.endpoint, [validateDefinitionRoute, startOnVersionRoute, expiredTokens]);
}, 60_000);
afterAll(async () => {
  await front?.stop();
  await moto?.stop();
});

/** The JSON bodies of the Step Functions requests of `action` the front has seen. */
function calls(action: string): unknown[] {
  if (front === undefined) throw new Error('moto is not running');
  return front.calls(action);
}

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const EXPENSE = irOf(
  readFileSync(join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'), 'utf8'),
);
const WAITS = irOf(`
version: 1
id: waits
steps:
  - id: wait
    type: delay
    duration: 1h
`);

let fresh = 0;

interface World {
  table: Table;
  sfn: SFNClient;
  deployer: StateMachineDeployer;
  workflows: DynamoWorkflowStore;
  host: StepFunctionsHost;
  clock: { at: number; now(): number };
}

/** A fresh table, state machine names of their own (moto keeps machines across tests) and a host. */
async function world(): Promise<World> {
  if (front === undefined) throw new Error('moto is not running');
  const n = ++fresh;
  const config = { ...MOTO_CLIENT, endpoint: front.endpoint };
  const table = openTable(`stepgate-sfn-${n}`, config);
  await createTable(table);
  const sfn = new SFNClient(config);
  const clock = { at: 1_780_000_000_000, now: () => clock.at };
  const deployer = new StateMachineDeployer({
    sfn,
    table,
    roleArn: ROLE,
    functions: FUNCTIONS,
    namePrefix: `t${n}-`,
    clock,
  });
  const workflows = new DynamoWorkflowStore(table);
  const host = new StepFunctionsHost({ sfn, table, machines: deployer, workflows, clock, pollMs: 10 });
  onTestFinished(() => {
    sfn.destroy();
    table.client.destroy();
  });
  return { table, sfn, deployer, workflows, host, clock };
}

/** The contract's worlds by their host: its decisions are written to that host's table. */
const contractWorlds = new WeakMap<DurableHost, World>();

describeDurableHostContract(
  'Step Functions on moto',
  async () => {
    const made = await world();
    for (const ir of [WAITS, ASKS]) {
      await made.workflows.save({ ir, source: ir.id, format: 'yaml', by: 'alice@example.com', at: 1 });
      await made.deployer.deploy({ id: ir.id, version: 1, ir });
    }
    contractWorlds.set(made.host, made);
    return made.host;
  },
  async (host, runId, decision) => {
    const made = contractWorlds.get(host);
    if (made === undefined) throw new Error('not a host of the contract');
    // The decision's entry, as the approval store writes it with the decision; moto runs no machine, so
    // the run goes on to its end (approved, or rejected to `end`) as its execution's SUCCEEDED event.
    const trail = new DynamoRunAudit(made.table, made.clock);
    await trail.append(runId, decisionEntry(decision));
    const run = await new DynamoRunStore(made.table, trail).get(runId);
    if (run === undefined) throw new Error(`no run ${runId}`);
    await made.host.applyExecutionStatus({
      executionArn: run.executionArn,
      name: runId,
      status: 'SUCCEEDED',
      output: JSON.stringify({ vars: {} }),
      stopDate: made.clock.now(),
    });
  },
);

const alice = { email: 'alice@example.com', role: 'member', groups: [], manager: 'bob@example.com' };
const start = (runId: string, version?: number): Omit<RunStart, 'runId'> & { runId: string } => ({
  runId,
  workflowId: EXPENSE.id,
  ir: EXPENSE,
  ...(version === undefined ? {} : { version }),
  input: { amount: 900, description: 'laptop', category: 'equipment' },
  trigger: { type: 'manual', user: alice },
});

describe('StateMachineDeployer', () => {
  it('validates, creates the machine with version 1, updates it with version 2, and moves live', async () => {
    const { deployer, sfn } = await world();
    const seen = calls('ValidateStateMachineDefinition').length;
    const v1 = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    expect(v1.stateMachineArn).toMatch(/:stateMachine:t\d+-expense-approval$/);
    expect(v1.versionArn).toBe(`${v1.stateMachineArn}:1`);
    const definition = deployer.definition(EXPENSE);
    expect(definition).not.toContain('${');
    expect(definition).toContain(FUNCTIONS.approvalRequest);
    expect(calls('ValidateStateMachineDefinition').slice(seen)).toEqual([{ definition, type: 'STANDARD' }]);
    const alias = () =>
      sfn.send(new DescribeStateMachineAliasCommand({ stateMachineAliasArn: `${v1.stateMachineArn}:live` }));
    expect((await alias()).routingConfiguration).toEqual([
      { stateMachineVersionArn: v1.versionArn, weight: 100 },
    ]);

    const v2 = await deployer.deploy({ id: EXPENSE.id, version: 2, ir: EXPENSE });
    expect(v2.stateMachineArn).toBe(v1.stateMachineArn);
    expect(v2.versionArn).toBe(`${v1.stateMachineArn}:2`);
    expect((await alias()).routingConfiguration).toEqual([
      { stateMachineVersionArn: v2.versionArn, weight: 100 },
    ]);
    // moto has no ListStateMachineVersions: each version is described by its ARN.
    for (const arn of [v1.versionArn, v2.versionArn]) {
      const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
      expect(described).toMatchObject({ definition, roleArn: ROLE, type: 'STANDARD' });
    }
    // The version descriptions name the Stepgate versions (as sent: moto does not keep them).
    expect(calls('CreateStateMachine').at(-1)).toEqual({
      name: deployer.machineName(EXPENSE.id),
      definition,
      roleArn: ROLE,
      type: 'STANDARD',
      publish: true,
      versionDescription: `Stepgate workflow ${EXPENSE.id} version 1`,
    });
    expect(calls('UpdateStateMachine').at(-1)).toEqual({
      stateMachineArn: v1.stateMachineArn,
      definition,
      roleArn: ROLE,
      publish: true,
      versionDescription: `Stepgate workflow ${EXPENSE.id} version 2`,
    });
    expect((await deployer.deployed(EXPENSE.id, 1))?.versionArn).toBe(v1.versionArn);
    expect((await deployer.deployed(EXPENSE.id))?.versionArn).toBe(v2.versionArn);
    expect(await deployer.deployed(EXPENSE.id, 3)).toBeUndefined();
  });

  it('publishes one version each when two first deploys of a workflow race', async () => {
    const { deployer } = await world();
    // Two definitions (an unchanged definition published again answers the version it already has).
    const renamed = { ...EXPENSE, name: 'Expense approval, renamed' };
    const published = await Promise.all([deployer.publish(EXPENSE, 1), deployer.publish(renamed, 2)]);
    const arn = await deployer.machineArn(EXPENSE.id);
    expect(published.map((p) => p.stateMachineArn)).toEqual([arn, arn]);
    expect(published.map((p) => p.versionArn).sort()).toEqual([`${arn}:1`, `${arn}:2`]);
  });

  it('names machines within AWS rules and 80 characters', async () => {
    const { deployer } = await world();
    expect(deployer.machineName('expense-approval')).toMatch(/^t\d+-expense-approval$/);
    const long = deployer.machineName(`a${'b'.repeat(90)}`);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(deployer.machineName('a.b')).not.toBe(deployer.machineName('a-b'));
  });

  it('refuses a definition Step Functions finds invalid, naming its diagnostics, and saves nothing', async () => {
    const { sfn, table, workflows } = await world();
    const broken = new StateMachineDeployer({
      sfn,
      table,
      roleArn: ROLE,
      functions: { ...FUNCTIONS, toolCall: 'not a function' },
      namePrefix: `t${fresh}-`,
    });
    const store = new StateMachineWorkflowStore(workflows, broken);
    const saving = store.save({ ir: EXPENSE, source: 'x', format: 'yaml', by: 'alice@example.com', at: 1 });
    await expect(saving).rejects.toThrow(
      /expense-approval.*SCHEMA_VALIDATION_FAILED.*at \/States\/validate\/Resource/,
    );
    expect(await workflows.history(EXPENSE.id)).toEqual([]);
    await expect(
      sfn.send(new DescribeStateMachineCommand({ stateMachineArn: broken.machineName(EXPENSE.id) })),
    ).rejects.toThrow();
  });

  it('deploys each saved version and deletes the machine with the workflow', async () => {
    const { sfn, deployer, workflows } = await world();
    const store = new StateMachineWorkflowStore(workflows, deployer);
    const save = () =>
      store.save({ ir: EXPENSE, source: 'x', format: 'yaml', by: 'alice@example.com', at: 5 });
    expect((await save()).version).toBe(1);
    expect((await save()).version).toBe(2);
    const v2 = await deployer.deployed(EXPENSE.id, 2);
    expect(v2).toMatchObject({ version: 2, deployedAt: 5 });
    expect(v2?.versionArn).toBe(`${v2?.stateMachineArn}:2`);
    expect(await store.delete(EXPENSE.id)).toBe(true);
    await expect(
      sfn.send(new DescribeStateMachineCommand({ stateMachineArn: v2?.stateMachineArn })),
    ).rejects.toThrow(/Does Not Exist/);
  });
});

describe('StepFunctionsHost', () => {
  it('starts a run on the state machine version it was triggered with, named by the run id', async () => {
    const { deployer, host } = await world();
    const v1 = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    await deployer.deploy({ id: EXPENSE.id, version: 2, ir: EXPENSE });
    const seen = calls('StartExecution').length;
    await host.startRun(start('run-v1', 1));
    const sent = calls('StartExecution').slice(seen);
    expect(sent).toEqual([
      {
        stateMachineArn: v1.versionArn,
        name: 'run-v1',
        input: JSON.stringify(aslExecutionInput(start('run-v1', 1), 1_780_000_000_000)),
      },
    ]);
    await host.startRun(start('run-latest'));
    expect((calls('StartExecution').at(-1) as { stateMachineArn: string }).stateMachineArn).toBe(
      `${v1.stateMachineArn}:2`,
    );
    await expect(host.startRun({ ...start('run-v9'), version: 9 })).rejects.toThrow(
      /expense-approval.*version 9/,
    );
    expect(await host.getRun('run-v9')).toBeUndefined();
  });

  it('applies execution status events once: redelivered, regressing or after a cancel they change nothing', async () => {
    const { deployer, host, clock } = await world();
    const { stateMachineArn } = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const arn = (runId: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
    await host.startRun(start('run-ok', 1));
    const output = JSON.stringify({ ctx: {}, vars: { amount: 900, paid: true, run: {}, trigger: {} } });
    const succeeded = {
      executionArn: arn('run-ok'),
      name: 'run-ok',
      status: 'SUCCEEDED',
      output,
      stopDate: 7,
    };
    expect(await host.applyExecutionStatus({ ...succeeded, status: 'RUNNING' })).toBe('running');
    expect(await host.applyExecutionStatus(succeeded)).toBe('completed');
    expect(await host.applyExecutionStatus(succeeded)).toBe('completed');
    expect(await host.applyExecutionStatus({ ...succeeded, status: 'FAILED', error: 'X', cause: 'y' })).toBe(
      'completed',
    );
    expect(await host.getRun('run-ok')).toMatchObject({
      status: 'completed',
      endedAt: 7,
      outcome: { status: 'completed', error: null, vars: { amount: 900, paid: true } },
    });
    expect((await host.audit('run-ok')).map((r) => r.type)).toEqual(['run.started', 'run.finished']);
    expect(await host.waitForRun('run-ok')).toBe('completed');

    await host.startRun(start('run-cancel', 1));
    clock.at += 1_000;
    await host.cancelRun('run-cancel', 'bob@example.com');
    const stop = calls('StopExecution').at(-1) as Record<string, string>;
    expect(stop).toEqual({
      executionArn: arn('run-cancel'),
      error: 'Stepgate.Cancelled',
      cause: 'cancelled by bob@example.com',
    });
    const aborted = { executionArn: arn('run-cancel'), name: 'run-cancel', status: 'ABORTED', ...stop };
    expect(await host.applyExecutionStatus(aborted)).toBe('cancelled');
    const trail = await host.audit('run-cancel');
    expect(trail.map((r) => [r.seq, r.type, r.data])).toEqual([
      [1, 'run.started', { trigger: 'manual', user: 'alice@example.com', input: start('x').input }],
      [2, 'run.cancelled', { by: 'bob@example.com' }],
      [3, 'run.finished', { status: 'cancelled', error: null }],
    ]);
    expect(await host.waitForRun('run-cancel')).toBe('cancelled');
    expect(await host.applyExecutionStatus({ ...aborted, name: 'someone-else' })).toBeUndefined();
  });

  it('reads failures, approval timeouts and run timeouts from the status event', async () => {
    const { deployer, host } = await world();
    const { stateMachineArn } = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const arn = (runId: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
    for (const id of ['run-failed', 'run-approval', 'run-timeout']) await host.startRun(start(id, 1));
    const event = (name: string, status: string, error?: string, cause?: string) => ({
      executionArn: arn(name),
      name,
      status,
      error,
      cause,
      stopDate: 9,
    });
    const cause = (code: string, step: string) => JSON.stringify({ error: { code, message: 'no', step } });
    await host.applyExecutionStatus(
      event('run-failed', 'FAILED', 'Stepgate.Fatal', cause('Tool.Denied', 'validate')),
    );
    expect((await host.getRun('run-failed'))?.outcome).toEqual({
      status: 'failed',
      error: { code: 'Tool.Denied', message: 'no', step: 'validate' },
      vars: {},
    });
    await host.applyExecutionStatus(
      event(
        'run-approval',
        'FAILED',
        'Stepgate.ApprovalTimeout',
        cause('Stepgate.ApprovalTimeout', 'manager_approval'),
      ),
    );
    expect((await host.getRun('run-approval'))?.status).toBe('timed_out');
    await host.applyExecutionStatus(event('run-timeout', 'TIMED_OUT'));
    expect((await host.audit('run-timeout')).map((r) => r.type)).toEqual([
      'run.started',
      'run.timed-out',
      'run.finished',
    ]);
  });

  it('records the path outcome of runs that completed before records kept it, once, at setup', async () => {
    const { deployer, host, table, clock, workflows } = await world();
    await workflows.save({ ir: EXPENSE, source: 'expense', format: 'yaml', by: 'alice@example.com', at: 1 });
    const { stateMachineArn } = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const trail = new DynamoRunAudit(table, clock);
    const store = new DynamoRunStore(table, trail);
    // Ended as the earlier version ended runs: the record's end without a path outcome.
    const endEarlier = (runId: string, status: 'completed' | 'cancelled') =>
      store.end(runId, { status, error: null, vars: {} }, clock.now(), [
        { type: 'run.finished', data: { status, error: null } },
      ]);
    for (const runId of ['run-rejected', 'run-plain', 'run-cancelled']) await host.startRun(start(runId, 1));
    await trail.append('run-rejected', decisionEntry('reject'));
    await trail.append('run-cancelled', decisionEntry('approve'));
    await endEarlier('run-rejected', 'completed');
    await endEarlier('run-plain', 'completed');
    await endEarlier('run-cancelled', 'cancelled');
    // A run the current version ends: recorded at its end, not again.
    await host.startRun(start('run-now', 1));
    await trail.append('run-now', decisionEntry('approve'));
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:run-now`;
    await host.applyExecutionStatus({
      executionArn: arn,
      name: 'run-now',
      status: 'SUCCEEDED',
      output: '{}',
    });
    const outcomes = async () =>
      Object.fromEntries((await host.listRuns()).map((r) => [r.id, r.pathOutcome ?? 'none']));
    const approvedNow = { kind: 'approved', step: 'ask', by: DECIDER };
    expect(await outcomes()).toEqual({
      'run-rejected': 'none',
      'run-plain': 'none',
      'run-cancelled': 'none',
      'run-now': approvedNow,
    });

    const histories = calls('GetExecutionHistory').length;
    expect(await host.recordPathOutcomes()).toBe(2);
    expect(calls('GetExecutionHistory').length - histories).toBe(2);
    const recorded = {
      'run-rejected': { kind: 'rejected', step: 'ask', by: DECIDER },
      'run-plain': 'none',
      'run-cancelled': 'none',
      'run-now': approvedNow,
    };
    expect(await outcomes()).toEqual(recorded);
    // Once: a run recorded (with an outcome or none) is not read again.
    expect(await host.recordPathOutcomes()).toBe(0);
    expect(calls('GetExecutionHistory').length - histories).toBe(2);
    expect(await outcomes()).toEqual(recorded);
  });

  it('lists runs by creation time: from (inclusive) and to (exclusive), newest first', async () => {
    const { deployer, host, clock } = await world();
    await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const base = clock.at;
    for (const n of [1, 2, 3]) {
      clock.at = base + n * 1_000;
      await host.startRun(start(`run-${n}`, 1));
    }
    const ids = async (filter: Parameters<StepFunctionsHost['listRuns']>[0]) =>
      (await host.listRuns(filter)).map((r) => r.id);
    expect(await ids({})).toEqual(['run-3', 'run-2', 'run-1']);
    expect(await ids({ from: base + 2_000 })).toEqual(['run-3', 'run-2']);
    expect(await ids({ to: base + 2_000 })).toEqual(['run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000 })).toEqual(['run-2', 'run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000, limit: 1 })).toEqual(['run-2']);
    expect(
      await ids({ workflowId: EXPENSE.id, status: 'running', triggeredBy: 'Alice@Example.com' }),
    ).toHaveLength(3);
  });

  it('refuses named events: a state machine waits on task tokens', async () => {
    const { host } = await world();
    await expect(host.raiseEvent('run-1', 'approval', {})).rejects.toThrow(/run-1.*task token/);
  });

  it('answers approval levels on their task token, and records a token that had expired', async () => {
    const { deployer, host } = await world();
    await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    await host.startRun(start('run-a', 1));
    const callback = aslCallback({
      activity: 'approval.request',
      ctx: { runId: 'run-a', workflowId: EXPENSE.id, identity: alice },
      stepId: 'manager_approval',
      output: 'manager_approval',
      level: 1,
      approvers: '[]',
      require: 'any',
      message: '""',
      timeoutMs: 1,
      rejectFails: false,
      rejectKeepsResult: true,
      taskToken: 'token-1',
      vars: {},
    } as unknown as Parameters<typeof aslCallback>[0]);
    const decision = { decidedBy: 'bob@example.com', comment: null, decisions: [] };
    expect(await host.answerApproval('run-a', callback, { ...decision, approved: true })).toBe('answered');
    expect(calls('SendTaskSuccess').at(-1)).toEqual({
      taskToken: 'token-1',
      output: JSON.stringify({ ...decision, approved: true, level: 1, timedOut: false }),
    });
    expect(await host.answerApproval('run-a', callback, { ...decision, approved: false })).toBe('answered');
    expect(calls('SendTaskFailure').at(-1)).toEqual({
      taskToken: 'token-1',
      error: 'Stepgate.Rejected',
      cause: JSON.stringify({
        manager_approval: { ...decision, approved: false, level: 1, timedOut: false },
      }),
    });
    expireTokens = true;
    try {
      expect(await host.answerApproval('run-a', callback, { ...decision, approved: true })).toBe('expired');
    } finally {
      expireTokens = false;
    }
    expect((await host.audit('run-a')).at(-1)).toMatchObject({
      type: 'approval.refused',
      step: 'manager_approval',
      data: {
        by: 'bob@example.com',
        decision: 'approve',
        channel: 'step-functions',
        reason: 'expired',
        level: 1,
      },
    });
  });
});

describe('the execution history as audit entries', () => {
  it('maps the steps of a recorded expense run (a retried tool, an escalated approval, a choice) as the engine writes them', () => {
    const fixture = join(import.meta.dirname, '..', 'fixtures', 'aws', 'expense-history.json');
    const events = (JSON.parse(readFileSync(fixture, 'utf8')) as { events: HistoryEvent[] }).events.map(
      (e) => ({
        ...e,
        timestamp: new Date(e.timestamp as unknown as string),
      }),
    );
    const entries = historyEntries('run-1', EXPENSE, events);
    expect(entries.map(({ entry }) => `${entry.type} ${entry.step}`)).toEqual([
      'step.entered validate',
      'attempt.started validate',
      'attempt.finished validate',
      'retry.scheduled validate',
      'attempt.started validate',
      'attempt.finished validate',
      'step.finished validate',
      'step.entered over_threshold',
      'step.finished over_threshold',
      'step.entered manager_approval',
      'approval.timed-out manager_approval',
      'step.finished manager_approval',
      'step.entered process_payment',
      'attempt.started process_payment',
      'attempt.finished process_payment',
      'step.finished process_payment',
      'step.entered notify_paid',
      'attempt.started notify_paid',
      'attempt.finished notify_paid',
      'step.finished notify_paid',
    ]);
    const data = entries.map(({ entry }) => entry.data);
    expect(data[1]).toEqual({
      attempt: 1,
      idempotencyKey: 'run-1:validate:1',
      tool: 'expenses-validate',
      args: { amount: 900, description: 'laptop', category: 'equipment', submitter: 'alice@example.com' },
    });
    expect(data[2]).toEqual({
      attempt: 1,
      ok: false,
      error: { code: 'Tool.Unavailable', message: 'expenses server is down', retryable: true },
    });
    // The retry waited its interval (full jitter: whatever the interpreter drew), from failure to attempt 2.
    expect(data[3]).toEqual({ attempt: 1, delayMs: (entries[4]?.at ?? 0) - (entries[2]?.at ?? 0) });
    expect(data[6]).toEqual({ output: 'validation', result: { ok: true } });
    expect(data[8]).toEqual({ condition: 'amount > 500', result: true });
    expect(data[10]).toEqual({ level: 1, escalatesTo: 2 });
    expect(data[11]).toEqual({ approved: true, level: 2, decidedBy: 'dana@example.com' });
    expect(data[17]).toMatchObject({
      channel: 'email',
      to: ['alice@example.com'],
      subject: 'Expense paid: laptop',
    });
    expect(data[19]).toEqual({ delivered: true, result: { messageId: 'm-1' } });
    expect(entries[3]?.at).toBe(entries[2]?.at);
  });
});

// moto's interpreter (LocalStack's) runs one execution per server: a moto of its own, and a workflow that
// needs no Lambda (Wait and Choice states), so the host is seen end to end: the start on a version, the
// execution running and ending by itself, the status read back (waitForRun), and the trail merged with the
// step entries of the real execution history.
describe('StepFunctionsHost on moto with its interpreter', () => {
  const PAUSE = irOf(`
version: 1
id: pause
inputs:
  type: object
  properties:
    n: { type: number }
steps:
  - id: pause
    type: delay
    duration: 1s
  - id: big
    type: condition
    if: n > 1
    then: again
    else: end
  - id: again
    type: delay
    duration: 1s
`);

  it('runs a workflow to its end and shows its steps in the audit', async () => {
    const interpreting = await startMoto();
    onTestFinished(() => interpreting.stop());
    const config = await fetch(`${interpreting.endpoint}/moto-api/config`, {
      method: 'POST',
      body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    expect(config.ok).toBe(true);
    const own = await startMotoFront(interpreting.endpoint, [validateDefinitionRoute, startOnVersionRoute]);
    onTestFinished(() => own.stop());
    const client = { ...MOTO_CLIENT, endpoint: own.endpoint };
    const table = openTable('stepgate-sfn-interpreted', client);
    await createTable(table);
    const sfn = new SFNClient(client);
    onTestFinished(() => {
      sfn.destroy();
      table.client.destroy();
    });
    const deployer = new StateMachineDeployer({ sfn, table, roleArn: ROLE, functions: FUNCTIONS });
    const workflows = new StateMachineWorkflowStore(new DynamoWorkflowStore(table), deployer);
    const host = new StepFunctionsHost({ sfn, table, machines: deployer, workflows, pollMs: 200 });
    const saved = await workflows.save({
      ir: PAUSE,
      source: 'pause',
      format: 'yaml',
      by: 'alice@example.com',
      at: 1,
    });
    await host.startRun({
      runId: 'run-pause',
      workflowId: PAUSE.id,
      ir: PAUSE,
      version: saved.version,
      input: { n: 2 },
      trigger: { type: 'manual', user: alice },
    });
    expect(await host.waitForRun('run-pause')).toBe('completed');
    expect((await host.getRun('run-pause'))?.outcome).toEqual({
      status: 'completed',
      error: null,
      vars: { n: 2 },
    });
    const trail = await host.audit('run-pause');
    expect(trail.map((r) => `${r.type}${r.step === null ? '' : ` ${r.step}`}`)).toEqual([
      'run.started',
      'step.entered pause',
      'step.finished pause',
      'step.entered big',
      'step.finished big',
      'step.entered again',
      'step.finished again',
      'run.finished',
    ]);
    expect(trail.map((r) => r.seq)).toEqual(trail.map((_, i) => i + 1));
    expect(trail.find((r) => r.step === 'big' && r.type === 'step.finished')?.data).toEqual({
      condition: 'n > 1',
      result: true,
    });
  }, 60_000);
});
