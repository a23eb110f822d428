// The Workflows API stand-in (test/support/workflows-emulator.ts) keeps GCP's rules, so what the host and
// the later end-to-end test build on it would hold on GCP: sources checked at deploy, executions that call
// real HTTP endpoints with an OIDC bearer and fail on their errors, callback URLs that want a token and
// close with the execution, cancel only while active, results and errors as JSON strings, step entries
// paged; and the step entries of a tool step that fails into its onError read as the audit entries
// (adapters/gcp/step-entries.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionsClient, WorkflowsClient } from '@google-cloud/workflows';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { stringify } from 'yaml';
import { stepEntryAudit } from '../../adapters/gcp/step-entries.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import {
  readOidcToken,
  startWorkflowsEmulator,
  type WorkflowsEmulator,
} from '../support/workflows-emulator.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const PARENT = 'projects/p/locations/europe-west1';
const RUNNER = 'runner@p.iam.gserviceaccount.com';

let stand: WorkflowsEmulator | undefined;
let clients: { workflows: WorkflowsClient; executions: ExecutionsClient } | undefined;

beforeAll(async () => {
  stand = await startWorkflowsEmulator();
  clients = {
    workflows: new WorkflowsClient(stand.clientOptions()),
    executions: new ExecutionsClient(stand.clientOptions()),
  };
});
afterAll(async () => {
  await clients?.workflows.close();
  await clients?.executions.close();
  await stand?.close();
});

function ready() {
  if (stand === undefined || clients === undefined) throw new Error('the stand-in is not running');
  return { emulator: stand, ...clients };
}

let n = 0;

/** A GCP expression `${text}`. */
const e = (text: string): string => `\${${text}}`;

/** Deploys `source` (YAML text or a document) as a new workflow; answers its name. */
async function deploy(source: string | object): Promise<string> {
  const { workflows } = ready();
  const workflowId = `w${++n}`;
  const sourceContents = typeof source === 'string' ? source : stringify(source);
  const [operation] = await workflows.createWorkflow({
    parent: PARENT,
    workflowId,
    workflow: { sourceContents, serviceAccount: RUNNER },
  });
  await operation.promise();
  return `${PARENT}/workflows/${workflowId}`;
}

async function execute(workflow: string, argument: unknown = null): Promise<string> {
  const [execution] = await ready().executions.createExecution({
    parent: workflow,
    execution: { argument: JSON.stringify(argument) },
  });
  return execution.name ?? '';
}

async function ended(name: string) {
  await ready().emulator.execution(name)?.ended;
  const [execution] = await ready().executions.getExecution({ name });
  return execution;
}

/** An HTTP endpoint on loopback that answers with `status` and records what it was sent. */
async function endpoint(status = 200, answer: unknown = { ok: true }) {
  const seen: Array<{ body: unknown; authorization: string | undefined }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        body: JSON.parse(Buffer.concat(chunks).toString() || 'null'),
        authorization: req.headers.authorization,
      });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen };
}

describe('the Workflows API stand-in', () => {
  it('refuses a source that is not a valid workflow, and an invalid workflow id, as INVALID_ARGUMENT', async () => {
    const { workflows } = ready();
    await expect(
      workflows.createWorkflow({
        parent: PARENT,
        workflowId: 'bad',
        workflow: { sourceContents: 'main: [1' },
      }),
    ).rejects.toThrow(/not YAML[\s\S]*INVALID_ARGUMENT/);
    await expect(
      workflows.createWorkflow({
        parent: PARENT,
        workflowId: 'bad2',
        workflow: { sourceContents: stringify({ main: { steps: [{ a: { call: 'http.get', bogus: 1 } }] } }) },
      }),
    ).rejects.toThrow(/not a valid workflow[\s\S]*INVALID_ARGUMENT/);
    await expect(
      workflows.createWorkflow({ parent: PARENT, workflowId: '1st', workflow: { sourceContents: 'x' } }),
    ).rejects.toThrow(/'1st'[\s\S]*INVALID_ARGUMENT/);
    await expect(
      ready().executions.createExecution({ parent: `${PARENT}/workflows/none`, execution: {} }),
    ).rejects.toThrow(/NOT_FOUND/);
  });

  it('posts over real HTTP with an OIDC stand-in, and returns the result as a JSON string', async () => {
    const hook = await endpoint(200, { answer: 42 });
    const workflow = await deploy({
      main: {
        params: ['input'],
        steps: [
          {
            post: {
              call: 'http.post',
              args: { url: hook.url, auth: { type: 'OIDC' }, body: e('input') },
              result: 'r',
            },
          },
          { done: { return: e('r.body.answer') } },
        ],
      },
    });
    const execution = await ended(await execute(workflow, { x: 1 }));
    expect(execution).toMatchObject({ state: 'SUCCEEDED', result: '42', argument: '{"x":1}' });
    expect(hook.seen).toHaveLength(1);
    expect(hook.seen[0]?.body).toEqual({ x: 1 });
    const token = /^Bearer (.+)$/.exec(hook.seen[0]?.authorization ?? '')?.[1] ?? '';
    expect(readOidcToken(token)).toEqual({ aud: hook.url, email: RUNNER });
  });

  it("raises GCP's HttpError on an error answer: the execution fails with the error as a JSON string", async () => {
    const hook = await endpoint(503, { down: true });
    const workflow = await deploy({
      main: { steps: [{ post: { call: 'http.post', args: { url: hook.url } } }] },
    });
    const execution = await ended(await execute(workflow));
    expect(execution.state).toBe('FAILED');
    expect(JSON.parse(execution.error?.payload ?? '')).toMatchObject({
      code: 503,
      body: { down: true },
      tags: ['HttpError'],
    });
    // No auth asked for, none sent.
    expect(hook.seen[0]?.authorization).toBeUndefined();
  });

  it('delivers a callback POSTed with a token to the awaiting step; without a token or once ended it refuses', async () => {
    const { emulator } = ready();
    const workflow = await deploy({
      main: {
        steps: [
          {
            cb: {
              call: 'events.create_callback_endpoint',
              args: { http_callback_method: 'POST' },
              result: 'cb',
            },
          },
          {
            wait: { call: 'events.await_callback', args: { callback: e('cb'), timeout: 60 }, result: 'got' },
          },
          { done: { return: e('got.http_request.body') } },
        ],
      },
    });
    const name = await execute(workflow);
    const url = `${emulator.url}/v1/${name}/callbacks/1`;
    const post = (authorization?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ approved: true }),
      });
    expect((await post()).status).toBe(401);
    expect((await post('Bearer t')).status).toBe(200);
    const execution = await ended(name);
    expect(execution).toMatchObject({ state: 'SUCCEEDED', result: '{"approved":true}' });
    expect((await post('Bearer t')).status).toBe(404);
  });

  it('cancels an active execution only, and lists its step entries page by page', async () => {
    const { executions, emulator } = ready();
    const workflow = await deploy({
      main: {
        steps: [
          { a: { assign: [{ x: 1 }] } },
          { b: { assign: [{ y: 2 }] } },
          { nap: { call: 'sys.sleep', args: { seconds: 3600 } } },
        ],
      },
    });
    const name = await execute(workflow);
    for (let i = 0; i < 200 && emulator.execution(name)?.steps.length !== 3; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    const [cancelled] = await executions.cancelExecution({ name });
    expect(cancelled.state).toBe('CANCELLED');
    await expect(executions.cancelExecution({ name })).rejects.toThrow(/FAILED_PRECONDITION/);
    const page = async (query: string) =>
      (await fetch(`${emulator.url}/v1/${name}/stepEntries?${query}`)).json();
    const first = (await page('pageSize=2')) as {
      stepEntries: Array<Record<string, string>>;
      nextPageToken: string;
    };
    expect(first.stepEntries.map((e) => [e.step, e.stepType, e.state, e.routine])).toEqual([
      ['a', 'STEP_ASSIGN', 'STATE_SUCCEEDED', 'main'],
      ['b', 'STEP_ASSIGN', 'STATE_SUCCEEDED', 'main'],
    ]);
    const second = (await page(`pageSize=2&pageToken=${first.nextPageToken}`)) as typeof first;
    expect(second.stepEntries.map((e) => [e.step, e.stepType, e.state])).toEqual([
      ['nap', 'STEP_STD_LIB_CALL', 'STATE_IN_PROGRESS'],
    ]);
    expect(second.nextPageToken).toBeUndefined();
  });
});

describe('step entries as audit entries', () => {
  const irOf = (text: string): IrWorkflow => {
    const result = validateWorkflow(text);
    if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
    return result.ir;
  };
  const GUARDED = irOf(`
version: 1
id: guarded
steps:
  - id: remove
    type: tool
    tool: crm-delete
    args: { id: 1 }
    retry: { maxAttempts: 1 }
    onError: tell
  - id: tell
    type: delay
    duration: 1s
`);

  it('reads a tool attempt that failed into its onError, and the step it led to, from a real execution', async () => {
    const { emulator } = ready();
    // The tool-call function: accepts, then answers the step's callback with a failure.
    const calls: unknown[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { callbackUrl?: string };
        calls.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: true }));
        const failure = {
          ok: false,
          error: { code: 'Tool.Denied', message: 'not allowed', retryable: false },
        };
        void fetch(body.callbackUrl ?? '', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer fn' },
          body: JSON.stringify(failure),
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const functions = { toolCall: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool-call` };
    const workflow = await deploy(emitGcpWorkflows(GUARDED));
    const identity = { email: 'alice@example.com', role: 'member', groups: [], manager: null };
    const name = await execute(workflow, {
      input: {},
      trigger: { type: 'manual', user: identity },
      run: { id: 'run-1', startedAt: '2026-01-05T09:00:00.000Z', workflowId: 'guarded' },
      stepgate: { runId: 'run-1', workflowId: 'guarded', identity, functions },
    });
    expect((await ended(name)).state).toBe('SUCCEEDED');
    expect(calls).toHaveLength(1);
    const entries = stepEntryAudit('run-1', GUARDED, emulator.execution(name)?.steps ?? [], true);
    expect(entries.map(({ entry }) => `${entry.type} ${entry.step}`)).toEqual([
      'step.entered remove',
      'attempt.started remove',
      'step.error-handled remove',
      'step.entered tell',
      'step.finished tell',
    ]);
    expect(entries[1]?.entry.data).toEqual({
      attempt: 1,
      idempotencyKey: 'run-1:remove:1:1',
      tool: 'crm-delete',
      args: null,
    });
    expect(entries[2]?.entry.data).toEqual({
      error: { code: 'Tool.Denied', message: 'not allowed', step: 'remove' },
      next: 'tell',
    });
  });
});
