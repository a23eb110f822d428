// Limits before anything else, over real HTTP against `npm start`'s server (test/e2e/support.ts) with a
// config of small limits: login throttling per address and per account (surviving a restart), per-user
// run-start and chat limits, and nesting depth. Each refusal is checked for its status, its Retry-After
// or the field it names, and for leaving nothing behind (no session, no run, no saved workflow).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Credential, E2eServer, PASSWORD } from '../e2e/support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const LIMITS = {
  jsonDepth: 64,
  login: {
    perAccountAddress: { max: 3, windowSeconds: 900 },
    perAddress: { max: 5, windowSeconds: 900 },
  },
  runStarts: { max: 3, windowSeconds: 60 },
  chat: { max: 2, windowSeconds: 60 },
};

// A workflow that waits an hour on the virtual clock: every run started stays visible as running.
const WAITER = `version: 1
id: limits-waiter
name: Limits waiter
aliases: [start the limits waiter]
triggers:
  - type: manual
    minRole: member
steps:
  - id: wait
    type: delay
    duration: 1h
`;

/** The repository's config with `limits:` set, its MCP servers still started from the repository. */
function writeConfig(folder: string): string {
  const config = parse(readFileSync(join(ROOT, 'stepgate.config.yaml'), 'utf8')) as {
    mcpServers: Record<string, Record<string, unknown>>;
  };
  for (const server of Object.values(config.mcpServers)) server.cwd = ROOT;
  const file = join(folder, 'stepgate.config.yaml');
  writeFileSync(file, stringify({ ...config, limits: LIMITS }));
  return file;
}

interface Reply {
  status: number;
  retryAfter: string | undefined;
  json: Record<string, unknown>;
}

/** A POST from a chosen loopback address (127.0.0.2, 127.0.0.3, …): another client as the server sees it. */
function postFrom(
  s: E2eServer,
  localAddress: string,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: s.server.port,
        localAddress,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const login = (s: E2eServer, from: string, email: string, password: string) =>
  postFrom(s, from, '/api/login', JSON.stringify({ email, password }));

/** Rows of a table in the server's database, read beside it. */
function count(s: E2eServer, sql: string, ...params: string[]): number {
  const db = new Database(join(s.home, 'stepgate.db'), { readonly: true });
  try {
    return (db.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    db.close();
  }
}

const sessionsOf = (s: E2eServer, email: string) =>
  count(s, 'SELECT count(*) AS n FROM sessions WHERE email = ?', email);

/** A session's cookie and CSRF token as request headers. */
function sessionHeaders(as: Credential): Record<string, string> {
  if (!('cookie' in as)) throw new Error('a session is expected');
  return { cookie: as.cookie, 'x-csrf-token': as.csrf };
}

function expectRetryAfter(reply: Reply, atMostSeconds: number): void {
  expect(reply.status).toBe(429);
  const seconds = Number(reply.retryAfter);
  expect(Number.isInteger(seconds) && seconds >= 1 && seconds <= atMostSeconds, reply.retryAfter).toBe(true);
}

describe('limits before anything else', () => {
  let s: E2eServer;
  let folder: string;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'stepgate-limits-'));
    s = await E2eServer.start({ config: writeConfig(folder) });
  }, 120_000);

  afterAll(async () => {
    await s?.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  describe('login throttling', () => {
    it('answers a wrong-password flood with 429 and Retry-After past the limit, while the user logs in from another address', async () => {
      const [flood, health] = await Promise.all([
        Promise.all(
          Array.from({ length: 12 }, () => login(s, '127.0.0.2', 'emma@example.com', 'wrong password')),
        ),
        fetch(`${s.url}/api/health`),
      ]);

      const statuses = flood.map((r) => r.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(LIMITS.login.perAccountAddress.max);
      expect(statuses.filter((status) => status === 429)).toHaveLength(
        12 - LIMITS.login.perAccountAddress.max,
      );
      for (const reply of flood.filter((r) => r.status === 429)) expectRetryAfter(reply, 900);
      expect(health.status).toBe(200);
      const before = sessionsOf(s, 'emma@example.com');

      const throttled = await login(s, '127.0.0.2', 'emma@example.com', PASSWORD);
      const elsewhere = await login(s, '127.0.0.3', 'emma@example.com', PASSWORD);

      expectRetryAfter(throttled, 900);
      expect(throttled.json).toMatchObject({
        status: 429,
        detail: 'too many failed logins; try again later',
      });
      expect(elsewhere.status).toBe(200);
      expect(sessionsOf(s, 'emma@example.com')).toBe(before + 1);
      expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
    });

    it('counts failures per address across accounts, and a success does not erase them', async () => {
      const from = '127.0.0.4';
      for (const n of [1, 2, 3, 4])
        expect((await login(s, from, `nobody${n}@example.com`, 'wrong password')).status).toBe(401);
      expect((await login(s, from, 'max@example.com', PASSWORD)).status).toBe(200);

      const fifth = await login(s, from, 'nobody5@example.com', 'wrong password');
      const sixth = await login(s, from, 'nobody6@example.com', 'wrong password');
      const rightPassword = await login(s, from, 'dana@example.com', PASSWORD);

      expect(fifth.status).toBe(401);
      expectRetryAfter(sixth, 900);
      expectRetryAfter(rightPassword, 900);
      expect(sessionsOf(s, 'dana@example.com')).toBe(0);
    });

    it('keeps counting across a restart on the same data folder, until the window has passed', async () => {
      const from = '127.0.0.5';
      for (const _ of [1, 2, 3])
        expect((await login(s, from, 'fiona@example.com', 'wrong password')).status).toBe(401);

      await s.restart(new VirtualClock(s.clock.now()));
      const afterRestart = await login(s, from, 'fiona@example.com', PASSWORD);
      await s.advanceTo(s.clock.now() + 901_000);
      const afterWindow = await login(s, from, 'fiona@example.com', PASSWORD);

      expectRetryAfter(afterRestart, 900);
      expect(afterWindow.status).toBe(200);
    }, 60_000);

    it('refuses a login body nested deeper than jsonDepth with 422 naming the limit', async () => {
      // Within the 8 KB a login body may have: deeper than 64 levels is refused for its depth, not its size.
      const deep = `${'['.repeat(4_000)}${']'.repeat(4_000)}`;
      const raw = await postFrom(s, '127.0.0.6', '/api/login', `{"email":${deep},"password":"x"}`);

      expect(raw).toMatchObject({
        status: 422,
        json: { field: 'body', detail: 'the document nests deeper than 64 levels' },
      });
      expect(sessionsOf(s, 'ada@example.com')).toBe(0);
    });
  });

  describe('per-user limits', () => {
    let fiona: Credential;
    let emma: Credential;
    let max: Credential;

    beforeAll(async () => {
      [fiona, emma, max] = await Promise.all([
        s.login('fiona@example.com'),
        s.login('emma@example.com'),
        s.login('max@example.com'),
      ]);
      const saved = await fetch(`${s.url}/api/workflows/limits-waiter`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/yaml',
          ...sessionHeaders(fiona),
        },
        body: WAITER,
      });
      if (saved.status !== 201) throw new Error(`PUT limits-waiter: ${saved.status} ${await saved.text()}`);
    });

    const runsBy = async (as: Credential, email: string) =>
      (
        await s.api<unknown[]>(
          as,
          'GET',
          `/api/runs?workflowId=limits-waiter&triggeredBy=${encodeURIComponent(email)}`,
        )
      ).json.length;

    it('starts at most runStarts.max runs per user in the window; the next start is a 429 and starts nothing', async () => {
      for (const _ of [1, 2, 3]) await s.startRun(emma, 'limits-waiter', {});

      const refused = await s.api<Record<string, unknown>>(emma, 'POST', '/api/workflows/limits-waiter/run', {
        input: {},
      });
      const someoneElse = await s.api(max, 'POST', '/api/workflows/limits-waiter/run', { input: {} });

      expect(refused.status).toBe(429);
      expect(refused.json.detail).toBe('at most 3 run starts per user in 60 s; try again later');
      expect(await runsBy(fiona, 'emma@example.com')).toBe(LIMITS.runStarts.max);
      expect(someoneElse.status).toBe(201);
    });

    it('answers at most chat.max chat messages per user in the window; the next is a 429 and starts nothing', async () => {
      const chat = () =>
        fetch(`${s.url}/api/chat`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...sessionHeaders(fiona),
          },
          body: JSON.stringify({ message: 'start the limits waiter' }),
        });
      const started = [await chat(), await chat()];
      const refused = await chat();

      expect(started.map((r) => r.status)).toEqual([200, 200]);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await runsBy(fiona, 'fiona@example.com')).toBe(LIMITS.chat.max);
    });
  });

  describe('nesting depth', () => {
    let fiona: Credential;
    beforeAll(async () => {
      fiona = await s.login('fiona@example.com');
    });

    const send = (path: string, method: string, type: string, body: string) =>
      fetch(`${s.url}${path}`, {
        method,
        headers: {
          'content-type': type,
          ...sessionHeaders(fiona),
        },
        body,
      });
    const DEEP_JSON = `{"version":1,"id":"deep","steps":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const DEEP_YAML = `version: 1\nid: deep\nsteps:\n  ${'- '.repeat(100_000)}x\n`;

    for (const [format, type, body, line] of [
      ['JSON', 'application/json', DEEP_JSON, 1],
      ['YAML', 'application/yaml', DEEP_YAML, 4],
    ] as const) {
      it(`validates a ${format} definition 100,000 levels deep into a diagnostic naming the limit, and does not save it`, async () => {
        const validated = await send('/api/workflows/validate', 'POST', type, body);
        const saved = await send('/api/workflows/deep', 'PUT', type, body);

        expect(validated.status).toBe(200);
        expect(await validated.json()).toMatchObject({
          valid: false,
          diagnostics: [{ code: 'too-deep', message: 'the document nests deeper than 64 levels', line }],
        });
        expect(saved.status).toBe(422);
        expect(await saved.json()).toMatchObject({ diagnostics: [{ code: 'too-deep' }] });
        expect((await s.api(fiona, 'GET', '/api/workflows/deep')).status).toBe(404);
        expect((await fetch(`${s.url}/api/health`)).status).toBe(200);
      });
    }
  });
});
