// Holes a security review found, reproduced over real HTTP against the started server, each now failing
// closed with nothing changed: API token scopes that were decorative (a `webhook:<id>` token listed runs,
// started other workflows, chatted and scheduled; a `runs:read` token decided an approval and saved a
// workflow), logout without the CSRF token, and bodies read whole before anyone was authenticated (a
// 400 MB login, a 200 MB approval-page post, a 50 MB signed webhook).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credential, E2eServer } from '../e2e/support.js';

const MB = 1024 * 1024;

interface Flood {
  status: number;
  /** Body bytes the client had written when the answer came. */
  sent: number;
}

/**
 * Posts a body of `bytes` (declared in Content-Length, or chunked when `declared` is false) in 64 KiB
 * chunks as fast as the socket takes them, and stops at the first answer.
 */
function flood(
  url: string,
  path: string,
  bytes: number,
  declared: boolean,
  headers: Record<string, string> = {},
) {
  return new Promise<Flood>((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    let answered = false;
    const req = request(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(declared ? { 'content-length': String(bytes) } : { 'transfer-encoding': 'chunked' }),
        ...headers,
      },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode ?? 0, sent });
      req.destroy();
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('scopes, CSRF and body limits, against the started server', () => {
  let server: E2eServer;
  let max: Credential;
  let admin: Credential;

  const runCount = async () =>
    (await server.api<unknown[]>(admin, 'GET', '/api/runs?limit=1000')).json.length;
  const token = async (as: Credential, scopes: string[]) => {
    const minted = await server.api<{ token: string }>(as, 'POST', '/api/tokens', {
      name: scopes[0],
      scopes,
    });
    expect(minted.status).toBe(201);
    return { token: minted.json.token };
  };

  beforeAll(async () => {
    server = await E2eServer.start();
    max = await server.login('max@example.com');
    admin = await server.login('ada@example.com');
  }, 60_000);

  afterAll(async () => {
    await server?.dispose();
  });

  it('a webhook:<id> token calls that webhook and nothing else', async () => {
    const hook = await token(max, ['webhook:employee-onboarding']);
    const before = await runCount();
    const refused = [
      await server.api(hook, 'GET', '/api/runs'),
      await server.api(hook, 'POST', '/api/workflows/expense-approval/run', {
        input: { amount: 10, description: 'Pens' },
      }),
      await server.api(hook, 'POST', '/api/chat', { message: 'start expense approval for 10 pens' }),
      await server.api(hook, 'POST', '/api/schedules', { workflowId: 'expense-approval', preset: 'daily' }),
      await server.api(hook, 'GET', '/api/workflows'),
    ];
    // Its own workflow without a token webhook: not a start by hand either.
    const own = await token(max, ['webhook:expense-approval']);
    refused.push(
      await server.api(own, 'POST', '/api/workflows/expense-approval/run', {
        input: { amount: 10, description: 'Pens' },
      }),
    );
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(await runCount()).toBe(before);
    expect((await server.api<unknown[]>(max, 'GET', '/api/schedules')).json).toEqual([]);
  });

  it('a runs:read token reads runs but neither decides an approval nor saves a workflow', async () => {
    const emma = await server.login('emma@example.com');
    const runId = await server.startRun(emma, 'expense-approval', { amount: 900, description: 'Laptop' });
    await server.awaitingApproval(max, runId, 'manager_approval', 1);
    const reader = await token(max, ['runs:read']);
    expect((await server.api(reader, 'GET', `/api/runs/${runId}`)).status).toBe(200);

    const decided = await server.api(reader, 'POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'approve',
    });
    expect(decided.status).toBe(403);
    const saved = await server.api(reader, 'PUT', '/api/workflows/sneaky', {
      version: 1,
      id: 'sneaky',
      steps: [],
    });
    expect(saved.status).toBe(403);

    // Nothing happened: the approval is still max's to decide, no decision in the trail, no workflow.
    const pending = await server.api<Array<{ runId: string }>>(max, 'GET', '/api/approvals');
    expect(pending.json.map((a) => a.runId)).toContain(runId);
    expect((await server.audit(max, runId)).some((a) => a.type === 'approval.decision')).toBe(false);
    expect((await server.api(max, 'GET', '/api/workflows/sneaky')).status).toBe(404);
  });

  it('refuses a logout without the CSRF token and keeps the session', async () => {
    const emma = await server.login('emma@example.com');
    if (!('cookie' in emma)) throw new Error('a session');
    const out = await fetch(`${server.url}/api/logout`, { method: 'POST', headers: { cookie: emma.cookie } });
    expect(out.status).toBe(403);
    expect((await server.api(emma, 'GET', '/api/me')).status).toBe(200);
    const really = await server.api(emma, 'POST', '/api/logout');
    expect(really.status).toBe(204);
    expect((await server.api(emma, 'GET', '/api/me')).status).toBe(401);
  });

  it('answers an oversized body 413 from its Content-Length, before reading it or authenticating', async () => {
    const login = await flood(server.url, '/api/login', 400 * MB, true);
    expect(login.status).toBe(413);
    expect(login.sent).toBeLessThan(64 * MB);
    const page = await flood(server.url, '/approve/not-a-real-link', 200 * MB, true);
    expect(page.status).toBe(413);
    const hook = await flood(server.url, '/api/workflows/incident-response/run', 50 * MB, true, {
      'webhook-id': 'msg_big',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,bm90LWEtc2lnbmF0dXJl',
    });
    expect(hook.status).toBe(413);
    expect(hook.sent).toBeLessThan(25 * MB);
    expect((await server.api(null, 'GET', '/api/health')).status).toBe(200);
  });

  it('stops reading a chunked body at the limit (413) instead of buffering it', async () => {
    const before = await runCount();
    const login = await flood(server.url, '/api/login', 400 * MB, false);
    expect(login.status).toBe(413);
    expect(login.sent).toBeLessThan(64 * MB);
    const run = await flood(server.url, '/api/workflows/expense-approval/run', 100 * MB, false, {
      authorization: 'Bearer sg_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(run.status).toBe(413);
    expect(await runCount()).toBe(before);
  });
});
