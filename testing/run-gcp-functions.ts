// Runs a scenario case on the GCP target as deployed: the definition the deployer deploys
// (emitGcpWorkflows with `reportEnd`) runs in the oracle interpreter on the case's virtual clock, and every
// http.post it makes is a real HTTP POST to the Cloud Run functions (functions/gcp, registered with
// functions-framework, each on a loopback server of its own), whose ports are the Firestore adapters
// (firestorePorts) on the emulator. Tool calls and notifications are enqueued by the real CloudTasksQueue on
// a Cloud Tasks stand-in, which delivers each task to the worker over HTTP in VIRTUAL time (a scheduleTime
// is a timer on the case's clock); the worker posts its answer with its identity to a loopback receiver
// standing for the Workflows callback endpoints, which hands it to the interpreter. Approval decisions go
// through the ApprovalService on the Firestore approval store and are posted to the level's callback URL;
// the run timeout is the host's Cloud Task; the run-end report arrives at run-end over HTTP.
// Decisions:
// - Servers, stand-ins and the function registrations are made once (startGcpFunctionsBench, per test
//   file); each case gets a fresh Firestore project and ports, which the functions reach through
//   forwarding ports (cases run one at a time; a stale post names another case's callback URL: 404).
// - External services are the scenario's mocks, as on every target (GcpDeps.services): the worker's tools
//   and channels; the approvers' link emails are kept apart (local records none either).
// - Virtual time moves only when nothing is in flight: the interpreter's own work, task deliveries (counted
//   from creation to answer) and decisions; a task due now starts at once and the workflow's post returns
//   only once its delivery answered or sleeps on the clock, so mocks are called in the order they are on
//   the in-process targets. Callback answers are handed back one per quiet moment, as runCaseGcp does.
// - Anything a function refuses or fails (non-2xx) fails the case loudly, as does a missing run-end report.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Firestore } from '@google-cloud/firestore';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { Storage } from '@google-cloud/storage';
import { CloudTasksClient } from '@google-cloud/tasks';
import { parse } from 'yaml';
import { type GcpFunctionUrls, gcpExecutionArgument } from '../adapters/gcp/workflows-host.js';
import { VirtualClock } from '../adapters/local/clock.js';
import type { ApprovalService } from '../functions/core/approvals.js';
import type { AdminDirectory, Directory, Notifier, RunRecord, ToolInvoker } from '../functions/core/ports.js';
import type { NotifyRequest } from '../functions/core/protocol.js';
import type { GcpRunEndBody } from '../functions/core/wire.js';
import { CallbackPoster } from '../functions/gcp/callbacks.js';
import { FUNCTION_NAMES, type FunctionName, type GcpConfig, loadGcpConfig } from '../functions/gcp/config.js';
import { firestorePorts } from '../functions/gcp/firestore-ports.js';
import { registerGcpFunctions } from '../functions/gcp/functions.js';
import type { GcpDeps, GcpPorts, GcpRunHost } from '../functions/gcp/ports.js';
import { gcpApprovals, platformKeys } from '../functions/gcp/services.js';
import { CloudTasksQueue, scheduleRunTimeout, type TaskQueue } from '../functions/gcp/tasks.js';
import { type FakeRequest, startGoogleFake } from '../test/support/google-fake.js';
import { RUN_ROUTINE } from '../translator/emit/gcp/run-end.js';
import { emitGcpWorkflows } from '../translator/emit/gcp-workflows.js';
import type { IrWorkflow } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import { GcpInterpreter, type GcpValue } from './gcp-oracle/interpreter.js';
import type { Observation } from './observation.js';
import { outcomeOf, stepWatcher } from './run-gcp.js';
import {
  approvalOutputs,
  caseInput,
  identityFor,
  scenarioMocks,
  slug,
  TIMER_LIMIT,
  VIRTUAL_TIME_LIMIT_MS,
} from './run-local.js';
import { durationMs, type Scenario, type ScenarioCase } from './scenario.js';

/** The bearer token of the functions' identity (the receiver refuses a callback without it). */
const FUNCTIONS_TOKEN = 'conformance-functions-token';
/** What the Cloud Tasks stand-in presents to the worker (Cloud Run would check a real OIDC token). */
const OIDC_TOKEN = 'conformance-oidc-token';
const PROJECT = 'stepgate-conformance';
const QUEUE = `projects/${PROJECT}/locations/us-central1/queues/stepgate`;
const SERVICE_ACCOUNT = `functions@${PROJECT}.iam.gserviceaccount.com`;

/** Where the cases' Firestore projects come from (the emulator: test/support/firestore-emulator.ts). */
export interface FirestoreSource {
  client(projectId: string): Firestore;
  freshProject(): string;
}

/** One case, as the functions, the stand-ins and the receiver reach it while it runs. */
interface CaseRun {
  /** The case's segment of the callback URLs. */
  key: string;
  ir: IrWorkflow;
  c: ScenarioCase;
  runId: string;
  clock: VirtualClock;
  ports: GcpPorts;
  tools: ToolInvoker;
  notifier: Notifier;
  interpreter?: GcpInterpreter;
  /** Callback answers waiting for a quiet moment (see runCaseGcp). */
  answers: Array<() => void>;
  /** Task deliveries under way. */
  inflight: number;
  /** Task names created (Cloud Tasks refuses a second one). */
  taskNames: Set<string>;
  /** What went wrong outside the workflow's sight (a function's refusal or failure). */
  problems: string[];
  runEnd?: GcpRunEndBody;
  /** The approvers' link emails (approval-request's notifier). */
  approverEmails: NotifyRequest[];
  stopped?: 'cancelled' | 'timed_out';
}

export interface GcpFunctionsBench {
  /** Runs one case through the functions; cases run one at a time. */
  runCase(ir: IrWorkflow, scenario: Scenario, c: ScenarioCase): Promise<Observation>;
  /** Every HTTP request the functions' servers answered, by function (a test checks they were used). */
  calls: Record<string, number>;
  close(): Promise<void>;
}

/** The case running now; the functions, stand-ins and receiver work for it. */
interface Current {
  run?: CaseRun;
}

function active(current: Current): CaseRun {
  if (current.run === undefined) throw new Error('no conformance case is running');
  return current.run;
}

/** Starts the functions, the Cloud Tasks stand-in and the callback receiver (once per test file). */
export async function startGcpFunctionsBench(firestore: FirestoreSource): Promise<GcpFunctionsBench> {
  const current: Current = {};
  const calls: Record<string, number> = {};
  const receiver = await startReceiver(current);
  const google = await startGoogleFake([
    'POST /v2/projects/:project/locations/:location/queues/:queue/tasks',
    (request) => createTask(active(current), request),
  ]);
  // Registered before the servers exist (getTestServer serves what is registered); the deps are built on
  // each function's first request, once `shared` is set.
  const late: { shared?: Shared } = {};
  registerGcpFunctions((name) => {
    if (late.shared === undefined) throw new Error('the bench is still starting');
    return functionDeps(name, current, late.shared);
  });
  const servers = await serveFunctions(FUNCTION_NAMES, calls);
  const config = benchConfig(servers.url, receiver.base, google.url);
  const queue = new CloudTasksQueue({
    client: new CloudTasksClient(
      google.gaxOptions() as unknown as ConstructorParameters<typeof CloudTasksClient>[0],
    ),
    queue: QUEUE,
    workerUrl: servers.url('worker'),
    serviceAccount: SERVICE_ACCOUNT,
    now: () => active(current).clock.now(),
  });
  const poster = new CallbackPoster({ token: async () => FUNCTIONS_TOKEN }, receiver.base);
  const host = caseHost(current);
  const shared = { config, queue, poster, host };
  late.shared = shared;
  const clients = {
    kms: new KeyManagementServiceClient(
      google.gaxOptions() as unknown as ConstructorParameters<typeof KeyManagementServiceClient>[0],
    ),
    storage: new Storage({ projectId: PROJECT, apiEndpoint: google.url }),
  };
  const secret = new Uint8Array(32).fill(7);
  const functions = functionUrlsOf(servers.url);
  const bench = { ...shared, clients, secret, firestore, functions, receiver: receiver.base };
  let queued: Promise<unknown> = Promise.resolve();
  return {
    calls,
    // One case at a time: a case a test gave up on (its timeout) finishes before the next one starts.
    runCase: (ir, scenario, c) => {
      const next = queued.then(() => runCase(bench, current, ir, scenario, c));
      queued = next.catch(() => undefined);
      return next;
    },
    close: async () => {
      await servers.close();
      await receiver.close();
      await google.close();
      await clients.kms.close();
    },
  };
}

/** The settings a deployment gives the functions, pointing at the loopback servers and the fake. */
function benchConfig(url: (name: string) => string, callbackBase: string, googleApi: string): GcpConfig {
  const functionUrls: GcpFunctionUrls = functionUrlsOf(url);
  return loadGcpConfig({
    STEPGATE_PROJECT: PROJECT,
    STEPGATE_LOCATION: 'us-central1',
    STEPGATE_KMS_KEY: `projects/${PROJECT}/locations/us-central1/keyRings/stepgate/cryptoKeys/vault`,
    STEPGATE_PLATFORM_SECRET: `projects/${PROJECT}/secrets/platform`,
    STEPGATE_EMAIL_FROM: 'stepgate@example.com',
    STEPGATE_RESULTS_BUCKET: 'stepgate-conformance-results',
    STEPGATE_TASKS_QUEUE: QUEUE,
    STEPGATE_SERVICE_ACCOUNT: SERVICE_ACCOUNT,
    STEPGATE_WORKER_URL: url('worker'),
    STEPGATE_FUNCTION_URLS: JSON.stringify(functionUrls),
    STEPGATE_CALLBACK_BASE: callbackBase,
    STEPGATE_PUBLIC_URL: 'https://stepgate.example.com',
    STEPGATE_GOOGLE_API_ENDPOINT: googleApi,
    STEPGATE_WORKFLOWS_SERVICE_ACCOUNT: `stepgate-workflows@${PROJECT}.iam.gserviceaccount.com`,
    STEPGATE_SCHEDULER_SERVICE_ACCOUNT: `stepgate-scheduler@${PROJECT}.iam.gserviceaccount.com`,
    STEPGATE_SCHEDULE_FIRE_URL: url('schedule-fire'),
  });
}

function functionUrlsOf(url: (name: string) => string): GcpFunctionUrls {
  return {
    toolCall: url('tool-call'),
    notify: url('notify'),
    approvalRequest: url('approval-request'),
    approvalClose: url('approval-close'),
    backoff: url('backoff'),
    resolveTime: url('resolve-time'),
    runEnd: url('run-end'),
  };
}

interface Shared {
  config: GcpConfig;
  queue: TaskQueue;
  poster: CallbackPoster;
  host: GcpRunHost;
}

/** What function `name` runs on: ports forwarding to the running case, its mocked services. */
function functionDeps(name: FunctionName, current: Current, shared: Shared): GcpDeps {
  const run = () => active(current);
  const approverInbox: Notifier = {
    send: async (request) => {
      run().approverEmails.push(request);
      return {};
    },
  };
  const services: GcpDeps['services'] =
    name === 'worker'
      ? {
          tools: () => ({ call: (request, context) => run().tools.call(request, context) }),
          notifier: () => ({ send: (request) => run().notifier.send(request) }),
        }
      : { notifier: () => approverInbox };
  return {
    ports: forwardingPorts(shared.config, () => run().ports),
    host: () => shared.host,
    queue: () => shared.queue,
    callbacks: () => shared.poster,
    services,
  };
}

/** GcpPorts that reach the running case's ports at each call. */
function forwardingPorts(config: GcpConfig, of: () => GcpPorts): GcpPorts {
  return {
    config,
    clock: {
      now: () => of().clock.now(),
      setTimer: (at, fire) => of().clock.setTimer(at, fire),
      clearTimer: (handle) => of().clock.clearTimer(handle),
    },
    vault: () => of().vault(),
    results: () => of().results(),
    limiter: () => of().limiter(),
    directory: () => of().directory(),
    sessions: () => of().sessions(),
    tokens: () => of().tokens(),
    workflows: () => of().workflows(),
    deliveries: () => of().deliveries(),
    audit: () => of().audit(),
    approvalStore: (key) => of().approvalStore(key),
    linkStore: () => of().linkStore(),
    schedules: () => of().schedules(),
    claims: () => of().claims(),
    platformSecret: () => of().platformSecret(),
    smtpRelayUrl: () => of().smtpRelayUrl(),
  };
}

/** The run host as the functions reach it: the running case's execution. */
function caseHost(current: Current): GcpRunHost {
  const unused = (what: string) => async (): Promise<never> => {
    throw new Error(`the conformance run host does not ${what}`);
  };
  return {
    startRun: unused('start runs'),
    cancelRun: unused('cancel runs through the API'),
    listRuns: unused('list runs'),
    audit: (runId) => active(current).ports.audit().list(runId),
    getRun: async (runId) => {
      const run = active(current);
      return runId === run.runId ? runRecord(run) : undefined;
    },
    timeOut: async (runId) => {
      const run = active(current);
      if (runId === run.runId) stop(run, 'timed_out');
    },
    recordEnd: async (body) => {
      active(current).runEnd = body;
    },
  };
}

/** The case's run as the host reports it (the approval service asks whether it still runs). */
function runRecord(run: CaseRun): RunRecord {
  const running = run.interpreter?.running === true;
  return {
    id: run.runId,
    workflowId: run.ir.id,
    status: running ? 'running' : (run.stopped ?? 'completed'),
    trigger: {
      type: 'manual',
      user: { email: 'conformance@example.com', role: 'member', groups: [], manager: null },
    },
    input: {},
    createdAt: 0,
    endedAt: running ? null : run.clock.now(),
    outcome: null,
  };
}

/** The execution cancel API: the run stopped as timed out or cancelled (once). */
function stop(run: CaseRun, status: 'cancelled' | 'timed_out'): void {
  const running = run.interpreter;
  if (running === undefined || !running.running || run.stopped !== undefined) return;
  run.stopped = status;
  running.cancel();
}

/** Cloud Tasks' createTask: a task due now is delivered at once, a later one at its time on the clock. */
function createTask(run: CaseRun, request: FakeRequest) {
  const { task } = request.body as {
    task: { name: string; scheduleTime?: string; httpRequest: { url: string; body?: string } };
  };
  if (run.taskNames.has(task.name))
    return { status: 409, body: { error: { code: 409, message: 'task exists', status: 'ALREADY_EXISTS' } } };
  run.taskNames.add(task.name);
  const body = Buffer.from(task.httpRequest.body ?? '', 'base64').toString('utf8');
  const at = task.scheduleTime === undefined ? run.clock.now() : Date.parse(task.scheduleTime);
  const deliver = () => deliverTask(run, task.httpRequest.url, body);
  if (at <= run.clock.now()) deliver();
  else run.clock.setTimer(at, deliver);
  return { body: { ...task, dispatchCount: 0 } };
}

/** One delivery to the worker, counted in flight until it answered; anything but 2xx is a problem. */
function deliverTask(run: CaseRun, url: string, body: string): void {
  run.inflight++;
  void fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${OIDC_TOKEN}` },
    body,
  })
    .then(async (answer) => {
      const text = await answer.text();
      if (!answer.ok) run.problems.push(`the worker answered ${answer.status} to ${body}: ${text}`);
    })
    .catch((error: unknown) => run.problems.push(`the worker could not be reached: ${String(error)}`))
    .finally(() => {
      run.inflight--;
    });
}

/** Reads a request's body as text. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The Workflows callback endpoints: a POST with the functions' bearer token to a callback URL of the
 * running case is queued for the interpreter (401 without the token, 404 once the execution has ended or
 * for another case's URL).
 */
async function startReceiver(current: Current): Promise<{ base: string; close(): Promise<void> }> {
  let origin = '';
  const server: Server = createServer((req, res) => {
    void readBody(req).then((text) => {
      const answer = (status: number) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      if (req.headers.authorization !== `Bearer ${FUNCTIONS_TOKEN}`) return answer(401);
      const run = current.run;
      const url = `${origin}${req.url ?? '/'}`;
      const interpreter = run?.interpreter;
      if (
        run === undefined ||
        interpreter === undefined ||
        !url.startsWith(`${origin}/callbacks/${run.key}/`)
      )
        return answer(404);
      if (!interpreter.running) return answer(404);
      const body = JSON.parse(text || 'null') as GcpValue;
      run.answers.push(() => interpreter.deliver(url, body));
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base: `${origin}/callbacks/`, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Each registered function on a functions-framework server of its own, on a free loopback port. */
async function serveFunctions(
  names: readonly string[],
  calls: Record<string, number>,
): Promise<{ url(name: string): string; close(): Promise<void> }> {
  const servers = new Map<string, { server: Server; url: string }>();
  for (const name of names) {
    const server = getTestServer(name);
    server.on('request', () => {
      calls[name] = (calls[name] ?? 0) + 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.set(name, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
  }
  return {
    url: (name) => {
      const found = servers.get(name);
      if (found === undefined) throw new Error(`no function ${name} is served`);
      return found.url;
    },
    close: async () => {
      for (const { server } of servers.values()) await closeServer(server);
    },
  };
}

interface Bench extends Shared {
  clients: { kms: KeyManagementServiceClient; storage: Storage };
  secret: Uint8Array;
  firestore: FirestoreSource;
  functions: GcpFunctionUrls;
  receiver: string;
}

let cases = 0;

/** The case's run: a fresh Firestore project, the Firestore ports on its clock, the scenario's mocks. */
function caseRun(bench: Bench, ir: IrWorkflow, scenario: Scenario, c: ScenarioCase) {
  const clock = new VirtualClock();
  const mocks = scenarioMocks(scenario, c, clock);
  const db = bench.firestore.client(bench.firestore.freshProject());
  const ports: GcpPorts = {
    ...firestorePorts(bench.config, { firestore: db, clock, ...bench.clients }),
    directory: () => readOnlyDirectory(mocks.directory),
    platformSecret: async () => bench.secret,
    smtpRelayUrl: async () => undefined,
  };
  const run: CaseRun = {
    key: `case-${++cases}`,
    ir,
    c,
    runId: `run-${slug(c.name)}`,
    clock,
    ports,
    tools: mocks.tools,
    notifier: mocks.notifier,
    answers: [],
    inflight: 0,
    taskNames: new Set(),
    problems: [],
    approverEmails: [],
  };
  return { run, db, mocks };
}

/** The scenario's directory as the ports give it: the admin side is not part of a scenario. */
function readOnlyDirectory(directory: Directory): Directory & AdminDirectory {
  const refuse = async (): Promise<never> => {
    throw new Error('the scenario directory is read-only');
  };
  return {
    user: (email) => directory.user(email),
    resolve: (spec) => directory.resolve(spec),
    listUsers: refuse,
    getUser: refuse,
    upsertUser: refuse,
    deleteUser: refuse,
    setPassword: refuse,
    verifyPassword: refuse,
  };
}

/** The approval service the scenario's decisions go through: the API's, posting outcomes to callbacks. */
async function decisions(bench: Bench, run: CaseRun): Promise<ApprovalService> {
  const keys = await platformKeys(run.ports);
  return gcpApprovals(run.ports, {
    keys,
    deciding: { host: () => bench.host, callbacks: () => bench.poster },
  }).approvals;
}

async function runCase(
  bench: Bench,
  current: Current,
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
): Promise<Observation> {
  const { run, db, mocks } = caseRun(bench, ir, scenario, c);
  current.run = run;
  const approvals = await decisions(bench, run);
  try {
    return await execute(bench, run, approvals, scenario, mocks);
  } finally {
    // Work still under way as the execution ended (a decision, a late delivery) finishes before the next case.
    while (run.inflight > 0 || approvals.pending() > 0)
      await new Promise((resolve) => setTimeout(resolve, 1));
    current.run = undefined;
    await db.terminate();
  }
}

/** Waits until every delivery under way has answered or sleeps on the clock (a mock's answer time). */
async function settle(run: CaseRun): Promise<void> {
  while (run.inflight > run.clock.sleeping) await new Promise((resolve) => setImmediate(resolve));
}

/** The workflow's http.post: a real POST to the function; a non-2xx answer fails the case. */
function httpRoute(run: CaseRun) {
  return async (url: string, body: GcpValue): Promise<GcpValue> => {
    const answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OIDC_TOKEN}` },
      body: JSON.stringify(body),
    });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`the function ${url} answered ${answer.status}: ${text}`);
    await settle(run);
    return JSON.parse(text) as GcpValue;
  };
}

async function execute(
  bench: Bench,
  run: CaseRun,
  approvals: ApprovalService,
  scenario: Scenario,
  mocks: ReturnType<typeof scenarioMocks>,
): Promise<Observation> {
  const { ir, c, clock, runId } = run;
  const { path, onStep } = stepWatcher(run, approvals);
  const doc = parse(emitGcpWorkflows(ir, { reportEnd: true })) as ConstructorParameters<
    typeof GcpInterpreter
  >[0];
  const running = new GcpInterpreter(
    doc,
    { clock, http: httpRoute(run), onStep, callbackUrl: (_e, n) => `${bench.receiver}${run.key}/${n}` },
    `executions/${runId}`,
  );
  run.interpreter = running;
  const argument = gcpExecutionArgument(
    {
      runId,
      workflowId: ir.id,
      input: caseInput(ir, c),
      trigger: { type: c.trigger ?? 'manual', user: identityFor(scenario, c.as) },
    },
    clock.now(),
    bench.functions,
  );
  if (ir.timeoutMs !== null) await scheduleRunTimeout(bench.queue, runId, clock.now() + ir.timeoutMs);
  if (c.cancel !== undefined)
    clock.setTimer(clock.now() + durationMs(c.cancel.after), () => stop(run, 'cancelled'));
  const execution = running.execute(argument as GcpValue);
  await clock.run(quietness(run, running, approvals), clock.now() + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
  const result = await execution;
  const { status, error, vars } = outcomeOf(result, running, run.stopped, RUN_ROUTINE);
  checkRunEnd(run, result.state === 'cancelled' ? undefined : { status, error, vars });
  if (run.problems.length > 0)
    throw new Error(`case '${c.name}' on the GCP functions: ${run.problems.join('; ')}`);
  const approvalsSeen: Record<string, JsonValue> = {};
  for (const [step, output] of approvalOutputs(ir)) {
    const value = vars[output];
    if (value !== undefined) approvalsSeen[step] = value;
  }
  const { toolCalls, notifications } = mocks;
  return { status, path, toolCalls, approvals: approvalsSeen, notifications, vars, error };
}

/** The engine's pending work for the clock: the interpreter, deliveries and decisions; answers one at a time. */
function quietness(run: CaseRun, running: GcpInterpreter, approvals: ApprovalService) {
  return {
    pending: (): number => {
      const busy = running.pending() + run.inflight + approvals.pending();
      if (busy > run.clock.sleeping) return busy;
      const next = run.answers.shift();
      next?.();
      return next === undefined ? busy : run.clock.sleeping + 1;
    },
  };
}

/** An execution that returned posted its outcome to run-end first: the same outcome the status API reads. */
function checkRunEnd(run: CaseRun, outcome: GcpRunEndBody['outcome'] | undefined): void {
  if (outcome === undefined) return;
  if (run.runEnd === undefined) {
    run.problems.push('the execution ended without posting its outcome to run-end');
    return;
  }
  const reported = JSON.stringify({ runId: run.runEnd.runId, status: run.runEnd.outcome.status });
  const expected = JSON.stringify({ runId: run.runId, status: outcome.status });
  if (reported !== expected)
    run.problems.push(`run-end reported ${reported}, the execution ended ${expected}`);
}
