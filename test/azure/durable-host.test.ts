// The Azure DurableHost (adapters/azure/durable-host.ts) over durable-functions' own DurableClient talking to
// the Durable Functions extension's stand-in (test/support/durable-extension.ts), which runs each instance's
// real orchestrator (stepgateOrchestrator under durable-functions' replay) with the real Azure activity
// handlers (functions/azure/activities.ts) writing through AzureRunRecorder to the run records and trail:
// AzureRunStore and AzureRunAudit on Azurite (test/support/azurite.ts), fresh tables per world. The
// DurableHost contract, then the exact requests the client sends, racing starts across two app instances
// (two AzureTables over one prefix), the run-end under redelivery, a tool step's stage entries and terminate.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureRunAudit } from '../../adapters/azure/audit.js';
import { AzureDurableHost, checkInstanceId } from '../../adapters/azure/durable-host.js';
import { AzureRunRecorder } from '../../adapters/azure/run-records.js';
import { AzureRunStore } from '../../adapters/azure/run-store.js';
import { AzureTables } from '../../adapters/azure/tables.js';
import { createActivityHandlers, decodeActivityError } from '../../functions/azure/activities.js';
import { type AuditEntry, toolStageEntry } from '../../functions/core/audit.js';
import type { DurableHost, ToolInvoker } from '../../functions/core/ports.js';
import { approvalEventName, CANCEL_EVENT, type ToolCallRequest } from '../../functions/core/protocol.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { race } from '../contracts/contenders.js';
import {
  ASKS,
  DECIDER,
  decisionEntry,
  describeDurableHostContract,
} from '../contracts/durable-host.contract.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { DurableExtension } from '../support/durable-extension.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const WAITS = irOf(`
version: 1
id: waits
steps:
  - id: wait
    type: delay
    duration: 1h
`);

const LOOKS_UP = irOf(`
version: 1
id: looks-up
steps:
  - id: lookup
    type: tool
    tool: crm.find
    args: { q: "x" }
    output: found
`);

/** The pipeline's stages before the result, as the tool pipeline reports them (results.ts adds `tool.result`). */
function stagesOf(request: ToolCallRequest): AuditEntry[] {
  const at = (stage: Parameters<typeof toolStageEntry>[2]) =>
    toolStageEntry(request.stepId, request.attempt, stage);
  return [
    at({ type: 'tool.lookup', data: { requested: 'crm.find', found: true, server: 'crm', tool: 'find' } }),
    at({ type: 'tool.policy', data: { allowed: true, decisions: [] } }),
    at({ type: 'tool.executed', data: { server: 'crm', tool: 'find', ms: 1, ok: true } }),
  ];
}

interface World {
  host: AzureDurableHost;
  extension: DurableExtension;
  tables: AzureTables;
  records: AzureRunStore;
  trail: AzureRunAudit;
  /** The decision event of each run's approval request. */
  asked: Map<string, string>;
  runEnds: Array<{ runId: string; ended: boolean }>;
  activities: ReturnType<typeof createActivityHandlers>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.extension.close();
});

interface WorldOptions {
  redeliver?: string[];
  failRunEnd?: boolean;
  /** The orchestrator's batches land this much later (a slow table write): after the activities they started. */
  slowBatchesMs?: number;
}

async function world(options: WorldOptions = {}): Promise<World> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const tables = await azurite.freshTables();
  const trail = new AzureRunAudit(tables);
  const records = new AzureRunStore(tables, trail);
  const asked = new Map<string, string>();
  const runEnds: World['runEnds'] = [];
  let clock: { now(): number } = Date;
  const recorder = new AzureRunRecorder({ records, trail, clock: { now: () => clock.now() } });
  const tools: ToolInvoker = {
    call: async (request, context) => {
      for (const entry of stagesOf(request)) context?.audit(entry);
      return { id: 'c-1' };
    },
  };
  const activities = createActivityHandlers({
    tools,
    results: { put: async () => 'memory:unused', get: async () => undefined },
    notifier: { send: async () => ({}) },
    approvals: {
      request: async (request) => {
        asked.set(request.runId, request.eventName);
        return { approvers: request.approvers };
      },
      close: async () => null,
    },
    audit: {
      append: async (batch) => {
        if (options.slowBatchesMs !== undefined)
          await new Promise((resolve) => setTimeout(resolve, options.slowBatchesMs));
        await recorder.append(batch);
      },
    },
    runs: {
      stages: (runId, entries) => recorder.stages(runId, entries),
      end: async (runId, outcome) => {
        if (options.failRunEnd === true) throw new Error('the table is unavailable');
        const ended = await recorder.end(runId, outcome);
        runEnds.push({ runId, ended });
        return ended;
      },
    },
  });
  const extension = await DurableExtension.start({ activities, redeliver: options.redeliver });
  clock = extension.clock;
  const host = new AzureDurableHost({
    client: extension.client(),
    records,
    trail,
    clock: extension.clock,
    pollMs: 10,
  });
  const made = { host, extension, tables, records, trail, asked, runEnds, activities };
  worlds.push(made);
  return made;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const contractWorlds = new WeakMap<DurableHost, World>();

describeDurableHostContract(
  'Azure Durable Functions on the extension stand-in',
  async () => {
    const made = await world();
    contractWorlds.set(made.host, made);
    return made.host;
  },
  async (host, runId, decision) => {
    const made = contractWorlds.get(host);
    if (made === undefined) throw new Error('not a host of the contract');
    // As the decision handler does: the decision's entry in the trail, then the level's event on the run.
    await until(() => made.asked.has(runId), `the approval request of ${runId}`);
    await made.trail.append(runId, decisionEntry(decision));
    await host.raiseEvent(runId, made.asked.get(runId) ?? '', {
      approved: decision === 'approve',
      decidedBy: DECIDER,
      comment: null,
      decisions: [],
    });
  },
);

const alice = { email: 'alice@example.com', role: 'member', groups: [], manager: null };
const start = (ir: IrWorkflow, runId: string, input: Record<string, number> = {}) => ({
  runId,
  workflowId: ir.id,
  ir,
  input,
  trigger: { type: 'manual' as const, user: alice },
});

describe('AzureDurableHost', () => {
  it('starts the instance under the run id with the RunStart as input, on the RPC API', async () => {
    const { host, extension } = await world();
    await host.startRun({ ...start(WAITS, 'run 1+é', { n: 3 }), version: 2 });
    const [request, ...more] = extension.requests;
    expect(more).toEqual([]);
    expect(request).toMatchObject({
      method: 'POST',
      path: '/durabletask/orchestrators/stepgate/run%201%2B%C3%A9',
      query: {},
      contentType: 'application/json',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({ ...start(WAITS, 'run 1+é', { n: 3 }), version: 2 });
    expect(extension.instances.get('run 1+é')?.host.status).toBe('running');
    expect(await host.getRun('run 1+é')).toMatchObject({ id: 'run 1+é', status: 'running', input: { n: 3 } });
  });

  it('raises an event and the cancel event as the client posts them', async () => {
    const { host, extension } = await world();
    await host.startRun(start(ASKS, 'run-1'));
    const from = extension.requests.length;
    await host.raiseEvent('run-1', approvalEventName('ask', 1, 1), { approved: true });
    await host.cancelRun('run-1', 'alice@example.com');
    expect(extension.since(from)).toEqual([
      {
        method: 'POST',
        path: '/durabletask/instances/run-1/raiseEvent/approval%3Aask%3A1%3A1',
        query: {},
        contentType: 'application/json',
        body: '{"approved":true}',
      },
      {
        method: 'POST',
        path: `/durabletask/instances/run-1/raiseEvent/${encodeURIComponent(CANCEL_EVENT)}`,
        query: {},
        contentType: 'application/json',
        body: '{"by":"alice@example.com"}',
      },
    ]);
  });

  it('refuses a run id Durable Functions cannot take, naming it, and starts nothing', async () => {
    const { host, extension } = await world();
    for (const bad of ['a/b', 'a?b', 'a#b', 'a\\b', '@entity', '', 'x'.repeat(257), 'a\nb'])
      await expect(host.startRun(start(WAITS, bad))).rejects.toThrow(`runId ${JSON.stringify(bad)}`);
    expect(checkInstanceId('x'.repeat(256))).toHaveLength(256);
    expect(extension.requests).toEqual([]);
    expect(await host.listRuns()).toEqual([]);
  });

  it('starts one instance however many start one run id at once, on two app instances', async () => {
    const { host, extension, tables } = await world();
    // A second app instance: its own durable client and its own table clients, over the same tables.
    const otherTrail = new AzureRunAudit(new AzureTables(tables.options));
    const other = new AzureDurableHost({
      client: extension.client(),
      records: new AzureRunStore(new AzureTables(tables.options), otherTrail),
      trail: otherTrail,
      clock: extension.clock,
    });
    const hosts = [host, other];
    const outcomes = await race(8, (i) => hosts[i % 2]?.startRun(start(WAITS, 'run-1', { n: i })));
    const started = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(started).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'rejected') expect((o.reason as Error).name).toBe('RunExistsError');
    const starts = extension.requests.filter((r) => r.path.startsWith('/durabletask/orchestrators/'));
    expect(starts).toHaveLength(1);
    expect(JSON.parse(starts[0]?.body ?? '').input).toEqual({ n: started[0] });
  });

  it('ends a run whose instance did not start failed, and rethrows', async () => {
    const { host, extension, trail } = await world();
    await extension.close();
    await expect(host.startRun(start(WAITS, 'run-1'))).rejects.toThrow();
    const run = await host.getRun('run-1');
    expect(run).toMatchObject({ status: 'failed', outcome: { error: { code: 'Stepgate.StartFailed' } } });
    expect((await trail.list('run-1')).map((r) => r.type)).toEqual(['run.started', 'run.finished']);
  });

  it('records the run-end once when the run-end activity is delivered twice', async () => {
    const { host, trail, runEnds, extension } = await world({ redeliver: ['run-end', 'record'] });
    await host.startRun(start(ASKS, 'run-1'));
    await host.cancelRun('run-1', 'alice@example.com');
    expect(await host.waitForRun('run-1')).toBe('cancelled');
    await until(() => runEnds.length === 2, 'the second delivery');
    expect(runEnds).toEqual([
      { runId: 'run-1', ended: true },
      { runId: 'run-1', ended: false },
    ]);
    // The orchestrator scheduled it once, as its last action (the extension's history: TaskScheduled = 4).
    const scheduled = (extension.instances.get('run-1')?.host.history ?? []).filter((e) => e.EventType === 4);
    expect(scheduled.filter((e) => e.Name === 'run-end')).toHaveLength(1);
    expect(scheduled.at(-1)?.Name).toBe('run-end');
    expect(JSON.parse(String(scheduled.at(-1)?.Input))).toEqual({
      runId: 'run-1',
      outcome: { status: 'cancelled', error: null, vars: {} },
    });
    const types = (await trail.list('run-1')).map((r) => r.type);
    expect(types.filter((t) => t === 'run.started')).toHaveLength(1);
    expect(types.filter((t) => t === 'run.cancelled')).toHaveLength(1);
    expect(types.filter((t) => t === 'run.finished')).toHaveLength(1);
    expect(await host.getRun('run-1')).toMatchObject({
      status: 'cancelled',
      outcome: { status: 'cancelled', error: null },
    });
  });

  it.each<[string, WorldOptions]>([
    ['as they land', {}],
    ['when the batch that started the attempt lands after them', { slowBatchesMs: 40 }],
  ])(
    'writes a tool step’s stage entries to the trail, between its attempt’s start and finish, %s',
    async (_, options) => {
      const { host, trail: stored } = await world(options);
      await host.startRun(start(LOOKS_UP, 'run-1'));
      expect(await host.waitForRun('run-1')).toBe('completed');
      if (options.slowBatchesMs !== undefined) {
        // Stored in the order the writes landed: the pipeline's before the attempt's start.
        const types = (await stored.list('run-1')).map((r) => r.type);
        expect(types.indexOf('tool.lookup')).toBeLessThan(types.indexOf('attempt.started'));
      }
      const trail = await host.audit('run-1');
      expect(trail.map((r) => r.seq)).toEqual(trail.map((_, i) => i + 1));
      const attempt = trail.filter((r) => r.step === 'lookup' && r.type !== 'step.entered');
      expect(attempt.map((r) => r.type)).toEqual([
        'attempt.started',
        'tool.lookup',
        'tool.policy',
        'tool.executed',
        'tool.result',
        'attempt.finished',
        'step.finished',
      ]);
      expect(attempt[1]?.data).toMatchObject({ attempt: 1, found: true });
      expect(attempt[4]?.data).toMatchObject({ attempt: 1, stored: 'inline' });
      expect(trail.at(-1)?.type).toBe('run.finished');
      expect((await host.getRun('run-1'))?.outcome?.vars).toEqual({ found: { id: 'c-1' } });
    },
  );

  it('terminates a stuck run: the instance terminated with the reason, the record ended failed', async () => {
    const { host, extension, trail } = await world();
    await host.startRun(start(WAITS, 'run-1'));
    const from = extension.requests.length;
    expect(await host.terminate('run-1', 'stuck & gone')).toBe(true);
    expect(extension.since(from)).toEqual([
      {
        method: 'POST',
        path: '/durabletask/instances/run-1/terminate',
        query: { reason: 'stuck & gone' },
        contentType: 'application/json',
        body: '',
      },
    ]);
    expect(extension.instances.get('run-1')?.host.status).toBe('terminated');
    expect(await host.waitForRun('run-1')).toBe('failed');
    expect((await host.getRun('run-1'))?.outcome?.error).toEqual({
      code: 'Stepgate.EngineError',
      message: 'terminated: stuck & gone',
      step: null,
    });
    expect((await trail.list('run-1')).map((r) => r.type).at(-1)).toBe('run.finished');
    // Once more: the instance is gone (410), the record ended already.
    expect(await host.terminate('run-1', 'again')).toBe(false);
    await expect(host.terminate('nobody', 'x')).rejects.toThrow('nobody');
  });

  it('reconciles a run whose run-end failed from the instance’s status', async () => {
    const { host, extension } = await world({ failRunEnd: true });
    await host.startRun(start(LOOKS_UP, 'run-1'));
    await until(() => extension.instances.get('run-1')?.host.status === 'completed', 'the instance');
    expect((await host.getRun('run-1'))?.status).toBe('running');
    const from = extension.requests.length;
    expect(await host.waitForRun('run-1')).toBe('completed');
    expect(extension.since(from)).toMatchObject([{ method: 'GET', path: '/durabletask/instances/run-1' }]);
    expect((await host.getRun('run-1'))?.outcome?.vars).toEqual({ found: { id: 'c-1' } });
  });
});

describe('the run-end activity', () => {
  it('refuses an input that is not a run end, naming the field, and ends nothing', async () => {
    const { activities, runEnds } = await world();
    const runEnd = activities['run-end'];
    if (runEnd === undefined) throw new Error('no run-end activity');
    const refusal = async (input: unknown) => {
      const error = await runEnd(input).then(
        () => undefined,
        (e: unknown) => e,
      );
      return decodeActivityError(error);
    };
    expect(await refusal(null)).toMatchObject({
      code: 'Stepgate.Fatal',
      message: 'run-end input: runId: a run id',
    });
    expect(
      (await refusal({ runId: 'r', outcome: { status: 'done', error: null, vars: {} } })).message,
    ).toContain('outcome.status');
    expect(
      (await refusal({ runId: 'r', outcome: { status: 'failed', error: 'x', vars: {} } })).message,
    ).toContain('outcome.error');
    expect((await refusal({ runId: 'r', outcome: { status: 'failed', error: null } })).message).toContain(
      'outcome.vars',
    );
    expect(runEnds).toEqual([]);
    await expect(
      runEnd({ runId: 'r', outcome: { status: 'failed', error: null, vars: {} } }),
    ).resolves.toEqual({
      ended: false,
    });
  });
});
