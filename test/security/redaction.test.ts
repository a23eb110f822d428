// Redaction by value and recorded identity, over real HTTP against the started server: an MCP server that
// echoes the credential the vault handed it (its Authorization header) into its answer, a notify step that
// templates the echo into an email, a large echo kept by reference and a failure that quotes the credential.
// The credential's value must show nowhere — run view, audit export, live events, the mail, any table of the
// SQLite files — and the marker `[redacted: ECHO_TOKEN]` must show instead. The history must record the
// identity the tool received, never the `_user_email` the workflow wrote.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { type Credential, E2eServer } from '../e2e/support.js';
import { startMcpHttpServer, type TestMcpHttpServer } from '../mcp/http-mcp-server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SECRET = `echo-${randomBytes(12).toString('hex')}`;
const MARKER = '[redacted: ECHO_TOKEN]';
const FORGED = 'ceo@example.com';

const ECHO_WORKFLOW = `version: 1
id: echo-leak
name: Echo leak
triggers: [{ type: manual, minRole: member }]
steps:
  - id: echo
    type: tool
    tool: echo-secret
    args: { text: hello, size: 0, _user_email: ${FORGED}, _user_role: admin }
    output: echoed
    retry: { maxAttempts: 1 }
  - id: big
    type: tool
    tool: echo-secret
    args: { text: big, size: 20000 }
    output: blob
    retry: { maxAttempts: 1 }
  - id: tell
    type: notify
    channel: email
    to: "{{trigger.user.email}}"
    subject: "Echo {{echoed.auth}}"
    message: "auth={{echoed.auth}} json={{echoed.json}} as={{echoed.receivedEmail}}"
`;

const FAIL_WORKFLOW = `version: 1
id: echo-fail
name: Echo fail
triggers: [{ type: manual, minRole: member }]
steps:
  - id: refused
    type: tool
    tool: fail-secret
    args: {}
    retry: { maxAttempts: 1 }
`;

interface AttemptView {
  input?: Record<string, unknown>;
  redacted?: string[];
  error?: { message: string };
}
interface FullRunView {
  status: string;
  error: { message: string } | null;
  steps: Array<{ id: string; attempts: AttemptView[]; output?: unknown }>;
}

/** Every table row of a SQLite file whose text holds `needle`, as `table: row` lines. */
function rowsHolding(file: string, needle: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{
      name: string;
    }>;
    const hits: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>) {
        const text = Object.values(row)
          .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)))
          .join('\u0000');
        if (text.includes(needle)) hits.push(`${name}: ${text.slice(0, 200)}`);
      }
    }
    return hits;
  } finally {
    db.close();
  }
}

describe('a credential a tool echoed', () => {
  let mcp: TestMcpHttpServer;
  let e2e: E2eServer;
  let configDir: string;
  let emma: Credential;
  /** What the tool received, per call: the identity argument and the Authorization header. */
  const received: Array<{ email: unknown; auth: unknown }> = [];

  beforeAll(async () => {
    mcp = await startMcpHttpServer('echo', (server) => {
      server.registerTool(
        'echo-secret',
        {
          description: 'echoes what it was called with, its credential included',
          inputSchema: { text: z.string(), size: z.number(), _user_email: z.string().optional() },
          annotations: { readOnlyHint: true },
        },
        async (args, extra) => {
          const auth = extra.requestInfo?.headers.authorization;
          received.push({ email: args._user_email, auth });
          const echoed = {
            auth,
            json: JSON.stringify({ token: String(auth).replace('Bearer ', '') }),
            receivedEmail: args._user_email,
            said: args.text,
            pad: 'x'.repeat(args.size),
          };
          return { content: [{ type: 'text', text: JSON.stringify(echoed) }] };
        },
      );
      server.registerTool(
        'fail-secret',
        { description: 'fails quoting its credential', annotations: { readOnlyHint: true } },
        async (extra) => ({
          content: [
            { type: 'text', text: `upstream refused ${String(extra.requestInfo?.headers.authorization)}` },
          ],
          isError: true,
        }),
      );
    });
    const config = parse(readFileSync(join(ROOT, 'stepgate.config.yaml'), 'utf8')) as Record<string, unknown>;
    config.mcpServers = {
      echo: {
        url: mcp.url,
        credentials: [{ name: 'ECHO_TOKEN', header: 'Authorization', prefix: 'Bearer ' }],
      },
    };
    configDir = mkdtempSync(join(tmpdir(), 'stepgate-redaction-'));
    const configFile = join(configDir, 'stepgate.config.yaml');
    writeFileSync(configFile, stringify(config));
    e2e = await E2eServer.start({ config: configFile });

    emma = await e2e.login('emma@example.com');
    const stored = await e2e.api(emma, 'PUT', '/api/vault', {
      scope: 'user:emma@example.com',
      name: 'ECHO_TOKEN',
      value: SECRET,
    });
    expect(stored.status).toBe(201);
    const ada = await e2e.login('ada@example.com');
    if (!('cookie' in ada)) throw new Error('a session login');
    for (const [id, source] of [
      ['echo-leak', ECHO_WORKFLOW],
      ['echo-fail', FAIL_WORKFLOW],
    ] as const) {
      const saved = await fetch(`${e2e.url}/api/workflows/${id}`, {
        method: 'PUT',
        headers: { cookie: ada.cookie, 'x-csrf-token': ada.csrf, 'content-type': 'application/yaml' },
        body: source,
      });
      expect(saved.status, await saved.text()).toBeLessThan(300);
    }
  }, 60_000);

  afterAll(async () => {
    await e2e?.dispose();
    await mcp?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  /** The run view as the live page receives it: the first `run` event of GET /api/runs/:id/events. */
  const liveView = async (runId: string): Promise<string> => {
    if (!('cookie' in emma)) throw new Error('a session login');
    const response = await fetch(`${e2e.url}/api/runs/${runId}/events`, { headers: { cookie: emma.cookie } });
    expect(response.status).toBe(200);
    // The run has ended, so the stream sends its view once and closes.
    return response.text();
  };

  it('shows only the marker in the run view, export, live events, the mail and the database', async () => {
    const runId = await e2e.startRun(emma, 'echo-leak', {});
    const run = await e2e.finished(emma, runId);
    expect(run.status).toBe('completed');
    expect(received[0]?.auth).toBe(`Bearer ${SECRET}`); // The tool did get the credential.

    const view = await e2e.api<FullRunView>(emma, 'GET', `/api/runs/${runId}`);
    const audit = await e2e.api(emma, 'GET', `/api/runs/${runId}/audit`);
    const live = await liveView(runId);
    const mail = await e2e.mail(emma, (m) => m.subject.startsWith('Echo'));
    for (const [where, text] of [
      ['run view', view.text],
      ['audit export', audit.text],
      ['live events', live],
      ['mail', `${mail.subject}\n${mail.text}`],
    ]) {
      expect(text, where).not.toContain(SECRET);
      expect(text, where).toContain(MARKER);
    }
    expect(mail.text).toContain(`auth=Bearer ${MARKER}`);
    const echo = view.json.steps.find((s) => s.id === 'echo');
    expect(echo?.attempts[0]?.redacted).toEqual(['ECHO_TOKEN']);
    expect(echo?.output).toMatchObject({ auth: `Bearer ${MARKER}`, json: `{"token":"${MARKER}"}` });
    // The large echo was kept by reference: its stored JSON and preview are masked too.
    expect(view.json.steps.find((s) => s.id === 'big')?.output).toMatchObject({
      preview: expect.stringContaining(MARKER),
    });

    for (const file of ['stepgate.db', 'inbox.db'])
      expect(rowsHolding(join(e2e.home, file), SECRET), file).toEqual([]);
    expect(rowsHolding(join(e2e.home, 'stepgate.db'), MARKER).length).toBeGreaterThan(0);
  });

  it('masks the credential a failing tool quotes in its error', async () => {
    const runId = await e2e.startRun(emma, 'echo-fail', {});
    const run = await e2e.finished(emma, runId);
    expect(run.status).toBe('failed');

    const view = await e2e.api<FullRunView>(emma, 'GET', `/api/runs/${runId}`);
    const audit = await e2e.api(emma, 'GET', `/api/runs/${runId}/audit`);
    expect(view.text).not.toContain(SECRET);
    expect(audit.text).not.toContain(SECRET);
    expect(view.json.error?.message).toBe(`upstream refused Bearer ${MARKER}`);
    const attempt = view.json.steps.find((s) => s.id === 'refused')?.attempts[0];
    expect(attempt?.error?.message).toBe(`upstream refused Bearer ${MARKER}`);
    expect(attempt?.redacted).toEqual(['ECHO_TOKEN']);
    expect(rowsHolding(join(e2e.home, 'stepgate.db'), SECRET)).toEqual([]);
  });

  it('records the identity the tool received, not the _user_email the workflow wrote', async () => {
    const calls = received.length;
    const runId = await e2e.startRun(emma, 'echo-leak', {});
    await e2e.finished(emma, runId);
    expect(received[calls]?.email).toBe('emma@example.com');

    const view = await e2e.api<FullRunView>(emma, 'GET', `/api/runs/${runId}`);
    const input = view.json.steps.find((s) => s.id === 'echo')?.attempts[0]?.input;
    // `_user_role` is not an argument of this tool: what the workflow wrote there reached nobody.
    expect(input).toEqual({ text: 'hello', size: 0, _user_email: 'emma@example.com' });
    const audit = await e2e.audit(emma, runId);
    const identity = audit.find((a) => a.type === 'tool.identity' && a.step === 'echo');
    expect(identity?.data?.values).toEqual({ _user_email: 'emma@example.com' });
    expect(view.text).not.toContain(FORGED);
    expect(JSON.stringify(audit)).not.toContain(FORGED);
  });
});
