// The AWS deployment of Stepgate on loopback, for the end-to-end tests: what `cdk deploy` creates, played by
// two moto servers and the esbuild-bundled Lambdas (scripts/bundle-lambdas.ts), run in this process.
//
// - One moto for DynamoDB, KMS, S3, SES v2, Secrets Manager and Scheduler; the stack's resources are created
//   there as the stack would (the table, a KMS key, the results bucket, the link secret of 64 hex digits,
//   the sender's SES identity, the schedule group).
// - One moto for Step Functions with its interpreter on (LocalStack's): it runs one execution per server
//   until reset, so `resetStepFunctions` resets it (and re-sends the config) before each case. It is started
//   with MOTO_PORT set to the port of a front (test/support/moto-front.ts), where the interpreter invokes
//   Lambda: `POST /2015-03-31/functions/<name>/invocations` is answered by running the bundled handler
//   (dist-lambda/<name>/index.mjs) as the Lambda Invoke API does, every other request goes to moto. The
//   Lambdas reach Step Functions through the same front (AWS_ENDPOINT_URL_SFN) and the rest through
//   AWS_ENDPOINT_URL, the SDK's own endpoint settings; their settings are config.ts's ENV variables.
// - moto's SendTaskFailure drops `cause` (moto/stepfunctions/responses.py passes only `error` to a backend
//   that takes both). AWS passes it: https://docs.aws.amazon.com/step-functions/latest/apireference/
//   API_SendTaskFailure.html (request: taskToken, error, cause — "A more detailed explanation of the cause
//   of the failure"), and the compiled reject path reads the Cause. The Step Functions moto is served with
//   that emulator bug fixed (EMULATOR_FIXES): the response handler passes `cause` on, nothing else changes.
// - moto's StopExecution only signals the interpreter, which notices between states: an execution waiting
//   on a task token stays RUNNING until the Task times out. On AWS the execution is ABORTED when
//   StopExecution answers (https://docs.aws.amazon.com/step-functions/latest/apireference/
//   API_StopExecution.html: "Stops an execution"; its response carries the stopDate). EMULATOR_FIXES also
//   marks a running execution ABORTED, with that stop date, when it is stopped; the interpreter's own end
//   of it, later, leaves it ABORTED.
// - moto sometimes answers GetExecutionHistory with a 500 just after a parallel's execution ended; the
//   front asks again (historyRetryRoute, a read) and counts it in `historyRetries`.
// - The setup Lambda runs once at the start, as the stack's deploy-time Trigger runs it: the templates'
//   state machines and the first admin (ADMIN, the password in Secrets Manager).
// - EventBridge does not run here: `settle` waits until DescribeExecution shows the end, then delivers the
//   "Step Functions Execution Status Change" event EventBridge would to the run-status Lambda.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateScheduleGroupCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { createTable, openTable, type Table } from '../../adapters/aws/table.js';
import { ENV, LAMBDA_NAMES, type LambdaName } from '../../functions/aws/config.js';
import { bundleLambdas } from '../../scripts/bundle-lambdas.js';
import { MOTO_CLIENT, type Moto, startMoto } from './moto.js';
import {
  type FrontRoute,
  type MotoFront,
  sfnAction,
  startMotoFront,
  startOnVersionRoute,
  validateDefinitionRoute,
} from './moto-front.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const ACCOUNT = '123456789012';
export const FUNCTION_PREFIX = 'stepgate-';
export const STATE_MACHINE_PREFIX = 'stepgate-';
export const STATE_MACHINE_ROLE = `arn:aws:iam::${ACCOUNT}:role/stepgate-state-machines`;
export const SCHEDULE_GROUP = 'stepgate';
export const EMAIL_FROM = 'stepgate@example.com';
export const PUBLIC_URL = 'https://stepgate.example.com';
/** The first admin the stack names (the setup Lambda creates them with the password in Secrets Manager). */
export const ADMIN = { email: 'admin@example.com', password: randomBytes(12).toString('base64url') };

/** The ARN the stack gives the Lambda `name`. */
export const functionArn = (name: LambdaName): string =>
  `arn:aws:lambda:${MOTO_CLIENT.region}:${ACCOUNT}:function:${FUNCTION_PREFIX}${name}`;

/** moto's SendTaskFailure handler with `cause` passed on, and StopExecution taking effect at once (see the header). */
const EMULATOR_FIXES = `
from moto.core.responses import EmptyResult
from moto.stepfunctions.responses import StepFunctionResponse
def _send_task_failure(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"))
    return EmptyResult()
StepFunctionResponse.send_task_failure = _send_task_failure

from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.backend.execution import Execution
_signal_stop = Execution.stop
def _stop(self, stop_date, error, cause):
    _signal_stop(self, stop_date=stop_date, error=error, cause=cause)
    if self.exec_status == ExecutionStatus.RUNNING:
        self.exec_status = ExecutionStatus.ABORTED
        self.stop_date = stop_date
Execution.stop = _stop
`;

/** A Lambda invocation as the front saw it, with what the handler answered. */
export interface Invocation {
  name: LambdaName;
  event: unknown;
  result: { ok: true; payload: unknown } | { ok: false; errorType: string; errorMessage: string };
}

export interface AwsStackOptions {
  /** STEPGATE_MCP_SERVERS: the Streamable HTTP servers, by name. */
  mcpServers?: Record<string, { url: string }>;
  /** STEPGATE_POLICY and STEPGATE_LIMITS, as JSON values. */
  policy?: unknown;
  limits?: unknown;
  /** The bundles to build (default: every entry point). */
  lambdas?: readonly LambdaName[];
}

export interface AwsStack {
  /** The moto of DynamoDB, KMS, S3, SES, Secrets Manager and Scheduler. */
  services: Moto;
  /** The front of the Step Functions moto (also where its interpreter invokes Lambda). */
  front: MotoFront;
  /**
   * The Lambdas' DynamoDB requests since the last reset, by operation (`PutItem`, `Query`, ...): they reach
   * the services' moto through a front that only counts (what a run costs in DynamoDB requests).
   */
  dynamoRequests(): Record<string, number>;
  /** Clients of the tests: the services' moto, and Step Functions through the front. */
  clients: { services: ClientConfig; sfn: ClientConfig };
  sfn: SFNClient;
  table: Table;
  /** The variables the Lambdas run with. */
  env: Record<string, string>;
  /** Every invocation so far, in order (the interpreter's and the test's). */
  invocations: Invocation[];
  /** The GetExecutionHistory requests asked again after moto answered 500 (historyRetryRoute). */
  historyRetries: string[];
  /** Invokes the bundled Lambda `name` as Lambda would; a thrown error comes back as its result. */
  invoke(name: LambdaName, event: unknown): Promise<Invocation['result']>;
  /**
   * Forgets every state machine and execution (moto's interpreter runs one execution per server), and the
   * requests and invocations recorded so far.
   */
  resetStepFunctions(): Promise<void>;
  /** Waits until the execution ends, then delivers its EventBridge status event to run-status. */
  settle(executionArn: string, options?: { timeoutMs?: number }): Promise<DescribeExecutionCommandOutput>;
  /** Waits until DescribeExecution shows `executionArn` in another status than RUNNING. */
  ended(executionArn: string, timeoutMs?: number): Promise<DescribeExecutionCommandOutput>;
  history(executionArn: string): Promise<HistoryEvent[]>;
  stop(): Promise<void>;
}

type ClientConfig = typeof MOTO_CLIENT & { endpoint: string };

/** The Lambda a front request invokes, by the function name or ARN in its path. */
function invokedLambda(url: string): LambdaName | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(url);
  if (match === null) return undefined;
  const name = decodeURIComponent(match[1] ?? '')
    .replace(/^arn:aws:lambda:[^:]+:\d+:function:/, '')
    .replace(/:[^:]+$/, '');
  const bare = name.startsWith(FUNCTION_PREFIX) ? name.slice(FUNCTION_PREFIX.length) : name;
  return (LAMBDA_NAMES as readonly string[]).includes(bare) ? (bare as LambdaName) : undefined;
}

/** A Lambda context as the Node.js runtime passes it (what middy and the handlers may read). */
function lambdaContext(name: LambdaName) {
  return {
    functionName: `${FUNCTION_PREFIX}${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn(name),
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${FUNCTION_PREFIX}${name}`,
    logStreamName: 'e2e',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Builds the bundles into a folder of their own (node_modules linked, for the runtime's @aws-sdk/*). */
async function buildBundles(
  names: readonly LambdaName[],
): Promise<{ dir: string; files: Map<LambdaName, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-lambdas-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const files = new Map<LambdaName, string>();
  for (const report of await bundleLambdas(names, dir)) files.set(report.name, report.file);
  return { dir, files };
}

interface Resources {
  kmsKeyId: string;
  secretArn: string;
  adminPasswordArn: string;
  bucket: string;
}

/** The stack's resources on the services' moto, as `cdk deploy` creates them; answers the variables. */
async function createResources(clients: ClientConfig, table: Table): Promise<Resources> {
  await createTable(table);
  const kms = new KMSClient(clients);
  const s3 = new S3Client({ ...clients, forcePathStyle: true });
  const secrets = new SecretsManagerClient(clients);
  const ses = new SESv2Client(clients);
  const scheduler = new SchedulerClient(clients);
  try {
    const key = await kms.send(new CreateKeyCommand({ Description: 'stepgate vault' }));
    const bucket = 'stepgate-results';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const secret = await secrets.send(
      new CreateSecretCommand({ Name: 'stepgate/link-key', SecretString: randomBytes(32).toString('hex') }),
    );
    const admin = await secrets.send(
      new CreateSecretCommand({ Name: 'stepgate/admin-password', SecretString: ADMIN.password }),
    );
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: EMAIL_FROM }));
    await scheduler.send(new CreateScheduleGroupCommand({ Name: SCHEDULE_GROUP }));
    return {
      kmsKeyId: key.KeyMetadata?.KeyId ?? '',
      secretArn: secret.ARN ?? '',
      adminPasswordArn: admin.ARN ?? '',
      bucket,
    };
  } finally {
    for (const client of [kms, s3, secrets, ses, scheduler]) client.destroy();
  }
}

/** The Lambdas' environment, config.ts's variables as the stack sets them. */
function lambdaEnv(
  options: AwsStackOptions,
  endpoints: { services: string; sfn: string },
  made: Resources,
): Record<string, string> {
  return {
    AWS_REGION: MOTO_CLIENT.region,
    AWS_ACCESS_KEY_ID: MOTO_CLIENT.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CLIENT.credentials.secretAccessKey,
    AWS_ENDPOINT_URL: endpoints.services,
    AWS_ENDPOINT_URL_SFN: endpoints.sfn,
    // A Lambda invoking another (run-status → approval-close) reaches the front too.
    AWS_ENDPOINT_URL_LAMBDA: endpoints.sfn,
    [ENV.table]: 'stepgate',
    [ENV.kmsKeyId]: made.kmsKeyId,
    [ENV.resultsBucket]: made.bucket,
    [ENV.publicUrl]: PUBLIC_URL,
    [ENV.linkSecretArn]: made.secretArn,
    [ENV.emailFrom]: EMAIL_FROM,
    [ENV.mcpServers]: JSON.stringify(options.mcpServers ?? {}),
    [ENV.policy]: JSON.stringify(options.policy ?? {}),
    ...(options.limits === undefined ? {} : { [ENV.limits]: JSON.stringify(options.limits) }),
    [ENV.toolCallFunctionArn]: functionArn('tool-call'),
    [ENV.notifyFunctionArn]: functionArn('notify'),
    [ENV.approvalRequestFunctionArn]: functionArn('approval-request'),
    [ENV.quorumFunctionArn]: functionArn('quorum'),
    [ENV.approvalCloseFunctionArn]: functionArn('approval-close'),
    [ENV.stateMachinePrefix]: STATE_MACHINE_PREFIX,
    [ENV.stateMachineRoleArn]: STATE_MACHINE_ROLE,
    [ENV.scheduleGroup]: SCHEDULE_GROUP,
    [ENV.schedulerRoleArn]: `arn:aws:iam::${ACCOUNT}:role/stepgate-scheduler`,
    [ENV.scheduleFireFunctionArn]: functionArn('schedule-fire'),
    [ENV.adminEmail]: ADMIN.email,
    [ENV.adminPasswordArn]: made.adminPasswordArn,
  };
}

/** Sets `vars` in this process's environment; answers how to put back what was there. */
function setEnv(vars: Record<string, string>): () => void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Invoke = (name: LambdaName, event: unknown) => Promise<Invocation['result']>;

/** Runs the bundled handlers as Lambda does (one module per function, loaded once); records each call. */
function lambdaInvoker(files: Map<LambdaName, string>, invocations: Invocation[]): Invoke {
  const handlers = new Map<LambdaName, Handler>();
  return async (name, event) => {
    let handler = handlers.get(name);
    if (handler === undefined) {
      const file = files.get(name);
      if (file === undefined || !existsSync(file)) throw new Error(`the ${name} Lambda was not bundled`);
      handler = ((await import(pathToFileURL(file).href)) as { handler: Handler }).handler;
      handlers.set(name, handler);
    }
    let result: Invocation['result'];
    try {
      // Lambda serialises the answer as JSON; a handler's undefined arrives as null.
      result = {
        ok: true,
        payload: JSON.parse(JSON.stringify((await handler(event, lambdaContext(name))) ?? null)),
      };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      result = { ok: false, errorType: e.name, errorMessage: e.message };
    }
    invocations.push({ name, event, result });
    return result;
  };
}

/** The front's answer to `POST /2015-03-31/functions/<name>/invocations`: the Invoke API's (RequestResponse). */
function lambdaRoute(invoke: Invoke): FrontRoute {
  return async (request) => {
    if (request.method !== 'POST' || !request.url.startsWith('/2015-03-31/functions/')) return undefined;
    const name = invokedLambda(request.url);
    if (name === undefined)
      return {
        status: 404,
        body: JSON.stringify({ Type: 'User', message: `Function not found: ${request.url}` }),
      };
    const text = request.body.toString('utf8');
    const result = await invoke(name, text === '' ? {} : JSON.parse(text));
    // 200 and the payload; a function error is still 200, with X-Amz-Function-Error: Unhandled and the
    // runtime's error object ({errorType, errorMessage, trace}) as the payload.
    const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' };
    if (result.ok) return { status: 200, headers, body: JSON.stringify(result.payload) };
    return {
      status: 200,
      headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
      body: JSON.stringify({ errorType: result.errorType, errorMessage: result.errorMessage, trace: [] }),
    };
  };
}

/**
 * GetExecutionHistory passed to moto, asked again (up to 3 times) while moto answers 500. moto's interpreter
 * sometimes fails it (an HTML error page) just after a `require: N` parallel's execution ended, while the
 * branch it cancelled is still winding down in another thread; AWS answers the history of an ended
 * execution. A read changes nothing, so asking again is safe; each repeated request is counted.
 */
function historyRetryRoute(upstream: () => string, retried: string[]): FrontRoute {
  return async (request) => {
    if (sfnAction(request) !== 'GetExecutionHistory') return undefined;
    for (let attempt = 1; ; attempt++) {
      const answer = await fetch(`${upstream()}${request.url}`, {
        method: 'POST',
        headers: {
          'content-type': String(request.headers['content-type'] ?? 'application/x-amz-json-1.0'),
          'x-amz-target': String(request.headers['x-amz-target']),
          ...(request.headers.authorization === undefined
            ? {}
            : { authorization: String(request.headers.authorization) }),
        },
        body: request.body,
      });
      const body = await answer.text();
      if (answer.status < 500 || attempt === 3)
        return {
          status: answer.status,
          headers: { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0' },
          body,
        };
      retried.push(request.body.toString('utf8'));
      await sleep(200);
    }
  };
}

/**
 * Starts the stack (see the header): the bundles, both motos, the front, the resources, the setup Lambda.
 * What was started is stopped again when a later part fails.
 */
export async function startAwsStack(options: AwsStackOptions = {}): Promise<AwsStack> {
  const undo: Array<() => unknown> = [];
  try {
    return await assemble(options, undo);
  } catch (error) {
    for (const step of undo.reverse()) await step();
    throw error;
  }
}

async function assemble(options: AwsStackOptions, undo: Array<() => unknown>): Promise<AwsStack> {
  const { dir, files } = await buildBundles(options.lambdas ?? LAMBDA_NAMES);
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const services = await startMoto();
  undo.push(() => services.stop());
  const counting = await startMotoFront(services.endpoint, []);
  undo.push(() => counting.stop());
  const invocations: Invocation[] = [];
  const historyRetries: string[] = [];
  const invoke = lambdaInvoker(files, invocations);
  let sfnMoto: Moto | undefined;
  const front = await startMotoFront(() => {
    if (sfnMoto === undefined) throw new Error('the Step Functions moto is not running');
    return sfnMoto.endpoint;
  }, [
    lambdaRoute(invoke),
    validateDefinitionRoute,
    startOnVersionRoute,
    historyRetryRoute(() => sfnMoto?.endpoint ?? '', historyRetries),
  ]);
  undo.push(() => front.stop());
  sfnMoto = await startMoto({ env: { MOTO_PORT: new URL(front.endpoint).port }, prelude: EMULATOR_FIXES });
  const interpreting = sfnMoto;
  undo.push(() => interpreting.stop());
  const configure = async () => {
    const answer = await fetch(`${interpreting.endpoint}/moto-api/config`, {
      method: 'POST',
      body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    if (!answer.ok) throw new Error(`moto's config answered ${answer.status}`);
  };
  await configure();
  const clients = {
    services: { ...MOTO_CLIENT, endpoint: services.endpoint },
    sfn: { ...MOTO_CLIENT, endpoint: front.endpoint },
  };
  const table = openTable('stepgate', clients.services);
  const made = await createResources(clients.services, table);
  const env = lambdaEnv(options, { services: counting.endpoint, sfn: front.endpoint }, made);
  const dynamoRequests = () => {
    const counts: Record<string, number> = {};
    for (const request of counting.requests) {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (!target.startsWith('DynamoDB_20120810.')) continue;
      const operation = target.slice('DynamoDB_20120810.'.length);
      counts[operation] = (counts[operation] ?? 0) + 1;
      // A transaction's items are billed each (twice: DynamoDB's two-phase write), so count them too.
      if (operation === 'TransactWriteItems') {
        const items = (JSON.parse(request.body.toString('utf8')) as { TransactItems?: unknown[] })
          .TransactItems;
        counts['TransactWriteItems.items'] = (counts['TransactWriteItems.items'] ?? 0) + (items?.length ?? 0);
      }
    }
    return counts;
  };
  const restoreEnv = setEnv(env);
  undo.push(restoreEnv);
  const sfn = new SFNClient(clients.sfn);
  undo.push(() => {
    sfn.destroy();
    table.client.destroy();
  });
  // What the stack's deploy-time Trigger runs once: the templates installed, the first admin created.
  if (files.has('setup')) {
    const setup = await invoke('setup', {});
    if (!setup.ok) throw new Error(`the setup Lambda failed: ${setup.errorType}: ${setup.errorMessage}`);
  }

  const ended = async (executionArn: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status !== 'RUNNING') return execution;
      if (Date.now() > deadline)
        throw new Error(`execution ${executionArn} still runs after ${timeoutMs} ms`);
      await sleep(200);
    }
  };
  return {
    services,
    front,
    dynamoRequests,
    clients,
    sfn,
    table,
    env,
    invocations,
    historyRetries,
    invoke,
    resetStepFunctions: async () => {
      await interpreting.reset();
      await configure();
      front.requests.length = 0;
      counting.requests.length = 0;
      invocations.length = 0;
    },
    ended,
    settle: async (executionArn, settleOptions = {}) => {
      const execution = await ended(executionArn, settleOptions.timeoutMs);
      const delivered = await invoke('run-status', statusChangeEvent(execution));
      if (!delivered.ok)
        throw new Error(`run-status failed: ${delivered.errorType}: ${delivered.errorMessage}`);
      return execution;
    },
    history: async (executionArn) => {
      const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
      return events ?? [];
    },
    stop: async () => {
      for (const step of undo.reverse()) await step();
    },
  };
}

/**
 * The EventBridge event Step Functions emits when an execution's status changes ("Step Functions Execution
 * Status Change", source aws.states; dates in ms since epoch), for an execution as DescribeExecution shows it.
 */
export function statusChangeEvent(execution: DescribeExecutionCommandOutput) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: (execution.stopDate ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: MOTO_CLIENT.region,
    resources: [execution.executionArn],
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: execution.stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate?.getTime() ?? null,
      stopDate: execution.stopDate?.getTime() ?? null,
      input: execution.input ?? null,
      output: execution.output ?? null,
      inputDetails: { included: true },
      outputDetails: { included: true },
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  };
}
