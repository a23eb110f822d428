import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type McpServersConfigInput, McpServersConfigSchema } from '../../adapters/mcp/config.js';
import { LookupError, McpCallError, McpRegistry } from '../../adapters/mcp/registry.js';
import { startMcpHttpServer, type TestMcpHttpServer } from './http-mcp-server.js';

const require = createRequire(import.meta.url);
const everythingPackage = require.resolve('@modelcontextprotocol/server-everything/package.json');
const everythingBin = join(
  dirname(everythingPackage),
  (require(everythingPackage) as { bin: Record<string, string> }).bin['mcp-server-everything'] ?? '',
);

const registries: McpRegistry[] = [];
function registry(servers: McpServersConfigInput, ttlMs?: number): McpRegistry {
  const r = new McpRegistry(McpServersConfigSchema.parse(servers), {
    shutdownGraceMs: 100,
    ...(ttlMs !== undefined ? { ttlMs } : {}),
  });
  registries.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(registries.splice(0).map((r) => r.close()));
});

async function failure(promise: Promise<unknown>): Promise<McpCallError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof McpCallError)) throw new Error(`expected an McpCallError, got ${String(error)}`);
  return error;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('McpRegistry over stdio (server-everything)', () => {
  const everything = { command: process.execPath, args: [everythingBin, 'stdio'] };

  it('lists every tool with its server, description, input schema and annotations', async () => {
    const tools = await registry({ everything }).listTools();

    const echo = tools.find((t) => t.name === 'echo');
    expect(echo).toMatchObject({
      server: 'everything',
      description: 'Echoes back the input string',
      inputSchema: { type: 'object', properties: { message: { type: 'string' } } },
      annotations: { readOnlyHint: true },
      identity: 'schema',
    });
    expect(tools.map((t) => t.name)).toContain('get-sum');
  });

  it('looks tools up by name or pinned name and calls them', async () => {
    const r = registry({ everything });

    const echo = await r.lookup('echo');
    const sum = await r.lookup('everything/get-sum');

    expect(await r.call(echo, { message: 'hello' }, {})).toBe('Echo: hello');
    expect(await r.call(sum, { a: 2, b: 3 }, {})).toBe('The sum of 2 and 3 is 5.');
    expect(await r.call(await r.lookup('get-structured-content'), { location: 'Chicago' })).toEqual({
      temperature: 36,
      conditions: 'Light rain / drizzle',
      humidity: 82,
    });
  });

  it('maps an isError result to a retryable ToolError with the text as message', async () => {
    const r = registry({ everything });

    const error = await failure(r.call(await r.lookup('echo'), { message: 42 }));

    expect(error.code).toBe('Stepgate.ToolError');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Invalid arguments for tool echo');
  });

  it('cuts a call that exceeds its timeout with a Timeout error', async () => {
    const r = registry({ everything });
    const slow = await r.lookup('trigger-long-running-operation');

    // An operation of an hour: only a call cut at its timeout comes back within the test's own timeout.
    const error = await failure(r.call(slow, { duration: 3_600, steps: 2 }, { timeoutMs: 200 }));

    expect(error.code).toBe('Stepgate.Timeout');
    expect(error.retryable).toBe(true);
  });

  it("maps the caller's signal: a timeout signal to Timeout, an abort to a non-retryable Cancelled", async () => {
    const r = registry({ everything });
    const slow = await r.lookup('trigger-long-running-operation');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const timedOut = await failure(
      r.call(slow, { duration: 3_600, steps: 2 }, { signal: AbortSignal.timeout(100) }),
    );
    const cancelled = await failure(
      r.call(slow, { duration: 3_600, steps: 2 }, { signal: controller.signal }),
    );

    expect(timedOut.code).toBe('Stepgate.Timeout');
    expect(cancelled.code).toBe('Stepgate.Cancelled');
    expect(cancelled.retryable).toBe(false);
  });

  it('restarts a crashed server on the next call', async () => {
    const r = registry({ everything });
    const echo = await r.lookup('echo');
    const [first] = r.connections();
    const pid = first?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);

    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(r.connections()).toEqual([]));

    expect(await r.call(echo, { message: 'again' })).toBe('Echo: again');
    const [second] = r.connections();
    expect(second?.pid).not.toBe(pid);
  });

  it('passes credentials as environment variables, one process per credential set', async () => {
    const r = registry({
      everything: { ...everything, credentials: [{ name: 'demo-token', env: 'DEMO_TOKEN' }] },
    });
    const getEnv = await r.lookup('get-env');

    const a = (await r.call(getEnv, {}, { credentials: { 'demo-token': 'token-a', other: 'x' } })) as Record<
      string,
      string
    >;
    const b = (await r.call(getEnv, {}, { credentials: { 'demo-token': 'token-b' } })) as Record<
      string,
      string
    >;

    expect(a.DEMO_TOKEN).toBe('token-a');
    expect(b.DEMO_TOKEN).toBe('token-b');
    const pids = r.connections().filter((c) => c.withCredentials);
    expect(new Set(pids.map((c) => c.pid)).size).toBe(2);
  });

  it('refuses a call whose server credential was not resolved', async () => {
    const r = registry({
      everything: { ...everything, credentials: [{ name: 'demo-token', env: 'DEMO_TOKEN' }] },
    });

    const error = await failure(r.call(await r.lookup('echo'), { message: 'x' }, { credentials: {} }));

    expect(error.code).toBe('Stepgate.CredentialMissing');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("'demo-token'");
  });

  it('kills its child processes on close', async () => {
    const r = registry({ everything });
    await r.listTools();
    const pid = r.connections()[0]?.pid ?? 0;

    await r.close();

    expect(isAlive(pid)).toBe(false);
  });
});

function searchTool(server: McpServer, label: string): void {
  server.registerTool(
    'search',
    { description: `search ${label}`, inputSchema: { q: z.string() } },
    ({ q }) => ({
      content: [{ type: 'text', text: JSON.stringify({ from: label, q }) }],
    }),
  );
}

describe('McpRegistry over Streamable HTTP', () => {
  let alpha: TestMcpHttpServer;
  let beta: TestMcpHttpServer;
  let secured: TestMcpHttpServer;

  beforeAll(async () => {
    alpha = await startMcpHttpServer('alpha', (server) => {
      searchTool(server, 'alpha');
      server.registerTool('charge', { inputSchema: { amount: z.number() } }, () => ({
        content: [{ type: 'text', text: 'card declined' }],
        isError: true,
      }));
    });
    beta = await startMcpHttpServer('beta', (server) => searchTool(server, 'beta'));
    secured = await startMcpHttpServer('secured', (server) => {
      server.registerTool('whoami', {}, (extra) => ({
        content: [
          {
            type: 'text',
            text: JSON.stringify({
              auth: extra.requestInfo?.headers.authorization ?? null,
              session: extra.sessionId,
            }),
          },
        ],
      }));
      server.registerTool('leak', {}, (extra) => ({
        content: [{ type: 'text', text: `rejected ${String(extra.requestInfo?.headers.authorization)}` }],
        isError: true,
      }));
    });
    return async () => {
      await Promise.all([alpha.close(), beta.close(), secured.close()]);
    };
  });

  const securedConfig = () => ({
    url: secured.url,
    credentials: [{ name: 'api-token', header: 'Authorization', prefix: 'Bearer ' }],
  });

  it('names both servers and how to pin when a tool name is ambiguous', async () => {
    const r = registry({ alpha: { url: alpha.url }, beta: { url: beta.url } });

    const error = await failure(r.lookup('search'));

    expect(error).toBeInstanceOf(LookupError);
    expect(error.code).toBe('Stepgate.AmbiguousTool');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      "tool 'search' is offered by MCP servers 'alpha' and 'beta': pin one as 'alpha/search' or 'beta/search'",
    );
  });

  it('calls the pinned server of an ambiguous tool', async () => {
    const r = registry({ alpha: { url: alpha.url }, beta: { url: beta.url } });

    const tool = await r.lookup('beta/search');

    expect(tool.server).toBe('beta');
    expect(await r.call(tool, { q: 'flights' })).toEqual({ from: 'beta', q: 'flights' });
  });

  it('suggests the closest tool names for an unknown tool', async () => {
    const r = registry({ alpha: { url: alpha.url }, beta: { url: beta.url } });

    const unpinned = await failure(r.lookup('serch'));
    const pinned = await failure(r.lookup('alpha/chrage'));

    expect(unpinned.code).toBe('Stepgate.ToolNotFound');
    expect(unpinned.message).toBe("unknown tool 'serch' (did you mean 'search'?)");
    expect(pinned.message).toBe("unknown tool 'chrage' on MCP server 'alpha' (did you mean 'alpha/charge'?)");
  });

  it('maps an isError result to a ToolError', async () => {
    const r = registry({ alpha: { url: alpha.url } });

    const error = await failure(r.call(await r.lookup('charge'), { amount: 5 }));

    expect(error.code).toBe('Stepgate.ToolError');
    expect(error.message).toBe('card declined');
  });

  it('sees a tool added at runtime through tools/list_changed, before the TTL', async () => {
    const server = await startMcpHttpServer('gamma', (s) => searchTool(s, 'gamma'));
    try {
      const r = registry({ gamma: { url: server.url } }, 60 * 60_000);
      expect((await r.listTools()).map((t) => t.name)).toEqual(['search']);

      server.addTools((s) => {
        s.registerTool('refund', { inputSchema: { id: z.string() } }, ({ id }) => ({
          content: [{ type: 'text', text: `refunded ${id}` }],
        }));
      });

      await vi.waitFor(async () =>
        expect((await r.listTools()).map((t) => t.name)).toEqual(['search', 'refund']),
      );
      expect(await r.call(await r.lookup('refund'), { id: 'r1' })).toBe('refunded r1');
    } finally {
      await server.close();
    }
  });

  it('passes credentials as headers, one session per credential set', async () => {
    const r = registry({ secured: securedConfig() });
    const whoami = await r.lookup('whoami');

    const a1 = (await r.call(whoami, {}, { credentials: { 'api-token': 'token-a' } })) as Record<
      string,
      string
    >;
    const b = (await r.call(whoami, {}, { credentials: { 'api-token': 'token-b' } })) as Record<
      string,
      string
    >;
    const a2 = (await r.call(whoami, {}, { credentials: { 'api-token': 'token-a' } })) as Record<
      string,
      string
    >;

    expect(a1.auth).toBe('Bearer token-a');
    expect(b.auth).toBe('Bearer token-b');
    expect(b.session).not.toBe(a1.session);
    expect(a2.session).toBe(a1.session);
    expect(r.connections().filter((c) => c.withCredentials)).toHaveLength(2);
  });

  it('never puts a credential value into an error message', async () => {
    const r = registry({ secured: securedConfig() });

    const error = await failure(
      r.call(await r.lookup('leak'), {}, { credentials: { 'api-token': 'super-secret-value' } }),
    );

    expect(error.code).toBe('Stepgate.ToolError');
    expect(error.message).toBe('rejected Bearer [redacted: api-token]');
  });

  it('opens a new session when the HTTP server restarted and forgot the old one', async () => {
    const first = await startMcpHttpServer('delta', (s) => searchTool(s, 'delta'));
    const port = Number(new URL(first.url).port);
    const r = registry({ delta: { url: first.url } });
    const search = await r.lookup('search');
    await r.call(search, { q: 'a' });

    await first.close();
    // Lets the client see its keep-alive sockets close, as it would across a real restart.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await startMcpHttpServer('delta', (s) => searchTool(s, 'delta'), port);
    try {
      expect(await r.call(search, { q: 'b' })).toEqual({ from: 'delta', q: 'b' });
      expect(second.sessions).toHaveLength(1);
    } finally {
      await r.close();
      await second.close();
    }
  });

  it('lists the reachable servers and reports an unreachable one as unavailable', async () => {
    const r = registry({ alpha: { url: alpha.url }, down: { url: 'http://127.0.0.1:9/mcp' } });

    expect((await r.listTools()).map((t) => t.server)).toEqual(['alpha', 'alpha']);
    const error = await failure(r.lookup('missing'));
    const pinned = await failure(r.lookup('down/search'));

    expect(error.code).toBe('Stepgate.ToolUnavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("'down' could not be listed");
    expect(pinned.code).toBe('Stepgate.ToolUnavailable');
  });
});
