// The Cloud Run functions of functions/gcp, each served by functions-framework on loopback and reached over
// real HTTP: the API (its setup run once before it serves; login, save, run through the Hono app, cookies
// and all), tool calls and notifications
// acknowledged, enqueued on a Cloud Tasks stand-in (the exact createTask requests checked) and done by the
// worker, which posts the callback with its own bearer token; a redelivered task never calls the tool twice;
// approvals opened and decided; backoff and resolve-time waking a branch; schedule fires claimed once;
// run-end and run timeouts reaching the host; bad bodies refused naming the field. The storage ports are
// the local SQLite adapters (the Firestore ones have their own contract suites) but for the worker's claims,
// on the Firestore emulator; the run host is the embedded engine, with the two calls only a GCP host has
// (timeOut, recordEnd) recorded.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { http } from '@google-cloud/functions-framework';
import { CloudTasksClient } from '@google-cloud/tasks';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FirestoreActivityClaims } from '../../adapters/gcp/activity-claims.js';
import { SqliteApprovalLinkStore } from '../../adapters/local/approval-link-store.js';
import { SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { SystemClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteResultStore } from '../../adapters/local/result-store.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { DASHBOARD_CSP } from '../../functions/core/http/dashboard.js';
import type { Env } from '../../functions/core/http/types.js';
import { lazy, setupOnFirstRequest } from '../../functions/core/per-instance.js';
import { ERROR, type Identity } from '../../functions/core/protocol.js';
import type {
  GcpApprovalRequestBody,
  GcpNotifyBody,
  GcpRunEndBody,
  GcpToolCallBody,
} from '../../functions/core/wire.js';
import { apiFunction } from '../../functions/gcp/api.js';
import { CallbackPoster } from '../../functions/gcp/callbacks.js';
import { ENV, FUNCTION_NAMES, type GcpConfig, loadGcpConfig } from '../../functions/gcp/config.js';
import { registerGcpFunctions } from '../../functions/gcp/functions.js';
import type { GcpDeps, GcpPorts, GcpRunHost } from '../../functions/gcp/ports.js';
import { CloudTasksQueue, MAX_SCHEDULE_MS, scheduleRunTimeout, taskId } from '../../functions/gcp/tasks.js';
import { INTERRUPTED, LEASE_MS } from '../../functions/gcp/worker.js';
import { parseTemplate } from '../../translator/template.js';
import { startMcpHttpServer, type TestMcpHttpServer } from '../mcp/http-mcp-server.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import {
  type CallbackReceiver,
  type CloudTasksStandIn,
  type FunctionServers,
  serveFunctions,
  startCallbackReceiver,
  startCloudTasks,
} from '../support/gcp-functions.js';

const PASSWORD = 'correct horse battery staple';
const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
const BOB: Identity = { email: 'bob@example.com', role: 'member', groups: [], manager: 'ada@example.com' };
/** The token the functions' identity presents to the callbacks. */
const WORKER_TOKEN = 'functions-access-token';
const QUEUE = 'projects/stepgate-test/locations/us-central1/queues/stepgate';
const SERVICE_ACCOUNT = 'functions@stepgate-test.iam.gserviceaccount.com';
/** A workflow that waits an hour: its run stays running on the embedded engine while a test needs it. */
const WAITING =
  'version: 1\nid: waiting\nname: Waiting\nsteps:\n  - { id: pause, type: delay, duration: 1h }\n';

let emulator: FirestoreEmulator;
let engine: EmbeddedEngine;
let inbox: SmtpInbox;
let mcp: TestMcpHttpServer;
let tasks: CloudTasksStandIn;
let receiver: CallbackReceiver;
let servers: FunctionServers;
let config: GcpConfig;
/** What every function of the test runs on (one instance's worth). */
let deps: () => GcpDeps;
const echoes: string[] = [];
const ended: GcpRunEndBody[] = [];
const timedOut: string[] = [];

/** Template JSON text, as the compiled workflow sends it. */
const tpl = (value: unknown): string => JSON.stringify(parseTemplate(value).template);

/** The storage ports over the engine's database; the worker's claims on the emulator. */
function testPorts(): GcpPorts {
  const { db } = engine;
  const clock = new SystemClock();
  const recordAudit = (runId: string, entry: Parameters<EmbeddedEngine['host']['recordAudit']>[1]) =>
    engine.host.recordAudit(runId, entry);
  const secret = randomBytes(32);
  const claimsDb = emulator.client(emulator.freshProject());
  return {
    config,
    clock,
    vault: lazy(() => new SqliteVault(db, randomBytes(32))),
    results: lazy(() => new SqliteResultStore(db)),
    limiter: lazy(() => new SqliteRateLimiter(db)),
    directory: lazy(() => new SqliteDirectory(db)),
    sessions: lazy(() => new SqliteSessionStore(db)),
    tokens: lazy(() => new SqliteApiTokenStore(db)),
    workflows: lazy(() => new SqliteWorkflowStore(db)),
    deliveries: lazy(() => new SqliteWebhookDeliveryStore(db, clock)),
    audit: () => ({
      append: async (runId, entry) => recordAudit(runId, entry),
      list: (runId) => engine.host.audit(runId),
    }),
    approvalStore: (callbackKey) => new SqliteApprovalStore(db, { callbackKey, recordAudit }),
    linkStore: lazy(() => new SqliteApprovalLinkStore(db)),
    schedules: lazy(() => new SqliteScheduleStore(db)),
    claims: lazy(() => new FirestoreActivityClaims(claimsDb)),
    platformSecret: async () => secret,
    smtpRelayUrl: async () => inbox.url,
  };
}

/** The embedded engine as the run host; timeOut and recordEnd recorded. */
function testHost(): GcpRunHost {
  const { host } = engine;
  return {
    startRun: (start) => host.startRun(start),
    getRun: (runId) => host.getRun(runId),
    cancelRun: (runId, by) => host.cancelRun(runId, by),
    listRuns: (filter) => host.listRuns(filter),
    audit: (runId) => host.audit(runId),
    timeOut: async (runId) => void timedOut.push(runId),
    recordEnd: async (body) => void ended.push(body),
  };
}

/** The Cloud Tasks client on the stand-in (its auth client is google-auth-library's own, another copy's type). */
function tasksClient(): CloudTasksClient {
  return new CloudTasksClient(
    tasks.fake.gaxOptions() as unknown as ConstructorParameters<typeof CloudTasksClient>[0],
  );
}

/** The deployment's setup as the api runs it: here it only adds SETUP_USER (a member), counting its runs. */
let setupRuns = 0;
const SETUP_USER = 'set-up@example.com';

function testDeps(): GcpDeps {
  const ports = testPorts();
  const client = tasksClient();
  return {
    setup: setupOnFirstRequest(
      async () => {
        setupRuns++;
        await new SqliteDirectory(engine.db).seed([
          { email: SETUP_USER, role: 'member', groups: [], manager: null, password: PASSWORD },
        ]);
      },
      { clock: ports.clock },
    ),
    ports,
    host: lazy(testHost),
    queue: lazy(
      () =>
        new CloudTasksQueue({
          client,
          queue: QUEUE,
          workerUrl: servers.url('worker'),
          serviceAccount: SERVICE_ACCOUNT,
        }),
    ),
    callbacks: lazy(() => new CallbackPoster({ token: async () => WORKER_TOKEN }, config.callbackBase)),
  };
}

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = 'none';
  emulator = await startFirestoreEmulator();
  engine = createEmbeddedEngine({
    file: ':memory:',
    clock: new SystemClock(),
    directory: { user: async () => undefined, resolve: async () => [] },
    tools: {
      call: async () => {
        throw new Error('the engine runs only the waiting workflow here');
      },
    },
    notifier: { send: async () => ({}) },
    approvalNotifier: { requested: async () => {} },
  });
  await new SqliteDirectory(engine.db).seed([
    { ...ADA, password: PASSWORD },
    { ...BOB, password: PASSWORD },
  ]);
  inbox = await startSmtpInbox({ db: openDatabase(':memory:') });
  mcp = await startMcpHttpServer('sandbox', (s) => {
    s.registerTool(
      'echo',
      { inputSchema: { message: z.string() }, annotations: { readOnlyHint: true } },
      async ({ message }) => {
        echoes.push(message);
        return { content: [{ type: 'text', text: `echo: ${message}` }] };
      },
    );
  });
  tasks = await startCloudTasks();
  receiver = await startCallbackReceiver();
  deps = lazy(testDeps);
  registerGcpFunctions(() => deps());
  servers = await serveFunctions(FUNCTION_NAMES);
  const fn = (name: string) => servers.url(name);
  config = loadGcpConfig({
    [ENV.project]: 'stepgate-test',
    [ENV.location]: 'us-central1',
    [ENV.kmsKey]: 'projects/stepgate-test/locations/us-central1/keyRings/stepgate/cryptoKeys/vault',
    [ENV.platformSecret]: 'projects/stepgate-test/secrets/platform',
    [ENV.emailFrom]: 'stepgate@example.com',
    [ENV.resultsBucket]: 'stepgate-results',
    [ENV.tasksQueue]: QUEUE,
    [ENV.serviceAccount]: SERVICE_ACCOUNT,
    [ENV.workerUrl]: fn('worker'),
    [ENV.functionUrls]: JSON.stringify({
      toolCall: fn('tool-call'),
      notify: fn('notify'),
      approvalRequest: fn('approval-request'),
      approvalClose: fn('approval-close'),
      backoff: fn('backoff'),
      resolveTime: fn('resolve-time'),
      runEnd: fn('run-end'),
    }),
    [ENV.callbackBase]: receiver.base,
    [ENV.publicUrl]: 'http://localhost:8080',
    [ENV.workflowsServiceAccount]: 'stepgate-workflows@stepgate-test.iam.gserviceaccount.com',
    [ENV.schedulerServiceAccount]: 'stepgate-scheduler@stepgate-test.iam.gserviceaccount.com',
    [ENV.scheduleFireUrl]: fn('schedule-fire'),
    [ENV.mcpServers]: JSON.stringify({ sandbox: { url: mcp.url } }),
  });
}, 120_000);

afterAll(async () => {
  await servers?.close();
  await tasks?.close();
  await receiver?.close();
  await mcp?.close();
  await inbox?.close();
  await engine?.host.close();
  await emulator?.stop();
});

/** POSTs JSON to a function; answers the status and parsed body. */
async function post(
  name: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const answer = await fetch(servers.url(name), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
}

interface Session {
  cookie: string;
  csrf: string;
}

/** Logs in through the api function; the session cookie and CSRF token. */
async function login(email: string): Promise<Session> {
  const answer = await fetch(new URL('/api/login', servers.url('api')), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7, 10.0.0.1' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(answer.status).toBe(200);
  const cookies = answer.headers.getSetCookie();
  expect(cookies.length).toBeGreaterThan(0);
  const { csrf } = (await answer.json()) as { csrf: string };
  return { cookie: (cookies[0] ?? '').split(';')[0] ?? '', csrf };
}

async function api(session: Session, method: string, path: string, body?: string, type = 'application/json') {
  const answer = await fetch(new URL(path, servers.url('api')), {
    method,
    headers: {
      cookie: session.cookie,
      'x-csrf-token': session.csrf,
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    ...(body === undefined ? {} : { body }),
  });
  return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
}

/** Saves the waiting workflow (a new version each time) and starts a run of it as ADA; its id. */
async function waitingRun(): Promise<string> {
  const ada = await login(ADA.email);
  expect((await api(ada, 'PUT', '/api/workflows/waiting', WAITING, 'application/yaml')).status).toBeLessThan(
    300,
  );
  const started = await api(ada, 'POST', '/api/workflows/waiting/run', JSON.stringify({ input: {} }));
  expect(started.status).toBe(201);
  return started.json.runId as string;
}

let runs = 0;
/** A step body of a fresh run of BOB's. */
function step(stepId: string): {
  workflowId: string;
  runId: string;
  stepId: string;
  visit: number;
  identity: Identity;
} {
  return { workflowId: 'wf', runId: `run-${++runs}`, stepId, visit: 1, identity: BOB };
}

function toolCall(callback: string, message = 'hi {{who}}'): GcpToolCallBody {
  return {
    ...step('lookup'),
    kind: 'tool.call',
    attempt: 1,
    server: null,
    tool: 'echo',
    args: tpl({ message }),
    timeoutMs: null,
    vars: { who: 'Bob' },
    callbackUrl: `${receiver.base}${callback}`,
  };
}

/** The task created for `work` (by its body). */
function taskFor(match: (body: Record<string, unknown>) => boolean) {
  const found = tasks.tasks.find((t) => match(t.body as Record<string, unknown>));
  if (found === undefined) throw new Error('no such task was created');
  return found;
}

describe('the api function', () => {
  it('logs in, saves a workflow and runs it through the Hono app behind functions-framework', async () => {
    const ada = await login(ADA.email);
    const saved = await api(ada, 'PUT', '/api/workflows/waiting', WAITING, 'application/yaml');
    expect(saved.status).toBe(201);
    expect(saved.json).toMatchObject({ id: 'waiting', version: 1 });
    const started = await api(ada, 'POST', '/api/workflows/waiting/run', JSON.stringify({ input: {} }));
    expect(started.status).toBe(201);
    const runId = started.json.runId as string;
    const run = await api(ada, 'GET', `/api/runs/${runId}`);
    expect(run.json).toMatchObject({ id: runId, workflowId: 'waiting', status: 'running' });
  });

  it("runs the deployment's setup once, before serving: the user it makes logs in", async () => {
    const first = await login(SETUP_USER);
    await api(first, 'GET', '/api/workflows');
    expect(setupRuns).toBe(1);
  });

  it('serves the dashboard on the same origin: its page for app routes, its assets, the API untouched', async () => {
    const api = servers.url('api');
    const built = readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'web', 'index.html'), 'utf8');
    for (const path of ['/', '/runs/some-run']) {
      const page = await fetch(new URL(path, api));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(await page.text()).toBe(built);
    }
    const asset = /\/assets\/[^"]+\.js/.exec(built)?.[0] ?? '';
    const script = await fetch(new URL(asset, api));
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    const openapi = await fetch(new URL('/api/openapi.json', api));
    expect(openapi.headers.get('content-type')).toContain('application/json');
  });

  it('counts failed logins by the first X-Forwarded-For hop', async () => {
    const attempt = (address: string) =>
      fetch(new URL('/api/login', servers.url('api')), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `${address}, 10.0.0.1` },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong' }),
      });
    const statuses: number[] = [];
    for (let n = 0; n < 12; n++) statuses.push((await attempt('198.51.100.9')).status);
    expect(statuses).toContain(429);
    expect((await attempt('198.51.100.10')).status).toBe(401);
  });
});

describe('the api adapter', () => {
  it('hands the app the raw body, method, query and headers, and writes back every Set-Cookie', async () => {
    const app = new Hono();
    app.all('/echo', async (c) => {
      c.header('set-cookie', 'a=1; Path=/', { append: true });
      c.header('set-cookie', 'b=2; Path=/', { append: true });
      return c.json({
        method: c.req.method,
        url: c.req.url,
        type: c.req.header('content-type'),
        body: await c.req.text(),
      });
    });
    http(
      'adapter-probe',
      apiFunction(async () => app as unknown as Hono<Env>),
    );
    const probe = await serveFunctions(['adapter-probe']);
    try {
      const answer = await fetch(new URL('/echo?x=1&y=two', probe.url('adapter-probe')), {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: '{"b": 1,  "a": [2]}',
      });
      expect(answer.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(await answer.json()).toEqual({
        method: 'PATCH',
        url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/echo\?x=1&y=two$/),
        type: 'application/json',
        body: '{"b": 1,  "a": [2]}',
      });
    } finally {
      await probe.close();
    }
  });
});

describe('tool-call and the worker', () => {
  it('acknowledges, enqueues the exact task, and the worker posts the tool result with its identity', async () => {
    const body = toolCall('tool-1');
    const ack = await post('tool-call', body);
    expect(ack).toEqual({ status: 200, json: { accepted: true } });
    const task = taskFor((b) => b.runId === body.runId);
    expect(task.request.path).toBe(`/v2/${QUEUE}/tasks`);
    expect(task.request.body).toMatchObject({
      task: {
        name: expect.stringMatching(new RegExp(`^${QUEUE}/tasks/[0-9a-f]{64}$`)),
        httpRequest: {
          url: servers.url('worker'),
          httpMethod: 1,
          headers: { 'Content-Type': 'application/json' },
          oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: servers.url('worker') },
        },
      },
    });
    expect(task.scheduleTime).toBeUndefined();
    expect(task.body).toEqual(body);
    const callback = await receiver.next('/callbacks/tool-1');
    expect(callback).toEqual({
      path: '/callbacks/tool-1',
      authorization: `Bearer ${WORKER_TOKEN}`,
      body: { ok: true, result: 'echo: hi Bob' },
    });
    await task.done;
    expect(task.deliveries).toEqual([200]);
    const trail = await engine.host.audit(body.runId);
    expect(trail.map((e) => e.type)).toContain('tool.executed');
  });

  it('enqueues a re-posted attempt once (the task name is the attempt)', async () => {
    const body = toolCall('tool-2');
    await post('tool-call', body);
    const again = await post('tool-call', body);
    expect(again).toEqual({ status: 200, json: { accepted: true } });
    const task = taskFor((b) => b.runId === body.runId);
    expect(tasks.tasks.filter((t) => (t.body as GcpToolCallBody).runId === body.runId)).toHaveLength(1);
    const named = tasks
      .creates()
      .filter((r) => (r.body as { task: { name: string } }).task.name === task.name);
    expect(named).toHaveLength(2);
    await task.done;
    expect(task.deliveries).toEqual([200]);
  });

  it('never calls the tool twice for a redelivered task, and re-posts an answer the workflow did not get', async () => {
    const body = toolCall('tool-3', 'once {{who}}');
    receiver.answerNext('/callbacks/tool-3', 503);
    await post('tool-call', body);
    const task = taskFor((b) => b.runId === body.runId);
    await task.done;
    // The first delivery called the tool but could not post; Cloud Tasks' retry posted the recorded answer.
    expect(task.deliveries).toEqual([500, 200]);
    expect((await receiver.next('/callbacks/tool-3')).body).toEqual({ ok: true, result: 'echo: once Bob' });
    expect(await tasks.redeliver(task)).toBe(200);
    expect(echoes.filter((m) => m === 'once Bob')).toHaveLength(1);
    expect(receiver.posts.filter((p) => p.path === '/callbacks/tool-3')).toHaveLength(1);
  });

  it('answers an attempt whose worker vanished mid-call as interrupted, without calling the tool again', async () => {
    const body = toolCall('tool-5', 'vanished {{who}}');
    // A delivery claimed the attempt long ago and never finished (its instance went away).
    const lapsed = Date.now() - LEASE_MS - 1_000;
    await deps().ports.claims().claim(taskId(body), lapsed, LEASE_MS);
    await post('tool-call', body);
    const callback = await receiver.next('/callbacks/tool-5');
    expect(callback.body).toMatchObject({ ok: false, error: { code: INTERRUPTED, retryable: true } });
    expect(echoes).not.toContain('vanished Bob');
  });

  it('makes a delivery wait while another holds the attempt, then posts what the holder recorded', async () => {
    const body = toolCall('tool-6', 'held {{who}}');
    const claims = deps().ports.claims();
    await claims.claim(taskId(body), Date.now(), LEASE_MS);
    await post('tool-call', body);
    const task = taskFor((b) => b.runId === body.runId);
    await task.done;
    expect(new Set(task.deliveries)).toEqual(new Set([503]));
    await claims.finish(taskId(body), { ok: true, result: 'from the holder' });
    expect(await tasks.redeliver(task)).toBe(200);
    expect((await receiver.next('/callbacks/tool-6')).body).toEqual({ ok: true, result: 'from the holder' });
    expect(echoes).not.toContain('held Bob');
  });

  it('answers a tool the registry does not have with a failure on the callback', async () => {
    const body = { ...toolCall('tool-4'), tool: 'no-such-tool' };
    await post('tool-call', body);
    const callback = await receiver.next('/callbacks/tool-4');
    expect(callback.body).toMatchObject({
      ok: false,
      error: { code: expect.any(String), retryable: expect.any(Boolean) },
    });
  });
});

describe('notify', () => {
  it('sends the email through the SMTP relay from the worker and posts its message id', async () => {
    const body: GcpNotifyBody = {
      ...step('tell'),
      kind: 'notify.send',
      attempt: 1,
      channel: 'email',
      to: JSON.stringify([parseTemplate('{{who}}@example.com').template]),
      subject: tpl('Hello {{who}}'),
      message: tpl('Your order {{order}} shipped'),
      vars: { who: 'carol', order: 'A-17' },
      callbackUrl: `${receiver.base}notify-1`,
    };
    expect(await post('notify', body)).toEqual({ status: 200, json: { accepted: true } });
    const callback = await receiver.next('/callbacks/notify-1');
    expect(callback.body).toMatchObject({ ok: true, result: { messageId: expect.any(String) } });
    const [mail] = inbox.list({ to: 'carol@example.com' });
    expect(mail).toMatchObject({ subject: 'Hello carol', mailFrom: 'stepgate@example.com' });
    expect(mail?.text).toContain('Your order A-17 shipped');
  });
});

describe('approvals', () => {
  it('opens a level and posts the approver decision to its callback with the function identity', async () => {
    const runId = await waitingRun();
    const ada = await login(ADA.email);
    const body: GcpApprovalRequestBody = {
      workflowId: 'waiting',
      runId,
      stepId: 'sign-off',
      visit: 1,
      identity: BOB,
      level: 1,
      approvers: JSON.stringify([{ kind: 'role', role: 'admin' }]),
      require: 'any',
      message: tpl('Approve {{amount}}?'),
      timeoutMs: 3_600_000,
      eventName: `${receiver.base}approval-1`,
      vars: { amount: 120 },
      by: null,
    };
    const opened = await post('approval-request', body);
    expect(opened.status).toBe(200);
    expect(opened.json).toMatchObject({ ok: true, result: { approvers: [ADA.email] } });
    expect(inbox.list({ to: ADA.email }).length).toBeGreaterThan(0);
    const decided = await api(
      ada,
      'POST',
      `/api/approvals/${runId}/sign-off`,
      JSON.stringify({ decision: 'approve' }),
    );
    expect(decided.status).toBe(200);
    const callback = await receiver.next('/callbacks/approval-1');
    expect(callback.authorization).toBe(`Bearer ${WORKER_TOKEN}`);
    expect(callback.body).toMatchObject({ approved: true, decidedBy: ADA.email });
  });

  it('closes a level: a decision after it is refused', async () => {
    const runId = await waitingRun();
    const ada = await login(ADA.email);
    const body = {
      workflowId: 'waiting',
      runId,
      stepId: 'late',
      visit: 1,
      identity: BOB,
      level: 1,
      approvers: JSON.stringify([{ kind: 'role', role: 'admin' }]),
      require: 'any',
      message: tpl('late'),
      timeoutMs: 1_000,
      eventName: `${receiver.base}approval-2`,
      vars: {},
      by: null,
    };
    expect((await post('approval-request', body)).status).toBe(200);
    const closed = await post('approval-close', {
      runId,
      stepId: 'late',
      visit: 1,
      level: 1,
      reason: 'timeout',
    });
    expect(closed).toEqual({ status: 200, json: null });
    const decided = await api(
      ada,
      'POST',
      `/api/approvals/${runId}/late`,
      JSON.stringify({ decision: 'approve' }),
    );
    expect(decided.status).toBe(409);
    expect(receiver.posts.filter((p) => p.path === '/callbacks/approval-2')).toEqual([]);
  });
});

describe('waits', () => {
  it('answers a backoff and wakes the branch at its end through a scheduled task', async () => {
    const retry = { maxAttempts: 3, intervalMs: 200, backoffRate: 2, maxDelayMs: null, jitter: 'none' };
    const before = Date.now();
    const answer = await post('backoff', {
      retry,
      runId: 'run-b',
      stepId: 's',
      visit: 1,
      attempt: 2,
      wakeUrl: `${receiver.base}wake-1`,
    });
    expect(answer).toEqual({ status: 200, json: { delayMs: 400 } });
    const task = taskFor((b) => b.kind === 'wake' && b.wakeUrl === `${receiver.base}wake-1`);
    const at = Date.parse(task.scheduleTime ?? '');
    expect(at).toBeGreaterThanOrEqual(before + 400);
    expect(at).toBeLessThanOrEqual(Date.now() + 400);
    const wake = await receiver.next('/callbacks/wake-1');
    expect(wake).toEqual({
      path: '/callbacks/wake-1',
      authorization: `Bearer ${WORKER_TOKEN}`,
      body: { wake: true },
    });
  });

  it('resolves a delay until a time, waking the branch then; a non-time is the step error', async () => {
    const fireAt = Date.now() + 300;
    const body = {
      stepId: 'd',
      time: tpl('{{when}}'),
      vars: { when: new Date(fireAt).toISOString() },
      wakeUrl: `${receiver.base}wake-2`,
    };
    const answer = await post('resolve-time', body);
    expect(answer.status).toBe(200);
    expect(answer.json.fireAt).toBe(fireAt);
    const task = taskFor((b) => b.wakeUrl === `${receiver.base}wake-2`);
    expect(Date.parse(task.scheduleTime ?? '')).toBe(fireAt);
    expect((await receiver.next('/callbacks/wake-2')).body).toEqual({ wake: true });
    const wrong = await post('resolve-time', { ...body, vars: { when: 'tomorrow' } });
    expect(wrong.json).toMatchObject({ fireAt: null, error: { code: ERROR.invalidTime, step: 'd' } });
  });
});

describe('schedule-fire', () => {
  it('starts one run of two concurrent deliveries of a fire', async () => {
    await waitingRun();
    const store = new SqliteScheduleStore(engine.db);
    const at = Date.UTC(2026, 0, 5, 9, 0);
    await store.insert({
      id: 'sched-1',
      workflowId: 'waiting',
      cron: '0 9 * * *',
      timezone: 'UTC',
      scope: 'user',
      scopeRef: ADA.email,
      createdBy: ADA.email,
      input: {},
      enabled: true,
      nextFireAt: at,
      lastFiredAt: null,
      createdAt: at - 86_400_000,
    });
    const header = { 'X-CloudScheduler-ScheduleTime': new Date(at).toISOString() };
    const answers = await Promise.all([
      post('schedule-fire', { scheduleId: 'sched-1' }, header),
      post('schedule-fire', { scheduleId: 'sched-1' }, header),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const statuses = answers.map((a) => a.json.status).sort();
    expect(statuses).toEqual(['not-due', 'started']);
    const started = answers.find((a) => a.json.status === 'started')?.json.runId as string;
    expect(await engine.host.getRun(started)).toMatchObject({ workflowId: 'waiting', status: 'running' });
    expect(await store.fires('sched-1')).toEqual([
      expect.objectContaining({ scheduledTime: at, status: 'started', runId: started }),
    ]);
  });
});

describe('schedule-fire without its header', () => {
  it('fires now the stored time it missed, once', async () => {
    await waitingRun();
    const store = new SqliteScheduleStore(engine.db);
    const missed = Date.now() - 60_000;
    await store.insert({
      id: 'sched-2',
      workflowId: 'waiting',
      cron: '* * * * *',
      timezone: 'UTC',
      scope: 'user',
      scopeRef: ADA.email,
      createdBy: ADA.email,
      input: {},
      enabled: true,
      nextFireAt: missed,
      lastFiredAt: null,
      createdAt: missed - 60_000,
    });
    const fired = await post('schedule-fire', { scheduleId: 'sched-2' });
    expect(fired.json).toMatchObject({ status: 'started' });
    expect(await store.fires('sched-2')).toEqual([
      expect.objectContaining({ scheduledTime: missed, status: 'started' }),
    ]);
  });
});

describe('run-end and the run timeout', () => {
  it('hands the outcome the workflow posts to the host', async () => {
    const body: GcpRunEndBody = {
      runId: 'run-end-1',
      outcome: { status: 'completed', error: null, vars: { total: 3 } },
    };
    expect(await post('run-end', body)).toEqual({ status: 200, json: { recorded: 'run-end-1' } });
    expect(ended).toContainEqual(body);
  });

  it('times a run out through a scheduled task the worker runs', async () => {
    const queue = new CloudTasksQueue({
      client: tasksClient(),
      queue: QUEUE,
      workerUrl: servers.url('worker'),
      serviceAccount: SERVICE_ACCOUNT,
    });
    const at = Date.now() + 200;
    await scheduleRunTimeout(queue, 'run-timeout-1', at);
    const task = taskFor((b) => b.runId === 'run-timeout-1');
    expect(task.body).toEqual({ kind: 'run.timeout', runId: 'run-timeout-1' });
    expect(Date.parse(task.scheduleTime ?? '')).toBe(at);
    await task.done;
    expect(timedOut).toEqual(['run-timeout-1']);
  });
});

describe('the configuration', () => {
  it('names every variable a function needs that is missing or malformed', () => {
    expect(() => loadGcpConfig({ [ENV.tasksQueue]: 'queue-1' }, 'tool-call')).toThrow(
      new RegExp(
        `${ENV.tasksQueue} must be a resource name[\\s\\S]*${ENV.serviceAccount}[\\s\\S]*${ENV.workerUrl}`,
      ),
    );
    expect(() =>
      loadGcpConfig({ [ENV.mcpServers]: JSON.stringify({ s: { command: 'node' } }) }, 'backoff'),
    ).toThrow(/STEPGATE_MCP_SERVERS \(s\): MCP server 's' is a stdio server/);
  });
});

describe("tasks past Cloud Tasks' 30-day horizon", () => {
  it('hop: scheduled at the horizon carrying when they are due, then enqueued again by the worker until due', async () => {
    // A queue whose clock stands just over the horizon before now: a timeout due in 200 ms is beyond it.
    const queue = new CloudTasksQueue({
      client: tasksClient(),
      queue: QUEUE,
      workerUrl: servers.url('worker'),
      serviceAccount: SERVICE_ACCOUNT,
      now: () => Date.now() - MAX_SCHEDULE_MS - 60_000,
    });
    const due = Date.now() + 200;
    await scheduleRunTimeout(queue, 'run-far', due);
    const hop = taskFor((b) => b.runId === 'run-far' && b.due !== undefined);
    expect(hop.body).toEqual({ kind: 'run.timeout', runId: 'run-far', due });
    expect(Date.parse(hop.scheduleTime ?? '')).toBeLessThan(due);
    await hop.done;
    const last = taskFor((b) => b.runId === 'run-far' && b.due === undefined);
    expect(Date.parse(last.scheduleTime ?? '')).toBe(due);
    expect(last.name).not.toBe(hop.name);
    await last.done;
    expect(timedOut).toContain('run-far');
  });
});

describe('bad input', () => {
  it('is answered 400 naming the field, and nothing is enqueued', async () => {
    const before = tasks.tasks.length;
    const bad = await post('tool-call', { ...toolCall('bad'), visit: 'one' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: { code: 'bad-request', message: expect.stringContaining('visit:') } });
    const missing = await post('backoff', { runId: 'r', stepId: 's', visit: 1, attempt: 1 });
    expect(missing.json).toMatchObject({ error: { message: expect.stringContaining('retry:') } });
    const fire = await post('schedule-fire', {});
    expect(fire.json).toMatchObject({ error: { message: expect.stringContaining('scheduleId:') } });
    expect(tasks.tasks.length).toBe(before);
  });

  it('refuses a callback URL outside the workflows callback base: the identity goes nowhere else', async () => {
    const body = { ...toolCall('x'), callbackUrl: 'https://attacker.example/steal' };
    const refused = await post('tool-call', body);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({
      error: { code: 'bad-request', message: expect.stringContaining('is not under') },
    });
  });

  it('answers a worker task that is not one 400, and a GET 405', async () => {
    const task = await post('worker', { kind: 'compute' });
    expect(task.status).toBe(400);
    expect(task.json).toMatchObject({ error: { message: expect.stringContaining('kind:') } });
    const get = await fetch(servers.url('run-end'));
    expect(get.status).toBe(405);
  });
});
