// The Azure Functions app (functions/azure/functions.ts), driven as the Functions host drives it: the
// functions registerAzureFunctions registers are captured, and each handler is invoked with
// @azure/functions' own HttpRequest and InvocationContext — the context built from the registered options,
// its durable client input holding the binding data the Durable extension hands a function, from which
// durable-functions' getClient makes the client the run host is made from. Through the HTTP catch-all:
// login (the session cookie as a Functions Cookie), save, run, a signed webhook delivery, an approval
// decision, the signed approval link page, bad input answered naming the field, the dashboard; the setup
// once before the first request; the caller's address as App Service's front end gives it. Through the
// timer: a due schedule fired once by two instances' overlapping invocations, in its own time zone, as its
// org identity. The deps are the deployed composition (functions/azure/deployment.ts azureDeps) over Azurite,
// the Key Vault fake, an SMTP inbox as the relay, and the Durable extension's stand-in running each
// orchestration with the app's real activities (test/support/azure-app.ts).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Cookie,
  type HttpFunctionOptions,
  HttpRequest,
  HttpResponse,
  type HttpResponseInit,
  InvocationContext,
  type TimerFunctionOptions,
} from '@azure/functions';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DurableRegistrar } from '../../functions/azure/app.js';
import type { AzureDeps } from '../../functions/azure/deps.js';
import {
  API_FUNCTION,
  API_METHODS,
  registerAzureFunctions,
  SCHEDULES_FUNCTION,
} from '../../functions/azure/functions.js';
import { fetchRequest, parseSetCookie, responseInit } from '../../functions/azure/http.js';
import { SCHEDULES_TIMER } from '../../functions/azure/schedules.js';
import { DASHBOARD_CSP } from '../../functions/core/http/dashboard.js';
import type { ScheduleStore } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { readGallery } from '../../functions/core/template-gallery.js';
import { signWebhook } from '../../functions/core/triggers/webhook.js';
import { type AzureTestWorld, PUBLIC_URL, testAzureDeps } from '../support/azure-app.js';

const PASSWORD = 'correct horse battery staple';
const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
const BOB: Identity = { email: 'bob@example.com', role: 'member', groups: [], manager: 'ada@example.com' };
const ROOT_PASSWORD = 'the first admin password';
const HOOK_SECRET = `whsec_${Buffer.from('azure-hook-secret-0123456789abcd').toString('base64')}`;

const EXPENSE = `version: 1
id: expense
name: Expense
inputs: { type: object, required: [amount], properties: { amount: { type: number } } }
steps:
  - id: sign_off
    type: approval
    approvers: [ada@example.com]
    message: "Approve {{amount}}?"
`;
const HOOK = `version: 1
id: hook
triggers:
  - { type: webhook, auth: signature, runAs: bob@example.com }
inputs: { type: object, required: [n], properties: { n: { type: number } } }
steps:
  - { id: wait, type: delay, duration: 1h }
`;
const WAITING = `version: 1
id: waiting
name: Waiting
steps:
  - { id: pause, type: delay, duration: 1h }
`;

interface Registered {
  http: Map<string, HttpFunctionOptions>;
  timers: Map<string, TimerFunctionOptions>;
  orchestrations: string[];
  activities: string[];
  names: ReturnType<typeof registerAzureFunctions>;
}

/** Registers the app as the host would load it, capturing every registration. */
function register(deps: () => AzureDeps): Registered {
  const http = new Map<string, HttpFunctionOptions>();
  const timers = new Map<string, TimerFunctionOptions>();
  const orchestrations: string[] = [];
  const activities: string[] = [];
  const durable: DurableRegistrar = {
    orchestration: (name) => orchestrations.push(name),
    activity: (name) => activities.push(name),
  };
  const names = registerAzureFunctions(deps, {
    app: {
      http: (name, options) => void http.set(name, options),
      timer: (name, o) => void timers.set(name, o),
    },
    durable,
  });
  return { http, timers, orchestrations, activities, names };
}

const logs: string[] = [];

/** An invocation's context as the host makes it for `options`: the durable client input filled in. */
function contextFor(name: string, options: HttpFunctionOptions | TimerFunctionOptions): InvocationContext {
  const context = new InvocationContext({
    functionName: name,
    invocationId: randomUUID(),
    options: {
      trigger: { type: 'unknown', name: 'trigger' },
      extraInputs: options.extraInputs ?? [],
      extraOutputs: [],
    },
    logHandler: (level, ...args) => void logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  for (const input of options.extraInputs ?? []) context.extraInputs.set(input, world.clientData());
  return context;
}

/** Resolves each caller once `parties` callers wait. */
function barrier(parties: number): () => Promise<void> {
  let waiting: Array<() => void> = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length < parties) return;
      for (const release of waiting) release();
      waiting = [];
    });
}

let world: AzureTestWorld;
let app: Registered;

beforeAll(async () => {
  world = await testAzureDeps();
  world.secrets.set('admin-password', ROOT_PASSWORD);
  const deps = world.instance();
  await deps.directory().upsertUser({ ...ADA, name: 'Ada' });
  await deps.directory().upsertUser({ ...BOB, name: 'Bob' });
  await deps.directory().setPassword(ADA.email, PASSWORD);
  await deps.directory().setPassword(BOB.email, PASSWORD);
  await deps.vault().set('org', 'webhook.hook', HOOK_SECRET);
  app = register(() => deps);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

interface Answer {
  init: HttpResponseInit;
  status: number;
  text: string;
  json: Record<string, unknown>;
}

/** One request through the registered `api` handler, as the host invokes it. */
async function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const fn = app.http.get(API_FUNCTION) as HttpFunctionOptions;
  const request = new HttpRequest({
    method,
    url: `${PUBLIC_URL}${path}`,
    headers: { 'client-ip': '203.0.113.7:50123', ...options.headers },
    ...(options.body === undefined ? {} : { body: { string: options.body } }),
  });
  const init = (await fn.handler(request, contextFor(API_FUNCTION, fn))) as HttpResponseInit;
  // What the Functions library makes of the answer before the host sends it.
  const text = await new HttpResponse(init).text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: a page
  }
  return { init, status: init.status ?? 200, text, json };
}

interface Session {
  cookie: string;
  csrf: string;
}

async function login(email: string, password = PASSWORD): Promise<Session> {
  const answer = await call('POST', '/api/login', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(answer.status).toBe(200);
  const [cookie] = answer.init.cookies ?? [];
  expect(cookie).toBeDefined();
  return { cookie: `${cookie?.name}=${cookie?.value}`, csrf: answer.json.csrf as string };
}

function as(session: Session, method: string, path: string, body?: string, type = 'application/json') {
  return call(method, path, {
    headers: {
      cookie: session.cookie,
      'x-csrf-token': session.csrf,
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    ...(body === undefined ? {} : { body }),
  });
}

describe('the registrations', () => {
  it('registers the catch-all on every path and method, anonymous, with the durable client; the timer every minute; the orchestrator and activities', () => {
    const api = app.http.get(API_FUNCTION);
    expect(api).toMatchObject({ route: '{*path}', authLevel: 'anonymous', methods: API_METHODS });
    expect(api?.extraInputs?.map((input) => input.type)).toEqual(['durableClient']);
    const timer = app.timers.get(SCHEDULES_FUNCTION);
    expect(timer).toMatchObject({ schedule: SCHEDULES_TIMER });
    expect(timer?.extraInputs?.map((input) => input.type)).toEqual(['durableClient']);
    expect(app.orchestrations).toEqual([app.names.orchestrator]);
    expect(app.activities).toEqual(app.names.activities);
    expect(app.activities.length).toBeGreaterThan(0);
  });
});

describe('the setup', () => {
  it("runs once before an instance's first requests, concurrent ones included: the gallery installed, the first admin made with the Key Vault secret's password", async () => {
    const fresh = await testAzureDeps({
      templates: readGallery(join(import.meta.dirname, '..', '..', 'templates')),
    });
    try {
      fresh.secrets.set('admin-password', ROOT_PASSWORD);
      const deps = fresh.instance();
      const registered = register(() => deps);
      const fn = registered.http.get(API_FUNCTION) as HttpFunctionOptions;
      const get = (path: string) =>
        fn.handler(
          new HttpRequest({ method: 'GET', url: `${PUBLIC_URL}${path}` }),
          contextFor(API_FUNCTION, fn),
        );
      const answers = (await Promise.all([
        get('/api/openapi.json'),
        get('/api/openapi.json'),
        get('/'),
      ])) as HttpResponseInit[];
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(fresh.secretReads('admin-password')).toEqual(['admin-password']);
      const gallery = readGallery(join(import.meta.dirname, '..', '..', 'templates'));
      for (const template of gallery) expect(await deps.workflows().history(template.id)).toHaveLength(1);
      expect(await deps.directory().getUser('root@example.net')).toMatchObject({
        role: 'admin',
        hasPassword: true,
      });
      expect(await deps.directory().verifyPassword('root@example.net', ROOT_PASSWORD)).not.toBeNull();
      await get('/api/openapi.json');
      expect(fresh.secretReads('admin-password')).toHaveLength(1);
    } finally {
      await fresh.close();
    }
  });
  it('serves requests when the setup fails, logging why by the secret name, never its value; tried again a minute later', async () => {
    const fresh = await testAzureDeps();
    try {
      fresh.secrets.set('admin-password', 'too-short');
      const deps = fresh.instance();
      const registered = register(() => deps);
      const fn = registered.http.get(API_FUNCTION) as HttpFunctionOptions;
      const get = () =>
        fn.handler(
          new HttpRequest({ method: 'GET', url: `${PUBLIC_URL}/api/openapi.json` }),
          contextFor(API_FUNCTION, fn),
        ) as Promise<HttpResponseInit>;
      const before = console.error;
      const errors: string[] = [];
      console.error = (...args: unknown[]) => void errors.push(args.map(String).join(' '));
      try {
        expect((await get()).status).toBe(200);
        expect((await get()).status).toBe(200);
      } finally {
        console.error = before;
      }
      expect(fresh.secretReads('admin-password')).toEqual(['admin-password']);
      expect(errors.join('\n')).toContain('STEPGATE_ADMIN_PASSWORD_SECRET, Key Vault secret admin-password');
      expect(errors.join('\n')).not.toContain('too-short');
      expect(await deps.directory().getUser('root@example.net')).toBeUndefined();
      fresh.clock.at = Date.now() + 61_000;
      fresh.secrets.set('admin-password', ROOT_PASSWORD);
      expect((await get()).status).toBe(200);
      expect(await deps.directory().getUser('root@example.net')).toMatchObject({ role: 'admin' });
    } finally {
      await fresh.close();
    }
  });
});

describe('the api function', () => {
  it('logs in: the session cookie goes back as a Functions cookie with its attributes, nothing in the headers', async () => {
    const answer = await call('POST', '/api/login', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADA.email, password: PASSWORD }),
    });
    expect(answer.status).toBe(200);
    expect(answer.init.cookies).toEqual([
      {
        name: 'stepgate_session',
        value: expect.stringMatching(/^.{20,}$/),
        path: '/',
        expires: expect.any(Date),
        httpOnly: true,
        sameSite: 'Lax',
        secure: true,
      },
    ]);
    expect(Object.keys(answer.init.headers as object)).not.toContain('set-cookie');
    expect(world.clients.at(-1)?.taskHubName).toBe(world.clientData().taskHubName);
  });

  it('saves a workflow, runs it, and decides its approval; the run completes', async () => {
    const ada = await login(ADA.email);
    const bob = await login(BOB.email);
    const saved = await as(ada, 'PUT', '/api/workflows/expense', EXPENSE, 'application/yaml');
    expect(saved.status).toBe(201);
    const started = await as(
      bob,
      'POST',
      '/api/workflows/expense/run',
      JSON.stringify({ input: { amount: 120 } }),
    );
    expect(started.status).toBe(201);
    const runId = started.json.runId as string;
    await world.settle();
    const run = await as(bob, 'GET', `/api/runs/${runId}`);
    expect(run.json).toMatchObject({ id: runId, workflowId: 'expense', status: 'running' });
    const decided = await as(
      ada,
      'POST',
      `/api/approvals/${runId}/sign_off`,
      JSON.stringify({ decision: 'approve' }),
    );
    expect(decided.status).toBe(200);
    expect(await world.host().waitForRun(runId)).toBe('completed');
  });

  it('serves the signed approval link page from the emailed link', async () => {
    const ada = await login(ADA.email);
    const bob = await login(BOB.email);
    expect((await as(ada, 'PUT', '/api/workflows/expense', EXPENSE, 'application/yaml')).status).toBeLessThan(
      300,
    );
    const started = await as(
      bob,
      'POST',
      '/api/workflows/expense/run',
      JSON.stringify({ input: { amount: 77 } }),
    );
    await world.settle();
    const runId = started.json.runId as string;
    const mail = world.inbox
      .list({ to: ADA.email })
      .find((m) => m.text.includes(runId) || m.text.includes('77'));
    const link = /https:\/\/stepgate\.example\.net(\/approve\/[A-Za-z0-9._~-]+)/.exec(mail?.text ?? '')?.[1];
    expect(link).toBeDefined();
    const page = await call('GET', link ?? '');
    expect(page.status).toBe(200);
    expect(page.init.headers).toMatchObject({ 'content-type': expect.stringContaining('text/html') });
    expect(page.text).toContain('Approve 77?');
    const forged = await call('GET', `${(link ?? '').slice(0, -4)}AAAA`);
    expect(forged.status).toBeGreaterThanOrEqual(400);
  });

  it('starts a run from a signed webhook delivery as the trigger runAs user; a redelivery gets the same run', async () => {
    const ada = await login(ADA.email);
    expect((await as(ada, 'PUT', '/api/workflows/hook', HOOK, 'application/yaml')).status).toBeLessThan(300);
    const body = JSON.stringify({ n: 3 });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'webhook-id': 'msg_azure_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook({ secret: HOOK_SECRET, id: 'msg_azure_1', timestamp, body }),
    };
    const first = await call('POST', '/api/workflows/hook/run', { headers, body });
    expect(first.status).toBe(201);
    const again = await call('POST', '/api/workflows/hook/run', { headers, body });
    expect(again.json).toMatchObject({ runId: first.json.runId, redelivery: true });
    const run = await world.host().getRun(first.json.runId as string);
    expect(run?.trigger).toMatchObject({ type: 'webhook', user: { email: BOB.email } });
    const tampered = await call('POST', '/api/workflows/hook/run', {
      headers: { ...headers, 'webhook-id': 'msg_azure_2' },
      body: JSON.stringify({ n: 4 }),
    });
    expect(tampered.status).toBe(401);
  });

  it('answers bad input naming the field', async () => {
    const noEmail = await call('POST', '/api/login', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'x' }),
    });
    expect(noEmail.status).toBe(422);
    expect(noEmail.json).toMatchObject({ field: 'email' });
    expect(noEmail.init.headers).toMatchObject({ 'content-type': 'application/problem+json' });
    const ada = await login(ADA.email);
    const proto = await as(ada, 'POST', '/api/schedules', '{"workflowId": "x", "constructor": {}}');
    expect(proto.status).toBe(400);
    expect(proto.json).toMatchObject({ field: 'constructor' });
    expect(proto.text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('serves the dashboard on the same origin: its page for app routes and its assets', async () => {
    const built = readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'web', 'index.html'), 'utf8');
    for (const path of ['/', '/runs/some-run']) {
      const page = await call('GET', path);
      expect(page.status).toBe(200);
      expect(page.init.headers).toMatchObject({ 'content-security-policy': DASHBOARD_CSP });
      expect(page.text).toBe(built);
    }
    const asset = /\/assets\/[^"]+\.js/.exec(built)?.[0] ?? '';
    const script = await call('GET', asset);
    expect(script.status).toBe(200);
    expect(script.init.headers).toMatchObject({ 'cache-control': 'public, max-age=31536000, immutable' });
  });

  it("counts failed logins by App Service's Client-IP, not by what the caller writes in X-Forwarded-For", async () => {
    const attempt = (clientIp: string, forwarded: string) =>
      call('POST', '/api/login', {
        headers: {
          'content-type': 'application/json',
          'client-ip': clientIp,
          'x-forwarded-for': `${forwarded}, ${clientIp}`,
        },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong' }),
      });
    const statuses: number[] = [];
    // The caller varies its own X-Forwarded-For entry; the front end's address stays the same.
    for (let n = 0; n < 12; n++) statuses.push((await attempt('198.51.100.9:4000', `10.9.9.${n}`)).status);
    expect(statuses).toContain(429);
    // Another port of another address is another caller.
    expect((await attempt('198.51.100.10:4000', '10.9.9.1')).status).toBe(401);
  });
});

describe('the http bridge', () => {
  it('hands the app the method, URL, headers and raw body, and carries every Set-Cookie as a cookie', async () => {
    const probe = new Hono();
    probe.all('/echo', async (c) => {
      c.header('set-cookie', 'a=1; Path=/; Max-Age=60; Secure', { append: true });
      c.header('set-cookie', 'b=two; Domain=example.net; SameSite=Strict; HttpOnly', { append: true });
      c.header('x-extra', 'yes');
      return c.json({
        method: c.req.method,
        url: c.req.url,
        type: c.req.header('content-type'),
        body: await c.req.text(),
      });
    });
    const request = new HttpRequest({
      method: 'PATCH',
      url: 'https://stepgate.example.net/echo?x=1&y=two',
      headers: { 'content-type': 'application/json' },
      body: { string: '{"b": 1,  "a": [2]}' },
    });
    const init = await responseInit(await probe.fetch(await fetchRequest(request)));
    expect(init.cookies).toEqual<Cookie[]>([
      { name: 'a', value: '1', path: '/', maxAge: 60, secure: true },
      { name: 'b', value: 'two', domain: 'example.net', sameSite: 'Strict', httpOnly: true },
    ]);
    expect(init.headers).toMatchObject({ 'x-extra': 'yes' });
    expect(JSON.parse(Buffer.from(init.body as Uint8Array).toString('utf8'))).toEqual({
      method: 'PATCH',
      url: 'https://stepgate.example.net/echo?x=1&y=two',
      type: 'application/json',
      body: '{"b": 1,  "a": [2]}',
    });
  });

  it('refuses a Set-Cookie attribute the Functions host cannot carry, naming it', () => {
    expect(() => parseSetCookie('a=1; Partitioned')).toThrow("cannot carry 'Partitioned'");
  });

  it('answers a failure it did not expect with a generic 500, the detail in the log only', async () => {
    const broken = register(() => {
      throw new Error('STEPGATE_TABLES_ENDPOINT is not set');
    });
    const fn = broken.http.get(API_FUNCTION) as HttpFunctionOptions;
    const answer = (await fn.handler(
      new HttpRequest({ method: 'GET', url: `${PUBLIC_URL}/api/me` }),
      contextFor(API_FUNCTION, fn),
    )) as HttpResponseInit;
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.jsonBody)).not.toContain('STEPGATE_TABLES_ENDPOINT');
    expect(logs.some((line) => line.includes('STEPGATE_TABLES_ENDPOINT is not set'))).toBe(true);
  });
});

describe('the schedules timer', () => {
  it('fires a due schedule once when two instances run it at once, at its time in its own zone, as its org identity', async () => {
    // 2026-03-28 12:00 UTC; Paris moves to summer time at 02:00 on the 29th.
    world.clock.at = Date.UTC(2026, 2, 28, 12, 0, 0);
    const ada = await login(ADA.email);
    expect((await as(ada, 'PUT', '/api/workflows/waiting', WAITING, 'application/yaml')).status).toBeLessThan(
      300,
    );
    const created = await as(
      ada,
      'POST',
      '/api/schedules',
      JSON.stringify({ workflowId: 'waiting', cron: '30 9 * * *', timezone: 'Europe/Paris', scope: 'org' }),
    );
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    // 09:30 in Paris on the 29th is 07:30 UTC (CEST), not 08:30 (CET).
    expect(created.json.nextFireAt).toBe(Date.UTC(2026, 2, 29, 7, 30));

    // Not due yet: nothing fires.
    // Two instances whose reads of the schedule meet before either claims it: both find it due.
    const meet = barrier(2);
    const held = (store: ScheduleStore): ScheduleStore => {
      let first = true;
      return new Proxy(store, {
        get: (target, name, receiver) =>
          name === 'get'
            ? async (id: string) => {
                const found = await target.get(id);
                if (first) {
                  first = false;
                  await meet();
                }
                return found;
              }
            : Reflect.get(target, name, receiver),
      });
    };
    const oneDeps = world.instance({ schedules: held });
    const twoDeps = world.instance({ schedules: held });
    const one = register(() => oneDeps);
    const two = register(() => twoDeps);
    const tick = (fns: Registered) => {
      const timer = fns.timers.get(SCHEDULES_FUNCTION) as TimerFunctionOptions;
      const status = {
        isPastDue: false,
        schedule: { adjustForDST: true },
        scheduleStatus: { last: '', next: '', lastUpdated: '' },
      };
      return timer.handler(status, contextFor(SCHEDULES_FUNCTION, timer));
    };
    await tick(one);
    expect(await world.instance().schedules().fires(id)).toEqual([]);

    world.clock.at = Date.UTC(2026, 2, 29, 7, 30, 20);
    await Promise.all([tick(one), tick(two)]);
    const fires = await world.instance().schedules().fires(id);
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({ scheduledTime: Date.UTC(2026, 2, 29, 7, 30), status: 'started' });
    const runs = await world.host().listRuns({ workflowId: 'waiting' });
    expect(runs.map((r) => r.id)).toEqual([fires[0]?.runId]);
    expect(runs[0]?.trigger).toMatchObject({ type: 'schedule', user: { email: 'org', manager: ADA.email } });
    expect((await world.instance().schedules().get(id))?.nextFireAt).toBe(Date.UTC(2026, 2, 30, 7, 30));

    // Another tick the same minute starts nothing more.
    await tick(two);
    expect(await world.instance().schedules().fires(id)).toHaveLength(1);
    world.clock.at = undefined;
  });
  it('fires a time missed while nothing ran once, the next time following from now; settles a fire an invocation left claimed', async () => {
    const deps = world.instance();
    const ada = await login(ADA.email);
    expect((await as(ada, 'PUT', '/api/workflows/waiting', WAITING, 'application/yaml')).status).toBeLessThan(
      300,
    );
    world.clock.at = Date.UTC(2026, 5, 1, 12, 0, 0);
    const created = await as(
      ada,
      'POST',
      '/api/schedules',
      JSON.stringify({ workflowId: 'waiting', cron: '0 8 * * *', timezone: 'America/New_York' }),
    );
    const id = created.json.id as string;
    // 08:00 in New York (EDT) is 12:00 UTC.
    expect(created.json.nextFireAt).toBe(Date.UTC(2026, 5, 2, 12, 0));
    // A fire claimed an hour before by an invocation that then died: no run was started for it.
    const store = deps.schedules();
    const stale = {
      scheduleId: id,
      scheduledTime: Date.UTC(2026, 5, 1, 11, 0),
      firedAt: Date.UTC(2026, 5, 1, 11, 0),
      runId: 'never-started',
    };
    await store.insert({
      ...((await store.get(id)) as NonNullable<Awaited<ReturnType<typeof store.get>>>),
      id: `${id}-old`,
      nextFireAt: stale.scheduledTime,
    });
    expect(await store.claimFire({ ...stale, scheduleId: `${id}-old` }, null)).toBe(true);
    // The app was stopped for three days: the timer runs again on the 5th at 15:00 UTC.
    world.clock.at = Date.UTC(2026, 5, 5, 15, 0, 0);
    const fns = register(() => deps);
    const timer = fns.timers.get(SCHEDULES_FUNCTION) as TimerFunctionOptions;
    const status = {
      isPastDue: true,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: '', next: '', lastUpdated: '' },
    };
    await timer.handler(status, contextFor(SCHEDULES_FUNCTION, timer));
    const fires = await store.fires(id);
    expect(fires.map((f) => [f.scheduledTime, f.status])).toEqual([[Date.UTC(2026, 5, 2, 12, 0), 'started']]);
    expect((await store.get(id))?.nextFireAt).toBe(Date.UTC(2026, 5, 6, 12, 0));
    expect(await store.fires(`${id}-old`)).toMatchObject([
      { runId: 'never-started', status: 'failed', reason: expect.stringContaining('interrupted') },
    ]);
    world.clock.at = undefined;
  });
});
