// A stand-in for the Google Cloud Workflows and Workflow Executions REST APIs (there is no emulator), built
// on the recording fake (test/support/google-fake.ts): the client libraries' requests are kept exactly as
// sent (`requests`), and what they ask for really happens. A deployed workflow's `sourceContents` is checked
// against the official Workflows JSON schema (INVALID_ARGUMENT naming the errors otherwise); a created
// execution runs that source in the GCP oracle interpreter (testing/gcp-oracle/interpreter.ts) on a real
// clock (SystemClock unless the test gives one), where:
// - `http.post` is a real HTTP POST (JSON), with `Authorization: Bearer <OIDC stand-in>` for `auth: OIDC`
//   (oidcToken: an unsigned JWT naming the workflow's service account and the URL as audience, which
//   readOidcToken decodes); a non-2xx answer raises GCP's HttpError map, a refused connection its
//   ConnectionError;
// - `events.create_callback_endpoint` answers a URL on the stand-in shaped as GCP's
//   (`<url>/v1/<execution name>/callbacks/<n>`): a POST with a bearer token delivers its JSON body to the
//   step awaiting it (or queues it), 401 without a token, 404 once the execution has ended;
// - the execution's state is GCP's (ACTIVE, SUCCEEDED, FAILED, CANCELLED) with `result` and
//   `error.payload` as JSON strings; `:cancel` cancels an ACTIVE execution (FAILED_PRECONDITION otherwise);
// - `GET <execution>/stepEntries` lists the steps run (routine, step, stepType, state, exception), paged
//   by `pageSize` / `pageToken`, as the v1 REST API does.
// Create, update and delete of a workflow are long-running operations that are done on the first poll
// (`operations.get`), so the client's polling is exercised. An update that changes the source or the
// service account makes a new revision (`000002-…`); an execution runs the revision current when it was
// created. Deleting a workflow cancels its active executions (the stand-in's choice: GCP documents that
// deleting a workflow deletes its executions).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { WorkflowsClient } from '@google-cloud/workflows';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { SystemClock } from '../../adapters/local/clock.js';
import type { Clock } from '../../functions/core/ports.js';
import {
  type ExecutionResult,
  GcpInterpreter,
  GcpRaise,
  type GcpValue,
  type HttpRoute,
  type StepWhere,
} from '../../testing/gcp-oracle/interpreter.js';
import {
  type FakeAnswer,
  type FakeRequest,
  type FakeRoute,
  type GoogleFake,
  startGoogleFake,
} from './google-fake.js';

type ClientOptions = NonNullable<ConstructorParameters<typeof WorkflowsClient>[0]>;
type Doc = ConstructorParameters<typeof GcpInterpreter>[0];

const SCHEMA = '/work/shared/reference/gcp-workflows/workflows.schema.json';
const WORKFLOW_ID = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export interface EmulatedWorkflow {
  name: string;
  sourceContents: string;
  serviceAccount: string;
  labels: Record<string, string>;
  description: string;
  revisionId: string;
  revisions: number;
  createTime: string;
  updateTime: string;
}

export interface StepEntry {
  name: string;
  createTime: string;
  updateTime: string;
  routine: string;
  step: string;
  stepType: string;
  state: 'STATE_IN_PROGRESS' | 'STATE_SUCCEEDED' | 'STATE_FAILED';
  entryId: string;
  exception?: { payload: string };
}

export interface EmulatedExecution {
  name: string;
  workflow: string;
  revisionId: string;
  argument: string;
  state: 'ACTIVE' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  result?: string;
  error?: { payload: string; context: string };
  startTime: string;
  endTime?: string;
  steps: StepEntry[];
  interpreter: GcpInterpreter;
  /** Resolves once the execution has ended (however it ended). */
  ended: Promise<void>;
}

export interface WorkflowsEmulator {
  /** `http://127.0.0.1:<port>`: the endpoint of both APIs, and of the callback URLs. */
  url: string;
  requests: FakeRequest[];
  /** Answers the next request whose `METHOD path` matches with `answer` instead (a failure, say). */
  failNext(match: RegExp, answer: FakeAnswer): void;
  /** Options for a WorkflowsClient or an ExecutionsClient that make it talk to the stand-in. */
  clientOptions(): ClientOptions;
  workflow(name: string): EmulatedWorkflow | undefined;
  execution(name: string): EmulatedExecution | undefined;
  executions(): EmulatedExecution[];
  close(): Promise<void>;
}

/** The OIDC stand-in the workflow's `http.post` calls carry: an unsigned JWT (`alg: none`). */
export function oidcToken(serviceAccount: string, audience: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: 'https://accounts.google.com',
    aud: audience,
    email: serviceAccount,
    email_verified: true,
    sub: serviceAccount,
    iat: now,
    exp: now + 3600,
  };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** The claims of an oidcToken (undefined for anything else). */
export function readOidcToken(token: string): { aud: string; email: string } | undefined {
  const [, claims] = token.split('.');
  try {
    const parsed = JSON.parse(Buffer.from(claims ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    return typeof parsed.aud === 'string' && typeof parsed.email === 'string'
      ? { aud: parsed.aud, email: parsed.email }
      : undefined;
  } catch {
    return undefined;
  }
}

function googleError(status: number, code: string, message: string): FakeAnswer {
  return { status, body: { error: { code: status, message, status: code } } };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** GCP's step type of a step body. */
function stepType(body: Readonly<Record<string, unknown>>): string {
  if (body.assign !== undefined) return 'STEP_ASSIGN';
  if (typeof body.call === 'string')
    return /^(http|sys|events)\./.test(body.call) ? 'STEP_STD_LIB_CALL' : 'STEP_SUBWORKFLOW_CALL';
  if (body.switch !== undefined) return 'STEP_SWITCH';
  if (body.try !== undefined) return 'STEP_TRY_RETRY_EXCEPT';
  if (body.raise !== undefined) return 'STEP_RAISE';
  if (body.return !== undefined) return 'STEP_RETURN';
  if (body.parallel !== undefined) return 'STEP_PARALLEL_BRANCH';
  if (body.next !== undefined && Object.keys(body).length === 1) return 'STEP_GOTO';
  return 'STEP_TYPE_UNSPECIFIED';
}

/** The interpreter's http.post: a real request, failures raised as GCP raises them. */
function httpPost(serviceAccount: () => string): HttpRoute {
  return async (url, body, call) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = call.auth as { type?: unknown } | null;
    if (auth?.type === 'OIDC') {
      const target = new URL(url);
      headers.authorization = `Bearer ${oidcToken(serviceAccount(), `${target.origin}${target.pathname}`)}`;
    }
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    } catch (error) {
      throw new GcpRaise({
        message: `connection to ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
        tags: ['ConnectionFailedError', 'ConnectionError'],
      });
    }
    const text = await response.text();
    let parsed: GcpValue = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '')
      parsed = JSON.parse(text) as GcpValue;
    if (!response.ok)
      throw new GcpRaise({
        code: response.status,
        message: `HTTP server responded with error code ${response.status}`,
        body: parsed,
        headers: Object.fromEntries(response.headers),
        tags: ['HttpError'],
      });
    return parsed;
  };
}

class Emulator {
  readonly workflows = new Map<string, EmulatedWorkflow>();
  readonly executions = new Map<string, EmulatedExecution>();
  private readonly operations = new Map<string, { response: Record<string, unknown> }>();
  private readonly validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
    JSON.parse(readFileSync(SCHEMA, 'utf8')) as object,
  );

  constructor(
    readonly url: () => string,
    private readonly clock: Clock,
  ) {}

  /** A long-running operation, done on its first poll, answering `response`. */
  private operation(parent: string, verb: string, response: Record<string, unknown>): FakeAnswer {
    const name = `${parent}/operations/operation-${randomUUID()}`;
    this.operations.set(name, { response });
    const metadata = {
      '@type': 'type.googleapis.com/google.cloud.workflows.v1.OperationMetadata',
      createTime: iso(this.clock.now()),
      verb,
      apiVersion: 'v1',
    };
    return { body: { name, metadata, done: false } };
  }

  getOperation(name: string): FakeAnswer {
    const op = this.operations.get(name);
    if (op === undefined) return googleError(404, 'NOT_FOUND', `operation ${name} not found`);
    return { body: { name, done: true, response: op.response } };
  }

  /** The source's problems (YAML, the official schema), or undefined when it deploys. */
  private sourceError(source: unknown): string | undefined {
    if (typeof source !== 'string' || source === '') return 'sourceContents is required';
    let doc: unknown;
    try {
      doc = parse(source);
    } catch (error) {
      return `sourceContents is not YAML: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!this.validate(doc))
      return `sourceContents is not a valid workflow: ${JSON.stringify(this.validate.errors?.slice(0, 5))}`;
    return undefined;
  }

  private workflowJson(w: EmulatedWorkflow): Record<string, unknown> {
    const { revisions: _r, ...rest } = w;
    return {
      '@type': 'type.googleapis.com/google.cloud.workflows.v1.Workflow',
      ...rest,
      state: 'ACTIVE',
      revisionCreateTime: w.updateTime,
    };
  }

  create(request: FakeRequest, parent: string): FakeAnswer {
    const id = request.query.workflowId ?? '';
    if (!WORKFLOW_ID.test(id))
      return googleError(400, 'INVALID_ARGUMENT', `workflow_id '${id}' is not a valid workflow id`);
    const name = `${parent}/workflows/${id}`;
    if (this.workflows.has(name))
      return googleError(409, 'ALREADY_EXISTS', `Resource '${name}' already exists`);
    const body = (request.body ?? {}) as Partial<EmulatedWorkflow>;
    const problem = this.sourceError(body.sourceContents);
    if (problem !== undefined) return googleError(400, 'INVALID_ARGUMENT', problem);
    const now = iso(this.clock.now());
    const workflow: EmulatedWorkflow = {
      name,
      sourceContents: body.sourceContents as string,
      serviceAccount: body.serviceAccount ?? 'default-compute@developer.gserviceaccount.com',
      labels: body.labels ?? {},
      description: body.description ?? '',
      revisionId: revisionId(1),
      revisions: 1,
      createTime: now,
      updateTime: now,
    };
    this.workflows.set(name, workflow);
    return this.operation(parent, 'create', this.workflowJson(workflow));
  }

  update(request: FakeRequest, name: string, parent: string): FakeAnswer {
    const workflow = this.workflows.get(name);
    if (workflow === undefined) return googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    const body = (request.body ?? {}) as Partial<EmulatedWorkflow>;
    // The mask as the client sent it: proto (snake_case) or JSON (lowerCamelCase) field names, both taken.
    const mask = request.query.updateMask
      ?.split(',')
      .map((f) => f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
    const fields = ['sourceContents', 'serviceAccount', 'labels', 'description'] as const;
    const changed = { ...workflow };
    for (const field of fields) {
      if (mask !== undefined ? !mask.includes(field) : body[field] === undefined) continue;
      Object.assign(changed, { [field]: body[field] });
    }
    const problem = this.sourceError(changed.sourceContents);
    if (problem !== undefined) return googleError(400, 'INVALID_ARGUMENT', problem);
    if (
      changed.sourceContents !== workflow.sourceContents ||
      changed.serviceAccount !== workflow.serviceAccount
    ) {
      changed.revisions++;
      changed.revisionId = revisionId(changed.revisions);
    }
    changed.updateTime = iso(this.clock.now());
    this.workflows.set(name, changed);
    return this.operation(parent, 'update', this.workflowJson(changed));
  }

  remove(name: string, parent: string): FakeAnswer {
    if (!this.workflows.delete(name))
      return googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    for (const execution of this.executions.values())
      if (execution.workflow === name && execution.state === 'ACTIVE') this.stop(execution);
    return this.operation(parent, 'delete', { '@type': 'type.googleapis.com/google.protobuf.Empty' });
  }

  get(name: string): FakeAnswer {
    const workflow = this.workflows.get(name);
    return workflow === undefined
      ? googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`)
      : { body: this.workflowJson(workflow) };
  }

  startExecution(request: FakeRequest, workflowName: string): FakeAnswer {
    const workflow = this.workflows.get(workflowName);
    if (workflow === undefined)
      return googleError(404, 'NOT_FOUND', `Resource '${workflowName}' was not found`);
    const argument = ((request.body ?? {}) as { argument?: unknown }).argument ?? 'null';
    let parsed: GcpValue;
    try {
      parsed = JSON.parse(String(argument)) as GcpValue;
    } catch {
      return googleError(400, 'INVALID_ARGUMENT', 'argument is not JSON');
    }
    const name = `${workflowName}/executions/${randomUUID()}`;
    const execution = this.run(name, workflow, String(argument), parsed);
    return { body: executionJson(execution) };
  }

  private run(
    name: string,
    workflow: EmulatedWorkflow,
    argument: string,
    parsed: GcpValue,
  ): EmulatedExecution {
    const steps: StepEntry[] = [];
    const interpreter = new GcpInterpreter(
      parse(workflow.sourceContents) as Doc,
      {
        clock: this.clock,
        http: httpPost(() => workflow.serviceAccount),
        callbackUrl: (execution, n) => `${this.url()}/v1/${execution}/callbacks/${n}`,
        onStep: (step, where) => steps.push(this.entry(name, step, where)),
        onStepEnd: (_step, where, raised) => this.entryEnd(steps, where, raised),
      },
      name,
    );
    const execution: EmulatedExecution = {
      name,
      workflow: workflow.name,
      revisionId: workflow.revisionId,
      argument,
      state: 'ACTIVE',
      startTime: iso(this.clock.now()),
      steps,
      interpreter,
      ended: Promise.resolve(),
    };
    execution.ended = interpreter.execute(parsed).then(
      (result) => this.finish(execution, result),
      (error: unknown) =>
        this.finish(execution, { state: 'failed', error: { message: String(error), tags: [] } }),
    );
    this.executions.set(name, execution);
    return execution;
  }

  private entry(execution: string, step: string, where: StepWhere): StepEntry {
    const now = iso(this.clock.now());
    return {
      name: `${execution}/stepEntries/${where.entry}`,
      createTime: now,
      updateTime: now,
      routine: where.routine,
      step,
      stepType: stepType(where.body),
      state: 'STATE_IN_PROGRESS',
      entryId: String(where.entry),
    };
  }

  private entryEnd(steps: StepEntry[], where: StepWhere, raised: GcpValue | undefined): void {
    const entry = steps.find((s) => s.entryId === String(where.entry));
    if (entry === undefined) return;
    entry.updateTime = iso(this.clock.now());
    entry.state = raised === undefined ? 'STATE_SUCCEEDED' : 'STATE_FAILED';
    if (raised !== undefined) entry.exception = { payload: JSON.stringify(raised) };
  }

  private finish(execution: EmulatedExecution, result: ExecutionResult): void {
    if (execution.state !== 'ACTIVE') return;
    execution.endTime = iso(this.clock.now());
    if (result.state === 'succeeded') {
      execution.state = 'SUCCEEDED';
      execution.result = JSON.stringify(result.result);
    } else if (result.state === 'failed') {
      execution.state = 'FAILED';
      execution.error = { payload: JSON.stringify(result.error), context: 'the workflow raised an error' };
    } else execution.state = 'CANCELLED';
  }

  stop(execution: EmulatedExecution): void {
    execution.state = 'CANCELLED';
    execution.endTime = iso(this.clock.now());
    execution.interpreter.cancel();
  }

  cancel(name: string): FakeAnswer {
    const execution = this.executions.get(name);
    if (execution === undefined) return googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    if (execution.state !== 'ACTIVE')
      return googleError(400, 'FAILED_PRECONDITION', `execution ${name} is not active (${execution.state})`);
    this.stop(execution);
    return { body: executionJson(execution) };
  }

  getExecution(name: string): FakeAnswer {
    const execution = this.executions.get(name);
    return execution === undefined
      ? googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`)
      : { body: executionJson(execution) };
  }

  stepEntries(request: FakeRequest, name: string): FakeAnswer {
    const execution = this.executions.get(name);
    if (execution === undefined) return googleError(404, 'NOT_FOUND', `Resource '${name}' was not found`);
    const size = Math.min(Number(request.query.pageSize ?? 100) || 100, 100);
    const from = Number(request.query.pageToken ?? 0) || 0;
    const page = execution.steps.slice(from, from + size);
    const next = from + size < execution.steps.length ? { nextPageToken: String(from + size) } : {};
    return { body: { stepEntries: page, totalSize: String(execution.steps.length), ...next } };
  }

  callback(request: FakeRequest, execution: string, callback: string): FakeAnswer {
    const authorization = request.headers.authorization;
    if (typeof authorization !== 'string' || !/^Bearer \S+/.test(authorization))
      return googleError(401, 'UNAUTHENTICATED', 'the callback needs a bearer token');
    const running = this.executions.get(execution);
    const url = `${this.url()}/v1/${execution}/callbacks/${callback}`;
    if (running?.state !== 'ACTIVE' || !running.interpreter.deliver(url, (request.body ?? null) as GcpValue))
      return googleError(404, 'NOT_FOUND', `no callback ${url} is awaited`);
    return { body: {} };
  }
}

function revisionId(n: number): string {
  return `${String(n).padStart(6, '0')}-${randomUUID().slice(0, 3)}`;
}

function executionJson(e: EmulatedExecution): Record<string, unknown> {
  return {
    name: e.name,
    startTime: e.startTime,
    ...(e.endTime === undefined ? {} : { endTime: e.endTime }),
    state: e.state,
    argument: e.argument,
    ...(e.result === undefined ? {} : { result: e.result }),
    ...(e.error === undefined ? {} : { error: e.error }),
    workflowRevisionId: e.revisionId,
    callLogLevel: 'CALL_LOG_LEVEL_UNSPECIFIED',
  };
}

export async function startWorkflowsEmulator(options: { clock?: Clock } = {}): Promise<WorkflowsEmulator> {
  let fake: GoogleFake | undefined;
  const emulator = new Emulator(() => fake?.url ?? '', options.clock ?? new SystemClock());
  const loc = '/v1/projects/:p/locations/:l';
  const parentOf = (p: Record<string, string>): string => `projects/${p.p}/locations/${p.l}`;
  const workflowOf = (p: Record<string, string>): string => `${parentOf(p)}/workflows/${p.w}`;
  const executionOf = (p: Record<string, string>): string => `${workflowOf(p)}/executions/${p.e}`;
  const failures: Array<{ match: RegExp; answer: FakeAnswer }> = [];
  const failed = (request: FakeRequest): FakeAnswer | undefined => {
    const index = failures.findIndex((f) => f.match.test(`${request.method} ${request.path}`));
    return index === -1 ? undefined : failures.splice(index, 1)[0]?.answer;
  };
  const routes: FakeRoute[] = [
    [`GET ${loc}/operations/:op`, (_r, p) => emulator.getOperation(`${parentOf(p)}/operations/${p.op}`)],
    [`POST ${loc}/workflows`, (r, p) => emulator.create(r, parentOf(p))],
    [`PATCH ${loc}/workflows/:w`, (r, p) => emulator.update(r, workflowOf(p), parentOf(p))],
    [`DELETE ${loc}/workflows/:w`, (_r, p) => emulator.remove(workflowOf(p), parentOf(p))],
    [`GET ${loc}/workflows/:w`, (_r, p) => emulator.get(workflowOf(p))],
    [`POST ${loc}/workflows/:w/executions`, (r, p) => emulator.startExecution(r, workflowOf(p))],
    [`GET ${loc}/workflows/:w/executions/:e`, (_r, p) => emulator.getExecution(executionOf(p))],
    [`POST ${loc}/workflows/:w/executions/:e:cancel`, (_r, p) => emulator.cancel(executionOf(p))],
    [`GET ${loc}/workflows/:w/executions/:e/stepEntries`, (r, p) => emulator.stepEntries(r, executionOf(p))],
    [
      `POST ${loc}/workflows/:w/executions/:e/callbacks/:c`,
      (r, p) => emulator.callback(r, executionOf(p), p.c ?? ''),
    ],
  ];
  fake = await startGoogleFake(
    ...routes.map(([match, answer]): FakeRoute => [match, (r, p) => failed(r) ?? answer(r, p)]),
  );
  const started = fake;
  return {
    url: started.url,
    requests: started.requests,
    failNext: (match, answer) => void failures.push({ match, answer }),
    clientOptions: () => started.gaxOptions() as unknown as ClientOptions,
    workflow: (name) => emulator.workflows.get(name),
    execution: (name) => emulator.executions.get(name),
    executions: () => [...emulator.executions.values()],
    close: async () => {
      for (const execution of emulator.executions.values())
        if (execution.state === 'ACTIVE') emulator.stop(execution);
      await Promise.all([...emulator.executions.values()].map((e) => e.ended));
      await started.close();
    },
  };
}
