// A Streamable HTTP MCP server in the test process: the SDK's McpServer behind StreamableHTTPServerTransport
// on node:http, one McpServer per session, on a random port (or a given one, to restart a server in place).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** Registers tools on one session's server; runs for every session, present and future. */
export type ToolSetup = (server: McpServer) => void;

export interface TestMcpHttpServer {
  url: string;
  /** Session ids of every session opened so far. */
  sessions: string[];
  /** Headers of each session's initialize request, by session id. */
  initHeaders: Map<string, IncomingMessage['headers']>;
  /** Registers tools on every live session (each sends tools/list_changed) and on sessions to come. */
  addTools(setup: ToolSetup): void;
  close(): Promise<void>;
}

export async function startMcpHttpServer(
  name: string,
  setup: ToolSetup,
  port = 0,
): Promise<TestMcpHttpServer> {
  const setups: ToolSetup[] = [setup];
  const live = new Map<string, { server: McpServer; transport: StreamableHTTPServerTransport }>();
  const sessions: string[] = [];
  const initHeaders = new Map<string, IncomingMessage['headers']>();

  const http = createServer((req, res) => {
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? live.get(sessionId) : undefined;
    if (existing) {
      void existing.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST' || sessionId !== undefined) {
      res.writeHead(404).end('unknown session');
      return;
    }
    const server = new McpServer(
      { name, version: '1.0.0' },
      { capabilities: { tools: { listChanged: true } } },
    );
    for (const s of setups) s(server);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        live.set(id, { server, transport });
        sessions.push(id);
        initHeaders.set(id, req.headers);
      },
      onsessionclosed: (id) => {
        live.delete(id);
      },
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const address = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}/mcp`,
    sessions,
    initHeaders,
    addTools(more) {
      setups.push(more);
      for (const { server } of live.values()) more(server);
    },
    async close() {
      await Promise.all([...live.values()].map(({ server }) => server.close()));
      live.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
