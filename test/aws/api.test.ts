// The `api` Lambda's app (functions/aws/api-app.ts) through hono/aws-lambda's handle, driven by API
// Gateway HTTP API (payload v2) events, on moto_server's DynamoDB and KMS: login sets the session cookie,
// the next request carries it in the event's `cookies` as API Gateway does and /api/me answers the user;
// the login throttle counts by the event's requestContext.http.sourceIp (on the DynamoDB rate limiter).
// The run host is not exercised by these routes: the test gives one that refuses every call.
import { randomBytes } from 'node:crypto';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { handle } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, openTable } from '../../adapters/aws/table.js';
import { type AwsApiParts, createAwsApi } from '../../functions/aws/api-app.js';
import { requestApproval } from '../../functions/aws/approval-request.js';
import { loadAwsConfig } from '../../functions/aws/config.js';
import { ORIGIN_KEY_HEADER, VIEWER_ADDRESS_HEADER } from '../../functions/aws/origin.js';
import { AwsPorts } from '../../functions/aws/ports.js';
import { aslCallbackAnswer } from '../../functions/core/handlers/index.js';
import type { ApprovalOutcome, NotifyRequest } from '../../functions/core/protocol.js';
import type { AslApprovalPayload } from '../../functions/core/wire.js';
import { apiEvent } from '../support/api-gateway.js';
import { compileWorkflow, taskPayload } from '../support/asl-payloads.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

let moto: Moto;
let ports: AwsPorts;
let api: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

const refuse = (): never => {
  throw new Error('the run host is not part of this test');
};
/** What the decision path answered: the level's outcome and the callback handle it carried. */
const raised: Array<{ outcome: ApprovalOutcome; callback: string | null }> = [];
const emails: NotifyRequest[] = [];
const notifier = {
  send: async (request: NotifyRequest) => {
    emails.push(request);
    return {};
  },
};
const PARTS: AwsApiParts = {
  host: { startRun: refuse, getRun: refuse, cancelRun: refuse, listRuns: refuse, audit: refuse },
  decisions: {
    raiseEvent: async (_runId, _name, outcome, callback) => {
      raised.push({ outcome, callback });
    },
    runActive: async () => true,
  },
  keys: { linkSecret: randomBytes(32), callbackKey: randomBytes(32), chatKey: randomBytes(32) },
  notifier,
};

/** An HTTP API (payload format 2.0) event, as API Gateway sends it (test/support/api-gateway.ts), with a JSON or form body. */
function event(
  method: string,
  path: string,
  options: {
    body?: unknown;
    cookies?: string[];
    sourceIp?: string;
    form?: string;
    headers?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  const { body, form, ...rest } = options;
  return apiEvent(method, path, {
    ...rest,
    contentType: form === undefined ? 'application/json' : 'application/x-www-form-urlencoded',
    ...(form !== undefined ? { body: form } : body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

type V2Result = Exclude<APIGatewayProxyResultV2, string>;
async function call(e: APIGatewayProxyEventV2): Promise<V2Result & { json: Record<string, unknown> }> {
  const result = (await api(e)) as V2Result;
  const json = result.headers?.['content-type']?.toString().includes('json')
    ? JSON.parse(result.body ?? '{}')
    : {};
  return { ...result, json: json as Record<string, unknown> };
}

beforeAll(async () => {
  moto = await startMoto();
  const clients = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const table = openTable('stepgate-api', clients);
  await createTable(table);
  table.client.destroy();
  const { KeyMetadata } = await new KMSClient(clients).send(new CreateKeyCommand({}));
  const config = loadAwsConfig(
    {
      AWS_REGION: MOTO_CLIENT.region,
      STEPGATE_TABLE: 'stepgate-api',
      STEPGATE_KMS_KEY_ID: KeyMetadata?.KeyId ?? '',
      STEPGATE_PUBLIC_URL: 'https://stepgate.example.com',
      STEPGATE_LINK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:links',
      STEPGATE_EMAIL_FROM: 'stepgate@example.com',
      STEPGATE_LIMITS: JSON.stringify({ login: { perAccountAddress: { max: 2, windowSeconds: 900 } } }),
      STEPGATE_STATE_MACHINE_PREFIX: 'stepgate-',
      STEPGATE_STATE_MACHINE_ROLE_ARN: 'arn:aws:iam::123456789012:role/machines',
      STEPGATE_SCHEDULE_GROUP: 'stepgate-schedules',
      STEPGATE_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/scheduler',
      STEPGATE_SCHEDULE_FIRE_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:123456789012:function:schedule-fire',
      ...Object.fromEntries(
        ['TOOL_CALL', 'NOTIFY', 'APPROVAL_REQUEST', 'QUORUM'].map((name) => [
          `STEPGATE_${name}_FUNCTION_ARN`,
          `arn:aws:lambda:us-east-1:123456789012:function:${name.toLowerCase()}`,
        ]),
      ),
    },
    'api',
  );
  ports = new AwsPorts(config, clients);
  await ports.directory().upsertUser({ email: 'ada@example.com', role: 'admin', name: 'Ada' });
  await ports.directory().setPassword('ada@example.com', 'correct horse');
  await ports
    .directory()
    .upsertUser({ email: 'bob@example.com', role: 'member', manager: 'ada@example.com' });
  api = handle(createAwsApi(ports, PARTS)) as unknown as typeof api;
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

describe('the api Lambda', () => {
  it('logs in with a v2 event and answers /api/me for the session cookie API Gateway passes back', async () => {
    const login = await call(
      event('POST', '/api/login', { body: { email: 'ada@example.com', password: 'correct horse' } }),
    );
    expect(login.statusCode).toBe(200);
    expect(login.json).toMatchObject({ user: { email: 'ada@example.com', role: 'admin' } });
    const cookie = login.cookies?.[0] ?? '';
    expect(cookie).toMatch(/; Secure/i);
    const me = await call(event('GET', '/api/me', { cookies: [cookie.split(';')[0] ?? ''] }));
    expect(me.statusCode).toBe(200);
    expect(me.json).toMatchObject({
      email: 'ada@example.com',
      name: 'Ada',
      via: 'session',
      csrf: login.json.csrf,
    });
  });

  it('answers 401 to /api/me without a session', async () => {
    expect((await call(event('GET', '/api/me'))).statusCode).toBe(401);
  });

  it("throttles failed logins by the caller's source address, not another caller's", async () => {
    const wrong = { email: 'ada@example.com', password: 'wrong horse' };
    for (let i = 0; i < 2; i++)
      expect(
        (await call(event('POST', '/api/login', { body: wrong, sourceIp: '198.51.100.1' }))).statusCode,
      ).toBe(401);
    const throttled = await call(event('POST', '/api/login', { body: wrong, sourceIp: '198.51.100.1' }));
    expect(throttled.statusCode).toBe(429);
    expect(Number(throttled.headers?.['retry-after'])).toBeGreaterThan(0);
    const elsewhere = { email: 'ada@example.com', password: 'correct horse' };
    expect(
      (await call(event('POST', '/api/login', { body: elsewhere, sourceIp: '198.51.100.2' }))).statusCode,
    ).toBe(200);
  });

  it('behind CloudFront, refuses a request without the origin key and throttles by the viewer address', async () => {
    const key = randomBytes(32).toString('hex');
    const behind = handle(createAwsApi(ports, { ...PARTS, originKey: key })) as unknown as typeof api;
    const viaCloudFront = (viewer: string, body: unknown) =>
      behind(
        event('POST', '/api/login', {
          body,
          sourceIp: '130.176.0.1', // a CloudFront edge, the same for every viewer
          headers: { [ORIGIN_KEY_HEADER]: key, [VIEWER_ADDRESS_HEADER]: viewer },
        }),
      ) as Promise<V2Result>;
    const direct = (await behind(event('POST', '/api/login', { body: {} }))) as V2Result;
    expect(direct.statusCode).toBe(403);
    expect(direct.body).toContain('through its CloudFront distribution');
    const forged = (await behind(
      event('POST', '/api/login', { body: {}, headers: { [ORIGIN_KEY_HEADER]: `${key}x` } }),
    )) as V2Result;
    expect(forged.statusCode).toBe(403);
    const wrong = { email: 'ada@example.com', password: 'wrong horse' };
    for (let i = 0; i < 2; i++) expect((await viaCloudFront('203.0.113.50', wrong)).statusCode).toBe(401);
    expect((await viaCloudFront('203.0.113.50', wrong)).statusCode).toBe(429);
    // Another viewer behind the same edge still logs in.
    const right = { email: 'ada@example.com', password: 'correct horse' };
    expect((await viaCloudFront('203.0.113.51', right)).statusCode).toBe(200);
  });

  it("opens a level (the approval-request Lambda), and the emailed link's page decides it, answering the task token", async () => {
    const { definition } = compileWorkflow(`version: 1
id: expense
name: Expense
triggers: [{ type: manual, minRole: member }]
steps:
  - { id: ok, type: approval, approvers: ["{{trigger.user.manager}}"], message: "approve it", output: decision }
`);
    const bob = { email: 'bob@example.com', role: 'member', groups: [], manager: 'ada@example.com' };
    const payload = taskPayload<AslApprovalPayload>(
      definition,
      'ok',
      {
        ctx: { runId: 'run-link', workflowId: 'expense', identity: bob },
        vars: { trigger: { type: 'manual', user: bob } },
      },
      {
        State: { RetryCount: 0, EnteredTime: '2026-01-01T00:00:00.000Z' },
        Task: { Token: 'the-task-token' },
      },
    );
    await requestApproval(ports, { keys: PARTS.keys, notifier }, payload);
    const link =
      /https:\/\/stepgate\.example\.com(\/approve\/[^\s]+)/.exec(emails.at(-1)?.message ?? '')?.[1] ?? '';
    expect(link).not.toBe('');
    const page = await call(event('GET', link));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('approve it');
    const decided = await call(event('POST', link, { form: 'decision=approve' }));
    expect(decided.statusCode).toBe(200);
    expect(raised).toHaveLength(1);
    const { taskToken, answer } = aslCallbackAnswer(
      raised[0]?.callback ?? '',
      raised[0]?.outcome as ApprovalOutcome,
    );
    expect(taskToken).toBe('the-task-token');
    expect(answer).toMatchObject({
      ok: true,
      output: { approved: true, decidedBy: 'ada@example.com', level: 1 },
    });
  });
});
