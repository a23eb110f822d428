// Stepgate deployed to AWS, end to end on loopback (test/support/aws-stack.ts): the esbuild-bundled Lambdas
// driven the way API Gateway drives the `api` one (HTTP API v2 events: login, saving a workflow →
// CreateStateMachine, a manual run, a signed webhook delivery, the inbox decision and the emailed link's page
// → SendTaskSuccess / SendTaskFailure), moto's Step Functions interpreter (LocalStack's) running the compiled
// machines and invoking the bundled tool-call, notify, approval-request and quorum Lambdas, the mail read back
// from moto's SES, the run record from DynamoDB, the execution history from GetExecutionHistory and the run
// view from GET /api/runs/:id. EventBridge does not run here: once DescribeExecution shows the end, the
// harness delivers the "Step Functions Execution Status Change" event to the bundled run-status Lambda, as
// EventBridge's rule would. The tools are a Streamable HTTP MCP server started by the test.
import { randomBytes, randomUUID } from 'node:crypto';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DynamoRunAudit } from '../../adapters/aws/audit.js';
import { DynamoRunStore, type StoredRun } from '../../adapters/aws/run-store.js';
import { parseMessage } from '../../adapters/local/smtp-inbox.js';
import { signWebhook } from '../../functions/core/triggers/webhook.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { startMcpHttpServer, type TestMcpHttpServer } from '../mcp/http-mcp-server.js';
import { type ApiInvoke, type ApiSession, apiEvent, callApi, login } from '../support/api-gateway.js';
import { ADMIN, type AwsStack, PUBLIC_URL, SCHEDULE_GROUP, startAwsStack } from '../support/aws-stack.js';
import { sentEmails } from '../support/moto-ses.js';

let stack: AwsStack;
let mcp: TestMcpHttpServer;
let runs: DynamoRunStore;
const sessions: Record<'ada' | 'bob' | 'carol' | 'dan' | 'erin', ApiSession> = {} as never;
/** How often each tool was called, by tool and key; `flaky` answers isError on its first call per key. */
const toolCalls = new Map<string, number>();

const count = (key: string): number => {
  const n = (toolCalls.get(key) ?? 0) + 1;
  toolCalls.set(key, n);
  return n;
};

async function startTools(): Promise<TestMcpHttpServer> {
  return startMcpHttpServer('finance', (server) => {
    server.registerTool(
      'expenses-validate',
      { inputSchema: { amount: z.coerce.number(), flaky: z.string().optional() } },
      async ({ amount, flaky }) => {
        // A transient failure (an MCP tool error, retryable) on the first call of a `flaky` key.
        if (flaky !== undefined && count(`validate:${flaky}`) === 1)
          return { isError: true, content: [{ type: 'text', text: 'the ledger is busy, try again' }] };
        return { content: [{ type: 'text', text: JSON.stringify({ ok: amount < 10_000 }) }] };
      },
    );
    server.registerTool(
      'payments-charge',
      { inputSchema: { amount: z.coerce.number(), payee: z.string() } },
      async ({ amount, payee }) => {
        count(`charge:${payee}`);
        return { content: [{ type: 'text', text: JSON.stringify({ id: `ch_${amount}` }) }] };
      },
    );
    server.registerTool('quotes-get', { inputSchema: { vendor: z.string() } }, async ({ vendor }) => ({
      content: [{ type: 'text', text: JSON.stringify({ vendor, price: vendor.length * 100 }) }],
    }));
  });
}

const invokeApi: ApiInvoke = async (event) => {
  const answer = await stack.invoke('api', event);
  if (!answer.ok) throw new Error(`the api Lambda failed: ${answer.errorType}: ${answer.errorMessage}`);
  return answer.payload as Awaited<ReturnType<ApiInvoke>>;
};

beforeAll(async () => {
  mcp = await startTools();
  stack = await startAwsStack({ mcpServers: { finance: { url: mcp.url } } });
  runs = new DynamoRunStore(stack.table, new DynamoRunAudit(stack.table, Date));
  // The first admin is the one the setup Lambda made; everyone else is added through the API.
  sessions.ada = await login(invokeApi, ADMIN.email, ADMIN.password);
  const people = [
    { email: 'carol@example.com', role: 'manager', name: 'Carol' },
    { email: 'bob@example.com', role: 'member', name: 'Bob', manager: 'carol@example.com' },
    { email: 'dan@example.com', role: 'director', name: 'Dan' },
    { email: 'erin@example.com', role: 'manager', name: 'Erin' },
    { email: 'ops-bot@example.com', role: 'member', name: 'Ops bot', manager: 'carol@example.com' },
  ];
  for (const person of people) {
    const { email, ...rest } = person;
    const put = await sessions.ada.json('PUT', `/api/users/${email}`, rest);
    expect(put.status, put.body).toBeLessThan(300);
    const password = await sessions.ada.json('POST', `/api/users/${email}/password`, {
      password: `${email} password 1`,
    });
    expect(password.status, password.body).toBeLessThan(300);
  }
  for (const name of ['bob', 'carol', 'dan', 'erin'] as const)
    sessions[name] = await login(invokeApi, `${name}@example.com`, `${name}@example.com password 1`);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await mcp?.close();
});

// moto's interpreter runs one execution per server: every case starts on a reset Step Functions.
beforeEach(async () => {
  await stack.resetStepFunctions();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each invocation so far and its answer, one a line: what a failing case shows. */
function invocationLog(): string {
  return stack.invocations.map((i) => `  ${i.name}: ${JSON.stringify(i.result).slice(0, 400)}`).join('\n');
}

/** Polls `probe` until it answers something defined; fails naming `what` after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; the Lambdas answered:\n${invocationLog()}`);
    await sleep(200);
  }
}

/** Saves a workflow through PUT /api/workflows/:id as Ada (the admin); answers the version saved. */
async function save(yaml: string): Promise<number> {
  const id = /^id: (\S+)$/m.exec(yaml)?.[1] ?? '';
  const saved = await sessions.ada.request('PUT', `/api/workflows/${id}`, {
    body: yaml,
    contentType: 'application/yaml',
  });
  expect(saved.status, saved.body).toBe(201);
  return Number(saved.json.version);
}

async function runRecord(runId: string): Promise<StoredRun> {
  return until(`run ${runId}'s record`, () => runs.get(runId));
}

/** The mails SES accepted for `to` whose subject (or text) contains `about`, decoded. */
async function mailsTo(to: string, about: string): Promise<Array<{ subject: string; text: string }>> {
  return (await sentEmails(stack.services.endpoint))
    .filter((m) => m.destinations.includes(to))
    .map((m) => parseMessage(m.raw))
    .filter((m) => m.subject.includes(about) || m.text.includes(about));
}

/** Waits for the approval email to `to` about `subject`; answers the link's path (/approve/<token>). */
async function approvalLink(to: string, subject: string): Promise<string> {
  const mail = await until(`the approval email to ${to}`, async () => (await mailsTo(to, subject))[0]).catch(
    async (error: Error) => {
      const all = (await sentEmails(stack.services.endpoint)).map((m) => `${m.destinations}: ${m.raw}`);
      throw new Error(`${error.message}\nSES holds:\n${all.join('\n')}`);
    },
  );
  const link = new RegExp(`${PUBLIC_URL.replaceAll('.', '\\.')}(/approve/[A-Za-z0-9._~-]+)`).exec(mail.text);
  if (link?.[1] === undefined) throw new Error(`no approval link in: ${mail.text}`);
  return link[1];
}

/** Waits until the approval-request Lambda has opened `level` of the run's step. */
async function levelOpened(runId: string, stepId: string, level = 1): Promise<void> {
  await until(`level ${level} of ${stepId}`, async () =>
    stack.invocations.find((i) => {
      const event = i.event as { ctx?: { runId?: string }; stepId?: string; level?: number };
      return (
        i.name === 'approval-request' &&
        i.result.ok &&
        event.ctx?.runId === runId &&
        event.stepId === stepId &&
        (event.level ?? 1) === level
      );
    }),
  );
}

/** The run view (GET /api/runs/:id) as `who` sees it. */
async function runView(who: ApiSession, runId: string): Promise<Record<string, unknown>> {
  const view = await who.request('GET', `/api/runs/${runId}`);
  expect(view.status, view.body).toBe(200);
  return view.json;
}

const types = (events: Array<{ type?: string }>) => events.map((e) => e.type);

function expenseWorkflow(id: string, options: { timeout?: string; flaky?: boolean } = {}): string {
  return `version: 1
id: ${id}
name: Expense ${id}
inputs:
  type: object
  required: [amount, description]
  properties:
    amount: { type: number, minimum: 0 }
    description: { type: string, minLength: 1 }
triggers:
  - type: manual
    minRole: member
  - type: webhook
    auth: signature
    runAs: ops-bot@example.com
steps:
  - id: validate
    type: tool
    tool: expenses-validate
    args:
      amount: "{{amount}}"
${options.flaky === true ? '      flaky: "{{run.id}}"\n' : ''}    retry: { maxAttempts: 3, interval: 1s }
    output: validation
  - id: manager_approval
    type: approval
    approvers: ["{{trigger.user.manager}}"]
    message: "Approve {{description}} for \${{amount}}?"
    timeout: ${options.timeout ?? '1h'}
    escalate:
      - approvers: [role:director]
        timeout: 1h
    onReject: notify_rejected
    onTimeout: notify_expired
  - id: process_payment
    type: tool
    tool: payments-charge
    args:
      amount: "{{amount}}"
      payee: "{{trigger.user.email}}"
  - id: notify_paid
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Expense paid: {{description}}"
    message: "Your expense {{description}} was paid (payment {{process_payment.id}}), approved by {{manager_approval.decidedBy}}."
    next: end
  - id: notify_rejected
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Expense not approved: {{description}}"
    message: "Not approved by {{manager_approval.decidedBy}}: {{manager_approval.comment}}"
    next: end
  - id: notify_expired
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Expense expired: {{description}}"
    message: "Nobody decided in time."
    next: end
`;
}

describe('Stepgate on AWS, end to end on moto', () => {
  it('approves an expense from the emailed link: manual run, SendTaskSuccess, payment and email', async () => {
    await save(expenseWorkflow('expense-approved'));
    // What the run costs in DynamoDB requests, from its start to its end (the link page and the decision
    // included; the save before it not): reported for the README's cost table.
    const before = stack.dynamoRequests();
    const started = await sessions.bob.json('POST', '/api/workflows/expense-approved/run', {
      input: { amount: 900, description: 'laptop' },
    });
    expect(started.status, started.body).toBe(201);
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    expect(record).toMatchObject({ status: 'running', workflowId: 'expense-approved', version: 1 });

    const link = await approvalLink('carol@example.com', 'laptop');
    const page = await callApi(invokeApi, apiEvent('GET', link));
    expect(page.status).toBe(200);
    expect(page.body).toContain('Approve laptop for $900?');
    const decided = await callApi(
      invokeApi,
      apiEvent('POST', link, { body: 'decision=approve', contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(decided.status, decided.body).toBe(200);
    expect(stack.front.calls('SendTaskSuccess')).toHaveLength(1);

    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    const used = Object.entries(stack.dynamoRequests()).map(
      ([op, n]) => [op, n - (before[op] ?? 0)] as const,
    );
    console.log(`DynamoDB requests of one approved expense run: ${JSON.stringify(Object.fromEntries(used))}`);
    expect(used.reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThan(0);
    expect(await mailsTo('bob@example.com', 'Expense paid: laptop')).toEqual([
      {
        subject: 'Expense paid: laptop',
        text: 'Your expense laptop was paid (payment ch_900), approved by carol@example.com.',
      },
    ]);
    expect((await runs.get(runId))?.outcome).toMatchObject({
      status: 'completed',
      error: null,
      vars: { amount: 900, validation: { ok: true }, process_payment: { id: 'ch_900' } },
    });
    // run-status recorded what decided the path with the end; the runs list shows it from the record.
    const approved = { kind: 'approved', step: 'manager_approval', by: 'carol@example.com' };
    expect((await runs.get(runId))?.pathOutcome).toEqual(approved);
    const listed = await sessions.bob.request('GET', '/api/runs', { query: 'workflowId=expense-approved' });
    expect(
      (listed.json as unknown as Array<{ id: string; outcome?: unknown }>).find((r) => r.id === runId)
        ?.outcome,
    ).toEqual(approved);
    const history = types(await stack.history(record.executionArn));
    expect(history).toContain('TaskSubmitted');
    expect(history.at(-1)).toBe('ExecutionSucceeded');
    const view = await runView(sessions.bob, runId);
    expect(view).toMatchObject({ status: 'completed', workflowVersion: 1 });
    const steps = view.steps as Array<{ id: string; state: string }>;
    expect(steps.filter((s) => s.state === 'done').map((s) => s.id)).toEqual([
      'validate',
      'manager_approval',
      'process_payment',
      'notify_paid',
    ]);
  }, 120_000);

  it('rejects an expense delivered by a signed webhook from the inbox: SendTaskFailure with its cause', async () => {
    await save(expenseWorkflow('expense-rejected'));
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const stored = await sessions.ada.json('PUT', '/api/vault', {
      scope: 'org',
      name: 'webhook.expense-rejected',
      value: secret,
    });
    expect(stored.status, stored.body).toBe(201);
    const body = JSON.stringify({ amount: 4200, description: 'team offsite' });
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const delivered = await callApi(
      invokeApi,
      apiEvent('POST', '/api/workflows/expense-rejected/run', {
        body,
        contentType: 'application/json',
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook({ secret, id, timestamp, body }),
        },
      }),
    );
    expect(delivered.status, delivered.body).toBe(201);
    const runId = String(delivered.json.runId);
    const record = await runRecord(runId);
    expect(record.trigger).toMatchObject({ type: 'webhook', user: { email: 'ops-bot@example.com' } });

    await levelOpened(runId, 'manager_approval');
    const inbox = await sessions.carol.request('GET', '/api/approvals');
    expect(JSON.stringify(inbox.json)).toContain(runId);
    const decided = await sessions.carol.json('POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'reject',
      comment: 'not in this budget',
    });
    expect(decided.status, decided.body).toBe(200);
    const failures = stack.front.calls('SendTaskFailure') as Array<{ error: string; cause?: string }>;
    expect(failures).toHaveLength(1);
    expect(failures[0]?.error).toBe(ERROR_CODE.rejected);
    // The cause carries the step's result, which the reject path merges into the run's variables.
    expect(JSON.parse(failures[0]?.cause ?? '{}')).toMatchObject({
      manager_approval: { approved: false, decidedBy: 'carol@example.com', comment: 'not in this budget' },
    });

    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(await mailsTo('ops-bot@example.com', 'Expense not approved: team offsite')).toEqual([
      {
        subject: 'Expense not approved: team offsite',
        text: 'Not approved by carol@example.com: not in this budget',
      },
    ]);
    expect(toolCalls.get('charge:ops-bot@example.com')).toBeUndefined();
    const view = await runView(sessions.ada, runId);
    expect(view.status).toBe('completed');
    const history = view.history as Array<{ type: string; step: string | null }>;
    expect(history.some((h) => h.type === 'approval.decision' && h.step === 'manager_approval')).toBe(true);
  }, 120_000);
});

describe('approvals on AWS: quorum and escalation', () => {
  it('continues a require-2 approval only once two approvers have approved', async () => {
    await save(`version: 1
id: two-of-three
name: Two of three
triggers: [{ type: manual, minRole: member }]
steps:
  - id: board
    type: approval
    approvers: [carol@example.com, dan@example.com, erin@example.com]
    require: 2
    message: "Approve the new vendor?"
    timeout: 1h
  - id: tell
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Vendor approved"
    message: "Approved by {{board.decidedBy}}."
`);
    const started = await sessions.bob.json('POST', '/api/workflows/two-of-three/run', { input: {} });
    expect(started.status, started.body).toBe(201);
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    const link = await approvalLink('carol@example.com', 'Approve the new vendor?');
    const first = await callApi(
      invokeApi,
      apiEvent('POST', link, { body: 'decision=approve', contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(first.status, first.body).toBe(200);
    // One of two: the level still waits, its token unanswered.
    expect(stack.front.calls('SendTaskSuccess')).toHaveLength(0);
    expect(
      (await stack.sfn.send(new DescribeExecutionCommand({ executionArn: record.executionArn }))).status,
    ).toBe('RUNNING');
    const second = await sessions.dan.json('POST', `/api/approvals/${runId}/board`, { decision: 'approve' });
    expect(second.status, second.body).toBe(200);
    expect(stack.front.calls('SendTaskSuccess')).toHaveLength(1);

    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect((await mailsTo('bob@example.com', 'Vendor approved')).length).toBe(1);
    const view = await runView(sessions.bob, runId);
    expect(view.status).toBe('completed');
  }, 120_000);

  it('escalates to the directors when the manager lets the level time out (a 2 s level)', async () => {
    await save(expenseWorkflow('expense-escalated', { timeout: '2s' }));
    const started = await sessions.bob.json('POST', '/api/workflows/expense-escalated/run', {
      input: { amount: 1500, description: 'monitor' },
    });
    expect(started.status, started.body).toBe(201);
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    await levelOpened(runId, 'manager_approval', 1);
    const expired = await approvalLink('carol@example.com', 'monitor');
    await levelOpened(runId, 'manager_approval', 2);
    await approvalLink('dan@example.com', 'monitor');
    // Level 1 is over: the manager's link decides nothing.
    const late = await callApi(
      invokeApi,
      apiEvent('POST', expired, {
        body: 'decision=approve',
        contentType: 'application/x-www-form-urlencoded',
      }),
    );
    expect(late.status).not.toBe(200);
    expect(stack.front.calls('SendTaskSuccess')).toEqual([]);
    const decided = await sessions.dan.json('POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'approve',
    });
    expect(decided.status, decided.body).toBe(200);

    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect((await mailsTo('bob@example.com', 'Expense paid: monitor'))[0]?.text).toContain(
      'approved by dan@example.com',
    );
    const history = types(await stack.history(record.executionArn));
    expect(history).toContain('TaskTimedOut');
    const view = await runView(sessions.bob, runId);
    expect(view.status).toBe('completed');
  }, 120_000);
});

describe('tools, parallels, cancels and schedules on AWS', () => {
  it('retries a tool after a transient failure of its MCP server', async () => {
    await save(expenseWorkflow('expense-retried', { flaky: true }));
    const started = await sessions.bob.json('POST', '/api/workflows/expense-retried/run', {
      input: { amount: 100, description: 'cables' },
    });
    expect(started.status, started.body).toBe(201);
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    await levelOpened(runId, 'manager_approval');
    expect(toolCalls.get(`validate:${runId}`)).toBe(2);
    const attempts = stack.invocations.filter(
      (i) => i.name === 'tool-call' && (i.event as { ctx: { runId: string } }).ctx.runId === runId,
    );
    expect(attempts.map((a) => (a.result.ok ? 'ok' : a.result.errorType))).toEqual([
      'Stepgate.Retryable',
      'ok',
    ]);
    const history = await stack.history(record.executionArn);
    expect(types(history).filter((t) => t === 'TaskFailed' || t === 'LambdaFunctionFailed').length).toBe(1);
    const decided = await sessions.carol.json('POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'approve',
    });
    expect(decided.status, decided.body).toBe(200);
    expect((await stack.settle(record.executionArn)).status).toBe('SUCCEEDED');
    const view = await runView(sessions.bob, runId);
    const validate = (view.steps as Array<{ id: string; attempts: unknown[] }>).find(
      (s) => s.id === 'validate',
    );
    expect(validate?.attempts).toHaveLength(2);
  }, 120_000);

  it('ends a require-2 parallel once two branches succeeded', async () => {
    await save(`version: 1
id: quotes
name: Quotes
triggers: [{ type: manual, minRole: member }]
steps:
  - id: gather
    type: parallel
    require: 2
    branches:
      - name: a
        steps: [{ id: quote_a, type: tool, tool: quotes-get, args: { vendor: acme }, output: a }]
      - name: b
        steps: [{ id: quote_b, type: tool, tool: quotes-get, args: { vendor: globex }, output: b }]
      - name: c
        steps: [{ id: quote_c, type: tool, tool: quotes-get, args: { vendor: initech }, output: c }]
  - id: tell
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Quotes in"
    message: "Quotes gathered."
`);
    const started = await sessions.bob.json('POST', '/api/workflows/quotes/run', { input: {} });
    expect(started.status, started.body).toBe(201);
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(stack.invocations.filter((i) => i.name === 'quorum').length).toBeGreaterThanOrEqual(2);
    expect((await mailsTo('bob@example.com', 'Quotes in')).length).toBe(1);
    const view = await runView(sessions.bob, runId);
    expect(view.status).toBe('completed');
  }, 120_000);

  it('cancels a waiting run: StopExecution, then the ABORTED event finds it cancelled', async () => {
    await save(expenseWorkflow('expense-cancelled'));
    const started = await sessions.bob.json('POST', '/api/workflows/expense-cancelled/run', {
      input: { amount: 700, description: 'chair' },
    });
    const runId = String(started.json.runId);
    const record = await runRecord(runId);
    await levelOpened(runId, 'manager_approval');
    const cancelled = await sessions.bob.request('POST', `/api/runs/${runId}/cancel`);
    expect(cancelled.status, cancelled.body).toBe(202);
    expect(stack.front.calls('StopExecution')).toEqual([
      expect.objectContaining({ executionArn: record.executionArn, error: 'Stepgate.Cancelled' }),
    ]);
    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('ABORTED');
    expect(stack.invocations.at(-1)).toMatchObject({
      name: 'run-status',
      result: { ok: true, payload: { status: 'cancelled' } },
    });
    expect((await runs.get(runId))?.status).toBe('cancelled');
    // run-status asked approval-close to close what the run left open: the manager's inbox is empty again.
    expect(stack.invocations).toContainEqual(
      expect.objectContaining({
        name: 'approval-close',
        event: { runId, workflowId: 'expense-cancelled', reason: 'run-ended' },
        result: expect.objectContaining({ ok: true }),
      }),
    );
    const inbox = await sessions.carol.json('GET', '/api/approvals');
    expect(JSON.stringify(inbox.json)).not.toContain(runId);
    const view = await runView(sessions.bob, runId);
    expect(view.status).toBe('cancelled');
    const late = await sessions.carol.json('POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'approve',
    });
    expect(late.status, late.body).toBe(409);
    expect(late.json.detail).toBe('no-open-request');
    expect(stack.front.calls('SendTaskSuccess')).toEqual([]);
  }, 120_000);

  it('fires a schedule: the Scheduler target input, delivered to the schedule-fire Lambda, starts a run', async () => {
    await save(`version: 1
id: weekly-report
name: Weekly report
triggers: [{ type: manual, minRole: member }]
steps:
  - id: tell
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Weekly report"
    message: "Run {{run.id}} by schedule."
`);
    const created = await sessions.bob.json('POST', '/api/schedules', {
      workflowId: 'weekly-report',
      cron: '0 9 * * 1',
      timezone: 'Europe/Berlin',
    });
    expect(created.status, created.body).toBe(201);
    const scheduleId = String(created.json.id);
    const nextFireAt = Number(created.json.nextFireAt);
    const scheduler = new SchedulerClient(stack.clients.services);
    const schedule = await scheduler.send(
      new GetScheduleCommand({ Name: scheduleId, GroupName: SCHEDULE_GROUP }),
    );
    scheduler.destroy();
    expect(schedule).toMatchObject({
      ScheduleExpression: 'cron(0 9 ? * 2 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    // EventBridge fills in <aws.scheduler.scheduled-time> when it delivers; here the test delivers.
    const input = (schedule.Target?.Input ?? '').replace(
      '<aws.scheduler.scheduled-time>',
      new Date(nextFireAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    );
    const fired = await stack.invoke('schedule-fire', JSON.parse(input));
    expect(fired.ok, JSON.stringify(fired)).toBe(true);
    const listed = await until('the scheduled run', async () => {
      const all = await sessions.bob.request('GET', '/api/runs', { query: 'workflowId=weekly-report' });
      const found = (all.json as unknown as Array<{ id: string }>)[0];
      return found;
    });
    const record = await runRecord(listed.id);
    expect(record.trigger.type).toBe('schedule');
    const execution = await stack.settle(record.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect((await mailsTo('bob@example.com', 'Weekly report'))[0]?.text).toBe(
      `Run ${listed.id} by schedule.`,
    );
    const again = await stack.invoke('schedule-fire', JSON.parse(input));
    expect(again.ok).toBe(true);
    expect(
      (await sessions.bob.request('GET', '/api/runs', { query: 'workflowId=weekly-report' })).json,
    ).toHaveLength(1);
  }, 120_000);
});
