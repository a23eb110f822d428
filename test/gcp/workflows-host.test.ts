// The GCP Workflows host (adapters/gcp/workflows-host.ts) on the Workflows stand-in
// (test/support/workflows-emulator.ts), which really runs the deployed definitions: the DurableHost
// contract with function-free workflows (a delay; an approval whose request and run-end reach a small
// functions server on loopback over real HTTP, the decision posted to the level's real callback URL), then
// start, cancel, timeout, run-end and step entries. The deployer records on the gcloud Firestore emulator.
// The run records and their trail are the Firestore stores (adapters/gcp/run-store.ts, audit.ts) on the
// same emulator project as the deployer's records.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { ExecutionsClient, WorkflowsClient } from '@google-cloud/workflows';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FirestoreRunAudit } from '../../adapters/gcp/audit.js';
import { FirestoreRunStore } from '../../adapters/gcp/run-store.js';
import { GcpWorkflowStore, GcpWorkflowsDeployer } from '../../adapters/gcp/workflows-deployer.js';
import {
  type GcpFunctionUrls,
  GcpWorkflowsHost,
  gcpExecutionArgument,
  runLabels,
} from '../../adapters/gcp/workflows-host.js';
import { openDatabase } from '../../adapters/local/database.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import type { DurableHost } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import {
  ASKS,
  DECIDER,
  decisionEntry,
  describeDurableHostContract,
} from '../contracts/durable-host.contract.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { fakeAuthClient } from '../support/google-fake.js';
import {
  readOidcToken,
  startWorkflowsEmulator,
  type WorkflowsEmulator,
} from '../support/workflows-emulator.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const PARENT = 'projects/stepgate-test/locations/europe-west1';
const RUNNER = 'stepgate-workflows@stepgate-test.iam.gserviceaccount.com';

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const WAITS = irOf(`
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
`);

/** A later version of `waits`: another definition. */
const WAITS_LONGER = irOf(`
version: 1
id: waits
steps:
  - id: wait
    type: delay
    duration: 2h
`);

const LIMITED = irOf(`
version: 1
id: limited
timeout: 30m
steps:
  - id: wait
    type: delay
    duration: 1h
`);

const PAUSE = irOf(`
version: 1
id: pause
inputs:
  type: object
  properties:
    n: { type: number }
steps:
  - id: big
    type: condition
    if: n > 1
    then: pause
    else: end
  - id: pause
    type: delay
    duration: 1s
`);

/** The functions the workflows post to: approval requests kept, run-ends passed to the host. */
interface Functions {
  urls: GcpFunctionUrls;
  /** The callback URL (event name) of each approval request, by run id. */
  approvalCallbacks: Map<string, string>;
  /** Every request: path, body and the OIDC claims it carried. */
  calls: Array<{ path: string; body: unknown; oidc: { aud: string; email: string } | undefined }>;
  /** When false, a run-end is acknowledged but not passed on (a report lost after delivery). */
  passRunEnd: boolean;
  host?: GcpWorkflowsHost;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : (JSON.parse(text) as unknown);
}

async function startFunctions(): Promise<{ functions: Functions; server: Server }> {
  const functions: Functions = {
    urls: {} as GcpFunctionUrls,
    approvalCallbacks: new Map(),
    calls: [],
    passRunEnd: true,
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readJson(req);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const path = req.url ?? '';
      functions.calls.push({ path, body, oidc: token === undefined ? undefined : readOidcToken(token) });
      let answer: unknown = {};
      if (path === '/approval-request') {
        const b = body as { runId: string; eventName: string };
        functions.approvalCallbacks.set(b.runId, b.eventName);
        answer = { ok: true, result: { approvers: [DECIDER] } };
      } else if (path === '/run-end' && functions.passRunEnd) await functions.host?.recordEnd(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  functions.urls = {
    toolCall: `${base}/tool-call`,
    notify: `${base}/notify`,
    approvalRequest: `${base}/approval-request`,
    approvalClose: `${base}/approval-close`,
    backoff: `${base}/backoff`,
    resolveTime: `${base}/resolve-time`,
    runEnd: `${base}/run-end`,
  };
  return { functions, server };
}

let firestoreEmulator: FirestoreEmulator | undefined;
let stand: WorkflowsEmulator | undefined;

beforeAll(async () => {
  firestoreEmulator = await startFirestoreEmulator();
  stand = await startWorkflowsEmulator();
}, 120_000);
afterAll(async () => {
  await stand?.close();
  await firestoreEmulator?.stop();
});

interface World {
  host: GcpWorkflowsHost;
  records: FirestoreRunStore;
  trail: FirestoreRunAudit;
  functions: Functions;
  deployer: GcpWorkflowsDeployer;
  emulator: WorkflowsEmulator;
  scheduled: Array<[string, number]>;
  clock: { at: number; now(): number };
  failSchedule: boolean;
}

let fresh = 0;

/** A host over fresh records and a fresh Firestore project, with `irs` saved (deployed) as version 1. */
async function world(...irs: IrWorkflow[]): Promise<World> {
  if (firestoreEmulator === undefined || stand === undefined)
    throw new Error('the emulators are not running');
  const emulator = stand;
  const firestore: Firestore = firestoreEmulator.client(firestoreEmulator.freshProject());
  const workflowsClient = new WorkflowsClient(emulator.clientOptions());
  const executions = new ExecutionsClient(emulator.clientOptions());
  const db = openDatabase(':memory:');
  const { functions, server } = await startFunctions();
  onTestFinished(async () => {
    await workflowsClient.close();
    await executions.close();
    await firestore.terminate();
    db.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const clock = { at: 1_780_000_000_000, now: () => clock.at };
  const deployer = new GcpWorkflowsDeployer({
    workflows: workflowsClient,
    firestore,
    parent: PARENT,
    serviceAccount: RUNNER,
    namePrefix: `h${++fresh}-`,
    clock,
  });
  const store = new GcpWorkflowStore(new SqliteWorkflowStore(db), deployer);
  for (const ir of irs)
    await store.save({ ir, source: ir.id, format: 'yaml', by: 'alice@example.com', at: 1 });
  // The trail stamps entries on the real clock, as the step entries the audit merges in are.
  const trail = new FirestoreRunAudit(firestore, { now: () => Date.now() });
  const records = new FirestoreRunStore(firestore, trail);
  const made: World = {
    records,
    trail,
    functions,
    deployer,
    emulator,
    scheduled: [],
    clock,
    failSchedule: false,
    host: undefined as unknown as GcpWorkflowsHost,
  };
  made.host = new GcpWorkflowsHost({
    executions,
    records,
    trail,
    deployments: deployer,
    workflows: store,
    functions: functions.urls,
    timeouts: {
      schedule: async (runId, at) => {
        if (made.failSchedule) throw new Error('the queue is paused');
        made.scheduled.push([runId, at]);
      },
    },
    auth: fakeAuthClient() as unknown as ConstructorParameters<typeof GcpWorkflowsHost>[0]['auth'],
    executionsEndpoint: emulator.url,
    clock,
    pollMs: 20,
  });
  functions.host = made.host;
  return made;
}

/** Waits until `check` holds (the stand-in runs executions on a real clock). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const contractWorlds = new WeakMap<DurableHost, World>();

describeDurableHostContract(
  'GCP Workflows on the Workflows stand-in',
  async () => {
    const made = await world(WAITS, ASKS);
    contractWorlds.set(made.host, made);
    return made.host;
  },
  async (host, runId, decision) => {
    const made = contractWorlds.get(host);
    if (made === undefined) throw new Error('not a host of the contract');
    // As the decision function does: the decision's entry, then the outcome posted to the level's callback.
    await made.trail.append(runId, decisionEntry(decision));
    await until(() => made.functions.approvalCallbacks.has(runId), `the approval request of ${runId}`);
    const response = await fetch(made.functions.approvalCallbacks.get(runId) ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer decision-function-token' },
      body: JSON.stringify({
        approved: decision === 'approve',
        decidedBy: DECIDER,
        comment: null,
        decisions: [],
      }),
    });
    expect(response.status).toBe(200);
  },
);

const alice = { email: 'alice@example.com', role: 'member', groups: [], manager: 'bob@example.com' };
const start = (ir: IrWorkflow, runId: string, input: Record<string, number> = {}) => ({
  runId,
  workflowId: ir.id,
  ir,
  input,
  trigger: { type: 'manual' as const, user: alice },
});

describe('GcpWorkflowsHost', () => {
  it('starts an execution of the version it was triggered with, with the argument the workflow expects', async () => {
    const { host, deployer, emulator, records, functions } = await world(WAITS);
    const deployed = await deployer.deployed(WAITS.id, 1);
    const from = emulator.requests.length;
    await host.startRun({ ...start(WAITS, 'run-1', { n: 3 }), version: 1 });
    const create = emulator.requests.slice(from).find((r) => r.method === 'POST');
    expect(create?.path).toBe(`/v1/${deployed?.workflowName}/executions`);
    const argument = gcpExecutionArgument(start(WAITS, 'run-1', { n: 3 }), 1_780_000_000_000, functions.urls);
    expect(create?.body).toEqual({
      labels: { 'stepgate-run': 'run-1' },
      argument: JSON.stringify(argument),
    });
    // An id that cannot be a label value (upper case) starts without the label.
    expect(runLabels('Run-1')).toEqual({});
    expect(runLabels('x'.repeat(64))).toEqual({});
    expect(argument.stepgate).toMatchObject({
      runId: 'run-1',
      workflowId: 'waits',
      functions: functions.urls,
    });
    const executionName = (await records.get('run-1'))?.executionName ?? '';
    expect(executionName).toMatch(new RegExp(`^${deployed?.workflowName}/executions/`));
    expect(emulator.execution(executionName)?.state).toBe('ACTIVE');
    // A later version with another definition: runs start on it by default, on version 1 when asked.
    const v2 = await deployer.deploy({
      id: WAITS.id,
      version: 2,
      ir: { ...WAITS, timeoutMs: null, name: 'v2' },
    });
    const v3 = await deployer.deploy({ id: WAITS.id, version: 3, ir: WAITS_LONGER });
    expect(v3.workflowName).not.toBe(deployed?.workflowName);
    const parents = async (runId: string, version?: number) => {
      const at = emulator.requests.length;
      await host.startRun({ ...start(WAITS, runId), ...(version === undefined ? {} : { version }) });
      return emulator.requests.slice(at).find((r) => r.method === 'POST')?.path;
    };
    expect(await parents('run-latest')).toBe(`/v1/${v3.workflowName}/executions`);
    expect(await parents('run-old', 1)).toBe(`/v1/${deployed?.workflowName}/executions`);
    expect(v2.workflowName).toBe(deployed?.workflowName);
    await expect(host.startRun({ ...start(WAITS, 'run-9'), version: 9 })).rejects.toThrow(/waits.*version 9/);
    expect(await host.getRun('run-9')).toBeUndefined();
  });

  it('cancels the execution and records who cancelled', async () => {
    const { host, emulator, records } = await world(WAITS);
    await host.startRun(start(WAITS, 'run-c'));
    const name = (await records.get('run-c'))?.executionName ?? '';
    await until(() => emulator.execution(name)?.steps.some((s) => s.step === 'wait') === true, 'the delay');
    await host.cancelRun('run-c', 'bob@example.com');
    expect(emulator.requests.at(-1)).toMatchObject({ method: 'POST', path: `/v1/${name}:cancel` });
    expect(emulator.execution(name)?.state).toBe('CANCELLED');
    expect((await host.audit('run-c')).map((r) => [r.type, r.data])).toEqual([
      ['run.started', { trigger: 'manual', user: 'alice@example.com', input: {} }],
      ['step.entered', { kind: 'delay', visit: 1 }],
      ['run.cancelled', { by: 'bob@example.com' }],
      ['run.finished', { status: 'cancelled', error: null }],
    ]);
    await expect(host.cancelRun('run-c', 'bob@example.com')).rejects.toThrow(/run-c is not running/);
  });

  it('schedules the whole-run timeout at start, and times the run out once', async () => {
    const { host, emulator, records, scheduled } = await world(LIMITED, WAITS);
    await host.startRun(start(LIMITED, 'run-t'));
    await host.startRun(start(WAITS, 'run-free'));
    expect(scheduled).toEqual([['run-t', 1_780_000_000_000 + 30 * 60_000]]);
    const name = (await records.get('run-t'))?.executionName ?? '';
    await until(() => emulator.execution(name)?.steps.some((s) => s.step === 'wait') === true, 'the delay');
    expect(await host.timeOut('run-t')).toBe(true);
    expect(emulator.execution(name)?.state).toBe('CANCELLED');
    expect(await host.getRun('run-t')).toMatchObject({
      status: 'timed_out',
      outcome: { status: 'timed_out', error: { code: 'Stepgate.Timeout' } },
    });
    expect((await host.audit('run-t')).map((r) => r.type)).toEqual([
      'run.started',
      'step.entered',
      'run.timed-out',
      'run.finished',
    ]);
    expect((await host.audit('run-t'))[2]?.data).toEqual({ timeoutMs: 30 * 60_000 });
    expect(await host.timeOut('run-t')).toBe(false);
    expect(await host.timeOut('nobody')).toBe(false);
  });

  it('ends a run failed, with no execution, when its timeout cannot be scheduled', async () => {
    const made = await world(LIMITED);
    made.failSchedule = true;
    const executions = made.emulator.executions().length;
    await expect(made.host.startRun(start(LIMITED, 'run-x'))).rejects.toThrow(/queue is paused/);
    expect(made.emulator.executions().length).toBe(executions);
    expect(await made.host.getRun('run-x')).toMatchObject({
      status: 'failed',
      outcome: { error: { code: 'Stepgate.StartFailed' } },
    });
  });

  it('ends a run failed when its execution does not start, and stops one its record could not name', async () => {
    const made = await world(WAITS);
    made.emulator.failNext(/^POST .*\/executions$/, {
      status: 429,
      body: { error: { code: 429, message: 'quota exceeded', status: 'RESOURCE_EXHAUSTED' } },
    });
    await expect(made.host.startRun(start(WAITS, 'run-q'))).rejects.toThrow(/quota exceeded/);
    expect(await made.host.getRun('run-q')).toMatchObject({
      status: 'failed',
      outcome: { error: { code: 'Stepgate.StartFailed', message: expect.stringMatching(/quota exceeded/) } },
    });
    const before = new Set(made.emulator.executions().map((e) => e.name));
    made.records.attachExecution = async () => {
      throw new Error('the records are unreachable');
    };
    await expect(made.host.startRun(start(WAITS, 'run-a'))).rejects.toThrow(/unreachable/);
    const orphan = made.emulator.executions().find((e) => !before.has(e.name));
    expect(orphan?.state).toBe('CANCELLED');
    expect((await made.host.getRun('run-a'))?.status).toBe('failed');
  });

  it('records the end the workflow reports, once; the report carries the OIDC stand-in of the runner', async () => {
    const { host, functions } = await world(PAUSE);
    await host.startRun(start(PAUSE, 'run-p', { n: 2 }));
    expect(await host.waitForRun('run-p')).toBe('completed');
    const ends = functions.calls.filter((c) => c.path === '/run-end');
    expect(ends).toEqual([
      {
        path: '/run-end',
        body: { runId: 'run-p', outcome: { status: 'completed', error: null, vars: { n: 2 } } },
        oidc: { aud: functions.urls.runEnd, email: RUNNER },
      },
    ]);
    expect(await host.getRun('run-p')).toMatchObject({
      status: 'completed',
      outcome: { status: 'completed', error: null, vars: { n: 2 } },
    });
    // Applied once: a redelivered or a contradicting report changes nothing.
    const failed = { runId: 'run-p', outcome: { status: 'failed', error: null, vars: {} } };
    expect(await host.recordEnd(failed)).toBe('completed');
    expect((await host.audit('run-p')).filter((r) => r.type === 'run.finished')).toHaveLength(1);
  });

  it('refuses a run-end body that does not hold, naming the field', async () => {
    const { host } = await world();
    await expect(
      host.recordEnd({ runId: 'r', outcome: { status: 'done', error: null, vars: {} } }),
    ).rejects.toThrow(/outcome\.status/);
    await expect(host.recordEnd({ outcome: {} })).rejects.toThrow(/runId/);
    await expect(
      host.recordEnd({ runId: 'nobody', outcome: { status: 'completed', error: null, vars: {} } }),
    ).rejects.toThrow(/nobody/);
  });

  it('records the end from the execution when the report was lost', async () => {
    const { host, functions, records, emulator } = await world(PAUSE);
    functions.passRunEnd = false;
    await host.startRun(start(PAUSE, 'run-lost', { n: 0 }));
    const name = (await records.get('run-lost'))?.executionName ?? '';
    await until(() => emulator.execution(name)?.state === 'SUCCEEDED', 'the execution to end');
    expect((await host.getRun('run-lost'))?.status).toBe('running');
    expect(await host.waitForRun('run-lost')).toBe('completed');
    expect((await host.getRun('run-lost'))?.outcome).toEqual({
      status: 'completed',
      error: null,
      vars: { n: 0 },
    });
  });

  it('shows the steps of the execution in the audit, from its step entries, in order', async () => {
    const { host, emulator } = await world(PAUSE);
    await host.startRun(start(PAUSE, 'run-s', { n: 2 }));
    expect(await host.waitForRun('run-s')).toBe('completed');
    const from = emulator.requests.length;
    const trail = await host.audit('run-s');
    expect(trail.map((r) => `${r.type}${r.step === null ? '' : ` ${r.step}`}`)).toEqual([
      'run.started',
      'step.entered big',
      'step.finished big',
      'step.entered pause',
      'step.finished pause',
      'run.finished',
    ]);
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(trail[2]?.data).toEqual({ condition: 'n > 1', result: true });
    const read = emulator.requests.slice(from).find((r) => r.path.endsWith('/stepEntries'));
    expect(read).toMatchObject({ method: 'GET', query: { pageSize: '100' } });
    expect(read?.headers.authorization).toBe('Bearer fake-access-token');
  });

  it('refuses named events: an execution waits on callback URLs', async () => {
    const { host } = await world();
    await expect(host.raiseEvent('run-1', 'approval', {})).rejects.toThrow(/run-1.*callback URL/);
  });
});
