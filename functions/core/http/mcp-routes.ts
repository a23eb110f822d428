// The MCP routes of the HTTP API: the configured MCP servers and the tools they offer, for the designer.
// Their role and scope are declared with their OpenAPI description (MCP_PATHS). A server is shown by its
// transport and its credential names only, never a command line, URL or credential value.
//
//   GET    /api/mcp/servers              member+: name, transport (stdio|http), credential names
//   GET    /api/mcp/tools                member+: server, name, description, inputSchema, annotations
import type { Hono } from 'hono';
import { requires } from './access.js';
import { errors, json } from './openapi-parts.js';
import type { Env } from './types.js';

/** The MCP servers as configured: only their transport and credential names are ever shown. */
export type McpServerList = Record<
  string,
  ({ command: string } | { url: string }) & { credentials: { name: string }[]; identity?: string }
>;

export interface McpToolView {
  server: string;
  name: string;
  description: string | null;
  inputSchema: unknown;
  annotations?: unknown;
}

export interface McpRoutesDeps {
  mcp: { servers: McpServerList; registry: { listTools(): Promise<McpToolView[]> } };
}

export function mountMcp(app: Hono<Env>, deps: McpRoutesDeps): void {
  app.get('/api/mcp/servers', (c) => {
    return c.json(
      Object.entries(deps.mcp.servers).map(([name, server]) => ({
        name,
        transport: 'command' in server ? 'stdio' : 'http',
        credentials: server.credentials.map((credential) => credential.name),
      })),
    );
  });

  app.get('/api/mcp/tools', async (c) => {
    const tools = await deps.mcp.registry.listTools();
    return c.json(
      tools.map((t) => ({
        server: t.server,
        name: t.name,
        description: t.description ?? null,
        inputSchema: t.inputSchema,
        annotations: t.annotations ?? null,
      })),
    );
  });
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const MCP_PATHS = {
  '/api/mcp/servers': {
    get: {
      ...requires('member', 'mcp:read'),
      summary: 'MCP servers (member and above): name, transport, credential names',
      responses: { '200': json('servers'), ...errors },
    },
  },
  '/api/mcp/tools': {
    get: {
      ...requires('member', 'mcp:read'),
      summary: 'Tools of the reachable MCP servers (member and above)',
      responses: { '200': json('tools'), ...errors },
    },
  },
} as const;
