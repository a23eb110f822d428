// The activity Lambdas of functions/aws, in process, on moto_server (DynamoDB, KMS, S3) with the payloads
// a compiled state machine passes (test/support/asl-payloads.ts) and a Streamable HTTP MCP server for the
// tools: what each answers, what it leaves in the table, and how a failure reaches Step Functions (the
// thrown error's `name` is the Lambda's errorType, its message the Cause JSON: the Node.js runtime
// interface client reports a native Error as `{ errorType: error.name, errorMessage: error.message }`,
// aws-lambda-nodejs-runtime-interface-client src/Errors.js toRapidResponse). tool-call, notify and
// quorum run as the deployed `handler` (configured from the environment, the SDK pointed at moto by
// AWS_ENDPOINT_URL); the approval ones take the platform keys as a parameter (platform-keys.ts: derived from the Secrets Manager secret).
import { randomBytes } from 'node:crypto';
import { types } from 'node:util';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTable, openTable } from '../../adapters/aws/table.js';
import { closeLevel } from '../../functions/aws/approval-close.js';
import { requestApproval } from '../../functions/aws/approval-request.js';
import { type AwsApprovalSeams, awsApprovals } from '../../functions/aws/approvals.js';
import { AwsConfigError, loadAwsConfig } from '../../functions/aws/config.js';
import { sendNotification } from '../../functions/aws/notify.js';
import { AwsPorts } from '../../functions/aws/ports.js';
import { aslCallbackAnswer } from '../../functions/core/handlers/index.js';
import type { NotifyRequest } from '../../functions/core/protocol.js';
import type {
  AslApprovalPayload,
  AslNotifyPayload,
  AslQuorumPayload,
  AslToolCallPayload,
} from '../../functions/core/wire.js';
import { startMcpHttpServer, type TestMcpHttpServer } from '../mcp/http-mcp-server.js';
import { compileWorkflow, taskPayload } from '../support/asl-payloads.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

const WORKFLOW = `version: 1
id: lambdas
name: Lambdas
triggers: [{ type: manual, minRole: member }]
inputs: { type: object, properties: { who: { type: string }, size: { type: number } } }
steps:
  - { id: lookup, type: tool, tool: echo, args: { message: "hi {{who}}" }, output: found }
  - { id: big, type: tool, tool: blob, args: { size: "{{size}}" }, output: blob }
  - { id: missing, type: tool, tool: no-such-tool, output: nothing }
  - { id: tell, type: notify, channel: slack, to: "#ops", message: "hello {{who}}" }
  - { id: ok, type: approval, approvers: [role:admin], message: "approve {{who}}", output: decision }
  - { id: nobody, type: approval, approvers: [role:director], message: "nobody", output: never }
  - id: par
    type: parallel
    require: 2
    branches:
      - { name: one, steps: [{ id: a, type: tool, tool: echo, args: { message: a }, output: ra }] }
      - { name: two, steps: [{ id: b, type: tool, tool: echo, args: { message: b }, output: rb }] }
      - { name: three, steps: [{ id: c, type: tool, tool: echo, args: { message: c }, output: rc }] }
`;
const { definition } = compileWorkflow(WORKFLOW);

const ADA = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
const BOB = { email: 'bob@example.com', role: 'member', groups: [], manager: 'ada@example.com' };
const ENTERED = '2026-01-01T00:00:00.000Z';

let moto: Moto;
let mcp: TestMcpHttpServer;
let ports: AwsPorts;
let env: Record<string, string>;

/** The state document of a run of BOB's, and the payload Task `state` gets on its `attempt`. */
function payload<T>(runId: string, state: string, attempt = 0, extra: Record<string, unknown> = {}): T {
  const doc = {
    ctx: { runId, workflowId: 'lambdas', identity: BOB },
    vars: { who: 'Bob', size: 40_000, trigger: { type: 'manual', user: BOB } },
    ...extra,
  };
  return taskPayload<T>(definition, state, doc as never, {
    State: { RetryCount: attempt, EnteredTime: ENTERED },
    Task: { Token: `token-${runId}-${state}` },
  });
}

/** How Step Functions sees a thrown error: errorType (the name) and the Cause parsed. */
async function lambdaError(
  work: Promise<unknown>,
): Promise<{ errorType: string; cause: Record<string, unknown> }> {
  const error = await work.then(
    () => {
      throw new Error('the Lambda answered instead of failing');
    },
    (e: unknown) => e as Error,
  );
  // As toRapidResponse reads it: a native error's name and message.
  expect(types.isNativeError(error)).toBe(true);
  return { errorType: error.name, cause: JSON.parse(error.message) as Record<string, unknown> };
}

beforeAll(async () => {
  moto = await startMoto();
  const clients = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const table = openTable('stepgate-lambdas', clients);
  await createTable(table);
  table.client.destroy();
  const { KeyMetadata } = await new KMSClient(clients).send(new CreateKeyCommand({}));
  await new S3Client({ ...clients, forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: 'results' }),
  );
  mcp = await startMcpHttpServer('sandbox', (s) => {
    s.registerTool(
      'echo',
      { inputSchema: { message: z.string() }, annotations: { readOnlyHint: true } },
      async ({ message }) => ({ content: [{ type: 'text', text: `echo: ${message}` }] }),
    );
    s.registerTool(
      'blob',
      { inputSchema: { size: z.number() }, annotations: { readOnlyHint: true } },
      async ({ size }) => ({ content: [{ type: 'text', text: 'x'.repeat(size) }] }),
    );
  });
  // The stack's link-signing secret: 64 hex digits, as infra/aws/stepgate.ts generates it.
  const secret = await new SecretsManagerClient(clients).send(
    new CreateSecretCommand({ Name: 'stepgate-links', SecretString: randomBytes(32).toString('hex') }),
  );
  env = {
    AWS_REGION: MOTO_CLIENT.region,
    AWS_ACCESS_KEY_ID: MOTO_CLIENT.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CLIENT.credentials.secretAccessKey,
    AWS_ENDPOINT_URL: moto.endpoint,
    STEPGATE_TABLE: 'stepgate-lambdas',
    STEPGATE_KMS_KEY_ID: KeyMetadata?.KeyId ?? '',
    STEPGATE_RESULTS_BUCKET: 'results',
    STEPGATE_PUBLIC_URL: 'https://stepgate.example.com',
    STEPGATE_LINK_SECRET_ARN: secret.ARN ?? '',
    STEPGATE_EMAIL_FROM: 'stepgate@example.com',
    STEPGATE_MCP_SERVERS: JSON.stringify({ sandbox: { url: mcp.url } }),
    ...Object.fromEntries(
      ['TOOL_CALL', 'NOTIFY', 'APPROVAL_REQUEST', 'QUORUM'].map((name) => [
        `STEPGATE_${name}_FUNCTION_ARN`,
        `arn:aws:lambda:us-east-1:123456789012:function:${name.toLowerCase()}`,
      ]),
    ),
  };
  // The deployed handlers read their configuration, and the SDK its endpoint, from the environment.
  Object.assign(process.env, env);
  ports = new AwsPorts(loadAwsConfig(env, 'approval-request'), clients);
  await ports.directory().upsertUser(ADA);
  await ports.directory().upsertUser(BOB);
}, 60_000);

afterAll(async () => {
  await mcp?.close();
  await moto?.stop();
});

describe('tool-call', () => {
  it('calls the tool over Streamable HTTP and writes the pipeline stages to the run trail', async () => {
    const { handler } = await import('../../functions/aws/tool-call.js');
    const result = await handler(payload<AslToolCallPayload>('run-tool', 'lookup'), {} as never);
    expect(result).toBe('echo: hi Bob');
    const trail = await ports.audit().list('run-tool');
    expect(trail.map((r) => r.type)).toEqual(
      expect.arrayContaining(['tool.lookup', 'tool.executed', 'tool.result']),
    );
    expect(trail.every((r) => r.step === 'lookup')).toBe(true);
  });

  it('stores a large result in S3 and answers its reference', async () => {
    const { handler } = await import('../../functions/aws/tool-call.js');
    const result = (await handler(payload<AslToolCallPayload>('run-big', 'big'), {} as never)) as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(result)).toContain('s3://results/');
    expect(JSON.stringify(result).length).toBeLessThan(2_000);
  });

  it('fails an unknown tool as Stepgate.Fatal with the cause naming the code and the step', async () => {
    const { handler } = await import('../../functions/aws/tool-call.js');
    const failure = await lambdaError(
      handler(payload<AslToolCallPayload>('run-missing', 'missing'), {} as never),
    );
    expect(failure.errorType).toBe('Stepgate.Fatal');
    expect(failure.cause).toMatchObject({ error: { code: 'Stepgate.ToolNotFound', step: 'missing' } });
  });
});

describe('notify', () => {
  it('sends the rendered notification of the visit through the notifier', async () => {
    const sent: NotifyRequest[] = [];
    const notifier = {
      send: async (request: NotifyRequest) => {
        sent.push(request);
        return { messageId: 'm-1' };
      },
    };
    const answer = await sendNotification(
      ports,
      payload<AslNotifyPayload>('run-notify', 'tell', 1),
      notifier,
    );
    expect(answer).toEqual({ messageId: 'm-1' });
    expect(sent).toEqual([
      expect.objectContaining({ channel: 'slack', to: ['#ops'], message: 'hello Bob', visit: 1, attempt: 2 }),
    ]);
  });

  it('fails a Slack message with no account in the vault as the deployed handler would', async () => {
    const { handler } = await import('../../functions/aws/notify.js');
    const failure = await lambdaError(
      handler(payload<AslNotifyPayload>('run-notify-2', 'tell'), {} as never),
    );
    expect(failure.errorType).toMatch(/^Stepgate\.(Fatal|Retryable)$/);
    expect(failure.cause).toMatchObject({ error: { code: 'Notify.NoAccount', step: 'tell' } });
  });
});

describe('approval-request and approval-close', () => {
  const emails: NotifyRequest[] = [];
  const seams: AwsApprovalSeams = {
    keys: { linkSecret: randomBytes(32), callbackKey: randomBytes(32), chatKey: randomBytes(32) },
    notifier: {
      send: async (request) => {
        emails.push(request);
        return {};
      },
    },
  };

  it('opens the level with its task token sealed in the record and emails each approver a link', async () => {
    const event = payload<AslApprovalPayload>('run-approve', 'ok');
    expect(event.taskToken).toBe('token-run-approve-ok');
    expect(await requestApproval(ports, seams, event)).toEqual({ approvers: ['ada@example.com'] });
    const { store } = awsApprovals(ports, seams);
    const record = await store.get('run-approve', 'ok', 1, 1);
    expect(record).toMatchObject({ status: 'open', approvers: ['ada@example.com'], message: 'approve Bob' });
    const answer = aslCallbackAnswer(record?.callback ?? '', {
      approved: true,
      decidedBy: 'ada@example.com',
      decisions: [],
    } as never);
    expect(answer.taskToken).toBe('token-run-approve-ok');
    expect(emails).toEqual([expect.objectContaining({ channel: 'email', to: ['ada@example.com'] })]);
    expect(emails[0]?.message).toContain('https://stepgate.example.com/approve/');
  });

  it('opens one level when the invocation is retried in the same state (the Lambda service retrying)', async () => {
    const event = payload<AslApprovalPayload>('run-retried', 'ok');
    expect(event.enteredTime).toEqual(expect.any(String));
    await requestApproval(ports, seams, event);
    await requestApproval(ports, seams, event);
    const { store } = awsApprovals(ports, seams);
    expect(await store.get('run-retried', 'ok', 1, 1)).toMatchObject({ status: 'open' });
    expect(await store.get('run-retried', 'ok', 2, 1)).toBeUndefined();
  });

  it('fails a level with nobody to ask with Stepgate.NoApprovers, on which the state machine escalates', async () => {
    const failure = await lambdaError(
      requestApproval(ports, seams, payload<AslApprovalPayload>('run-none', 'nobody')),
    );
    expect(failure.errorType).toBe('Stepgate.NoApprovers');
    expect(failure.cause).toMatchObject({ error: { code: 'Stepgate.NoApprovers', step: 'nobody' } });
  });

  it('closes the level on a timeout, so it is no longer open', async () => {
    await requestApproval(ports, seams, payload<AslApprovalPayload>('run-close', 'ok'));
    const close = { runId: 'run-close', stepId: 'ok', visit: 1, level: 1, reason: 'timeout' } as const;
    expect(await closeLevel(ports, seams, close)).toBeNull();
    const { store } = awsApprovals(ports, seams);
    expect((await store.get('run-close', 'ok', 1, 1))?.status).toBe('closed');
    expect(await store.openFor('run-close', 'ok')).toBeUndefined();
  });
});

describe('quorum', () => {
  const finish = (
    runId: string,
    branch: number,
    outcome: 'done' | 'failed',
    extra: Record<string, unknown>,
  ) => payload<AslQuorumPayload>(runId, `par.${branch}.${outcome}`, 0, extra);

  it('stays open until N branches succeeded, then fails with Stepgate.QuorumReached carrying their results', async () => {
    const { handler } = await import('../../functions/aws/quorum.js');
    expect(await handler(finish('run-q', 1, 'done', { w1: { rb: 'b' } }), {} as never)).toBeNull();
    const decided = await lambdaError(handler(finish('run-q', 0, 'done', { w1: { ra: 'a' } }), {} as never));
    expect(decided).toEqual({ errorType: 'Stepgate.QuorumReached', cause: { ra: 'a', rb: 'b' } });
  });

  it('fails with the first branch error once N can no longer succeed', async () => {
    const { handler } = await import('../../functions/aws/quorum.js');
    const caught = { Error: 'Stepgate.Fatal', Cause: JSON.stringify({ error: { code: 'X', step: 'a' } }) };
    expect(await handler(finish('run-f', 0, 'failed', { w1: {}, caught }), {} as never)).toBeNull();
    const decided = await lambdaError(handler(finish('run-f', 2, 'failed', { w1: {}, caught }), {} as never));
    expect(decided).toEqual({ errorType: 'Stepgate.Fatal', cause: { error: { code: 'X', step: 'a' } } });
  });
});

describe('the deployed entry points', () => {
  it('open a level with keys derived from the Secrets Manager secret, or name what they were not given', async () => {
    const request = await import('../../functions/aws/approval-request.js');
    const opened = await request.handler(payload<AslApprovalPayload>('run-deployed', 'ok'), {} as never);
    expect(opened).toMatchObject({ approvers: expect.arrayContaining([expect.any(String)]) });
    const api = await import('../../functions/aws/api.js');
    await expect(api.handler({} as never, {} as never)).rejects.toThrow(
      /STEPGATE_STATE_MACHINE_ROLE_ARN is not set/,
    );
  });
});

describe('configuration', () => {
  it('refuses a stdio MCP server, saying why and what to do instead', () => {
    const stdio = {
      ...env,
      STEPGATE_MCP_SERVERS: JSON.stringify({ files: { command: 'npx', args: ['x'] } }),
    };
    expect(() => loadAwsConfig(stdio, 'tool-call')).toThrow(AwsConfigError);
    expect(() => loadAwsConfig(stdio, 'tool-call')).toThrow(
      /STEPGATE_MCP_SERVERS.*'files' is a stdio server.*cannot spawn.*Streamable HTTP.*`url`/s,
    );
  });

  it('names each variable a function needs and was not given, and asks the quorum function for its table only', () => {
    const { STEPGATE_TABLE: _, STEPGATE_KMS_KEY_ID: __, ...rest } = env;
    expect(() => loadAwsConfig(rest, 'tool-call')).toThrow(
      /STEPGATE_TABLE is not set[\s\S]*STEPGATE_KMS_KEY_ID is not set/,
    );
    expect(loadAwsConfig({ AWS_REGION: 'eu-west-1', STEPGATE_TABLE: 't' }, 'quorum')).toMatchObject({
      region: 'eu-west-1',
      table: 't',
      mcpServers: {},
    });
    expect(() => loadAwsConfig({ ...env, STEPGATE_MCP_SERVERS: '{' }, 'tool-call')).toThrow(
      'STEPGATE_MCP_SERVERS is not JSON',
    );
  });
});
