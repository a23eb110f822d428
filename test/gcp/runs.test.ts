// The API's run composition on GCP (functions/gcp/runs.ts) over the Firestore emulator, the Workflows
// stand-in and the recording Google fake (test/support/gcp-composition.ts): a workflow saved through the
// deploying store is deployed as a GCP workflow, and the host starts an execution of it with the configured
// function URLs, schedules its timeout on the queue and cancels it; the schedule routes over the synced
// store create, pause and delete the Cloud Scheduler job (the exact requests checked); a function without
// the function URLs refuses to start a run, naming the variable.
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mountSchedules } from '../../functions/core/http/schedule-routes.js';
import type { Env } from '../../functions/core/http/types.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ENV, type GcpConfig } from '../../functions/gcp/config.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import {
  type Composition,
  composeOn,
  FIRE_URL,
  type GoogleServices,
  LOCATION,
  PROJECT,
  RUNNER,
  SCHEDULER_SA,
  startGoogleServices,
} from '../support/gcp-composition.js';
import { startWorkflowsEmulator, type WorkflowsEmulator } from '../support/workflows-emulator.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

/** Waits an hour, under a 30-minute run timeout; startable by hand (so it can be scheduled). */
const LIMITED = irOf(`
version: 1
id: limited
timeout: 30m
triggers:
  - type: manual
inputs:
  type: object
  properties:
    n: { type: number }
steps:
  - id: wait
    type: delay
    duration: 1h
`);

let firestore: FirestoreEmulator;
let workflows: WorkflowsEmulator;
let google: GoogleServices;

beforeAll(async () => {
  firestore = await startFirestoreEmulator();
  workflows = await startWorkflowsEmulator();
  google = await startGoogleServices();
}, 120_000);
afterAll(async () => {
  await google?.fake.close();
  await workflows?.close();
  await firestore?.stop();
});

function compose(edit?: (config: GcpConfig) => GcpConfig): Composition {
  const made = composeOn({ firestore, workflows, google }, {}, edit);
  onTestFinished(() => made.close());
  return made;
}

async function saveLimited(made: Composition): Promise<number> {
  const saved = await made.runs
    .deployingWorkflows()
    .save({ ir: LIMITED, source: 'limited', format: 'yaml', by: ADA.email, at: 1 });
  return saved.version;
}

describe('the run host of the composition', () => {
  it('starts an execution of a saved workflow on its GCP workflow, with the function URLs and a timeout task', async () => {
    const made = compose();
    const version = await saveLimited(made);
    const deployed = await made.runs.deployer().deployed('limited', version);
    expect(deployed?.workflowName).toMatch(
      new RegExp(`^projects/${PROJECT}/locations/${LOCATION}/workflows/${made.config.namePrefix}limited-`),
    );
    expect(workflows.workflow(deployed?.workflowName ?? '')?.serviceAccount).toBe(RUNNER);

    const before = Date.now();
    const runId = await made.runs.host().startRun({
      workflowId: 'limited',
      ir: LIMITED,
      version,
      input: { n: 2 },
      trigger: { type: 'manual', user: ADA },
    });

    const execution = workflows.executions().find((e) => e.workflow === deployed?.workflowName);
    expect(execution?.state).toBe('ACTIVE');
    const argument = JSON.parse(execution?.argument ?? '{}') as {
      input: unknown;
      stepgate: { runId: string; functions: unknown };
    };
    expect(argument.input).toEqual({ n: 2 });
    expect(argument.stepgate.runId).toBe(runId);
    expect(argument.stepgate.functions).toEqual(made.config.functionUrls);
    const run = await made.runs.host().getRun(runId);
    expect(run).toMatchObject({ id: runId, workflowId: 'limited', status: 'running' });
    expect(made.queue.enqueued).toHaveLength(1);
    expect(made.queue.enqueued[0]?.work).toEqual({ kind: 'run.timeout', runId });
    expect(made.queue.enqueued[0]?.at).toBeGreaterThanOrEqual(before + 30 * 60_000);

    await made.runs.host().cancelRun(runId, ADA.email);
    expect(workflows.execution(execution?.name ?? '')?.state).toBe('CANCELLED');
    expect((await made.runs.host().getRun(runId))?.status).toBe('cancelled');
    const trail = (await made.runs.host().audit(runId)).map((r) => r.type);
    expect(trail).toEqual(expect.arrayContaining(['run.started', 'run.cancelled', 'run.finished']));
  });

  it('refuses to start a run without the function URLs, naming the variable, and starts no execution', async () => {
    // As run-end is configured: it ends runs and never starts one.
    const made = compose(({ functionUrls: _urls, ...config }) => config);
    const version = await saveLimited(made);
    const executions = workflows.executions().length;
    await expect(
      made.runs.host().startRun({
        workflowId: 'limited',
        ir: LIMITED,
        version,
        input: {},
        trigger: { type: 'manual', user: ADA },
      }),
    ).rejects.toThrow(ENV.functionUrls);
    expect(workflows.executions()).toHaveLength(executions);
  });
});

describe('the schedules of the composition', () => {
  it('create, pause and delete the Cloud Scheduler job through the schedule routes', async () => {
    const made = compose();
    await saveLimited(made);
    await made.ports.directory().upsertUser({ email: ADA.email, role: 'admin' });
    const app = new Hono<Env>();
    mountSchedules(app, {
      ...made.runs.schedules(),
      workflows: made.runs.deployingWorkflows(),
      caller: () => ADA,
    });
    const call = (method: string, path: string, body?: unknown) =>
      app.request(path, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    google.fake.requests.length = 0;

    const created = await call('POST', '/api/schedules', {
      workflowId: 'limited',
      cron: '30 9 * * 1-5',
      timezone: 'Europe/Paris',
      input: { n: 1 },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const job = `projects/${PROJECT}/locations/${LOCATION}/jobs/${made.config.namePrefix}${id}`;
    expect(google.fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /v1/projects/${PROJECT}/locations/${LOCATION}/jobs`,
    ]);
    const sent = google.fake.requests[0]?.body as Record<string, unknown> & {
      httpTarget: { body: string };
    };
    expect(sent).toMatchObject({
      name: job,
      schedule: '30 9 * * 1-5',
      timeZone: 'Europe/Paris',
      httpTarget: {
        uri: FIRE_URL,
        httpMethod: 1, // POST, as the client encodes enums (enum-encoding=int)
        oidcToken: { serviceAccountEmail: SCHEDULER_SA, audience: FIRE_URL },
      },
    });
    expect(JSON.parse(Buffer.from(sent.httpTarget.body, 'base64').toString('utf8'))).toEqual({
      scheduleId: id,
    });
    expect(await made.ports.schedules().get(id)).toMatchObject({ id, workflowId: 'limited', enabled: true });
    expect(google.jobs.get(`${made.config.namePrefix}${id}`)?.state).toBe('ENABLED');

    google.fake.requests.length = 0;
    expect((await call('PATCH', `/api/schedules/${id}`, { enabled: false })).status).toBe(200);
    expect(google.fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/${job}:pause`]);
    expect(google.jobs.get(`${made.config.namePrefix}${id}`)?.state).toBe('PAUSED');
    expect((await made.ports.schedules().get(id))?.enabled).toBe(false);

    google.fake.requests.length = 0;
    expect((await call('DELETE', `/api/schedules/${id}`)).status).toBe(204);
    expect(google.fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE /v1/${job}`]);
    expect(google.jobs.has(`${made.config.namePrefix}${id}`)).toBe(false);
    expect(await made.ports.schedules().get(id)).toBeUndefined();
  });
});
