// Starts a sandbox MCP server from dist/ (built by `npm test`'s `npm run build`) over stdio with the SDK's
// client, in a temp data directory, and closes every client (killing its child) after each test.

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, expect } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const open: Client[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tempDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'stepgate-sandbox-'));
  dirs.push(dir);
  return dir;
}

/** The built server, refusing a dist/ file older than its sources (run `npm run build`). */
function builtServer(name: string): string {
  const built = path.join(ROOT, 'dist', 'mcp-servers', `${name}.js`);
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` first`);
  }
  for (const source of [`${name}.ts`, 'common.ts']) {
    if (statSync(path.join(ROOT, 'mcp-servers', source)).mtimeMs > builtAt) {
      throw new Error(`${built} is older than mcp-servers/${source}: run \`npm run build\``);
    }
  }
  return built;
}

export async function startServer(
  name: string,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [builtServer(name)],
    cwd: ROOT,
    env: { STEPGATE_SANDBOX_DIR: dataDir, ...env },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stepgate-test', version: '0.0.0' });
  await client.connect(transport);
  open.push(client);
  return client;
}

export async function stopServer(client: Client): Promise<void> {
  const i = open.indexOf(client);
  if (i !== -1) open.splice(i, 1);
  await client.close();
}

type Hints = { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean };

/** listTools has exactly these tools with these annotations, and every tool accepts the identity fields. */
export async function expectTools(client: Client, expected: Record<string, Hints>): Promise<Tool[]> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(expected).sort());
  for (const tool of tools) {
    const hints = expected[tool.name] as Hints;
    expect(tool.annotations?.readOnlyHint, `${tool.name} readOnlyHint`).toBe(hints.readOnlyHint);
    if (!hints.readOnlyHint) {
      expect(tool.annotations?.destructiveHint, `${tool.name} destructiveHint`).toBe(hints.destructiveHint);
      expect(tool.annotations?.idempotentHint, `${tool.name} idempotentHint`).toBe(hints.idempotentHint);
    }
    const properties = tool.inputSchema.properties ?? {};
    for (const field of ['_user_email', '_user_role', '_user_groups']) {
      expect(properties, `${tool.name} accepts ${field}`).toHaveProperty(field);
    }
    expect(tool.inputSchema.required ?? []).not.toContain('_user_email');
  }
  return tools;
}

// Tool results are JSON of many shapes; tests read fields freely.
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Json = Record<string, any>;

/** Calls a tool that must succeed and returns its structured result (checking the text item mirrors it). */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Json> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
  const structured = result.structuredContent as Record<string, unknown>;
  expect(structured).toBeDefined();
  const [first] = result.content;
  expect(first?.type).toBe('text');
  expect(JSON.parse((first as { text: string }).text)).toEqual(structured);
  return structured;
}

/** Calls a tool that must fail and returns its error text. */
export async function callError(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.isError, `${name} should fail`).toBe(true);
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
