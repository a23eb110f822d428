// The MCP server registry: finds which configured server offers a tool and calls it there, over the MCP
// SDK's Client (stdio child processes or Streamable HTTP).
//
// Design:
// * Tool lists are cached per server from `tools/list` (every page, following `nextCursor`). A cache entry
//   goes stale when its TTL passes or when any connection to that server sends
//   `notifications/tools/list_changed`; the next `listTools`/`lookup` refetches it. A generation counter makes
//   a notification that arrives during a fetch win over that fetch's (possibly older) answer. When a refresh
//   fails the last good list is kept and the failure logged; a server that was never listed is skipped by
//   `listTools` and makes an unpinned miss in `lookup` ToolUnavailable (retryable) rather than ToolNotFound.
// * Connections are pooled per server and credential set: the pool key is the server name plus a SHA-256 of
//   the credential values the server's config names, so two users' credentials never share a child process
//   or an HTTP session. Stdio servers get their credentials as environment variables of the child, HTTP
//   servers as request headers. Tool discovery uses the server's credential-less connection. Connections
//   idle for longer than `idleMs` are closed when the pool is next used.
// * A connection leaves the pool when its transport closes (a crashed child) or a request on it fails at the
//   transport level, so the next call starts a fresh one: crashed stdio servers restart lazily. A call that an
//   HTTP server answers with 404 (it restarted and forgot the session) is retried once on a new session, since
//   the server never processed it; no other failure is retried here, as tools need not be idempotent.
// * Every failure is an McpCallError with a stable `code` (MCP_ERROR) and `retryable`; the tool-call pipeline
//   maps it onto ActivityError. Credential values never reach a log line or an error message: they are not
//   logged, and text that comes back from a server (errors, stderr) has them masked.
import { createHash } from 'node:crypto';
import type { Stream } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ErrorCode,
  type Implementation,
  McpError,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { secretScrubber } from '../../functions/core/redaction.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { errorMessage } from '../../translator/util.js';
import {
  isStdioServer,
  type McpHttpServer,
  type McpServerConfig,
  type McpServersConfig,
  type McpStdioServer,
} from './config.js';

export const MCP_ERROR = {
  toolNotFound: ERROR_CODE.toolNotFound,
  ambiguousTool: ERROR_CODE.ambiguousTool,
  toolError: ERROR_CODE.toolError,
  toolUnavailable: ERROR_CODE.toolUnavailable,
  timeout: ERROR_CODE.timeout,
  cancelled: ERROR_CODE.cancelled,
  credentialMissing: ERROR_CODE.credentialMissing,
} as const;
export type McpErrorCode = (typeof MCP_ERROR)[keyof typeof MCP_ERROR];

/** A failed lookup or call. `retryable: false` means retrying the same call cannot help. */
export class McpCallError extends Error {
  override name = 'McpCallError';
  constructor(
    readonly code: McpErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** A tool name that names no tool (ToolNotFound) or more than one (AmbiguousTool). */
export class LookupError extends McpCallError {
  override name = 'LookupError';
  constructor(code: typeof MCP_ERROR.toolNotFound | typeof MCP_ERROR.ambiguousTool, message: string) {
    super(code, message, false);
  }
}

export interface RegisteredTool {
  name: string;
  server: string;
  description: string | null;
  /** The tool's JSON Schema for its arguments, as the server lists it. */
  inputSchema: Tool['inputSchema'];
  annotations: Tool['annotations'] | null;
  /** The server's `identity` setting: how the tool pipeline adds the caller's identity to arguments. */
  identity: 'inject' | 'schema';
}

export interface McpLogger {
  debug?(message: string): void;
  warn?(message: string): void;
}

export interface McpRegistryOptions {
  /** How long a server's tool list is trusted without a list_changed notification. Default 5 minutes. */
  ttlMs?: number;
  /** Connections unused for this long are closed when the pool is next used. Default 5 minutes. */
  idleMs?: number;
  /** How long a stdio server may take to exit after its stdin closes before it gets SIGTERM. Default 2 s. */
  shutdownGraceMs?: number;
  clientInfo?: Implementation;
  logger?: McpLogger;
}

export interface McpCallOptions {
  /** Cuts the call after this long; null or absent falls back to the server's `timeoutMs`, then the SDK's 60 s. */
  timeoutMs?: number | null;
  /** Vault entry name → value; the server's `credentials` config says which it needs and how they travel. */
  credentials?: Record<string, string>;
  signal?: AbortSignal;
}

/** One live connection, for diagnostics and tests. */
export interface McpConnectionInfo {
  server: string;
  /** Whether the connection carries credentials (their values are never shown). */
  withCredentials: boolean;
  /** The stdio child's process id. */
  pid: number | null;
  /** The Streamable HTTP session id. */
  sessionId: string | null;
}

/** Where a server stands, for start-up, diagnostics and tests. */
export interface McpServerStatus {
  server: string;
  /**
   * idle: not started yet; starting: its tools are being listed (a stdio child starting); ready: listed;
   * failed: the last attempt failed, and the next use tries again.
   */
  state: 'idle' | 'starting' | 'ready' | 'failed';
  /** How many tools it offers, once listed. */
  tools: number | null;
  error: string | null;
  /** Connections opened to it so far: for a stdio server, the child processes started. */
  starts: number;
}

const DEFAULT_TTL_MS = 5 * 60_000;
const DEFAULT_IDLE_MS = 5 * 60_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;
const CONNECT_TIMEOUT_MS = 30_000;
const MAX_MESSAGE_CHARS = 2_000;
/** The last lines a stdio server wrote to stderr, kept to say why it did not start. */
const STDERR_TAIL_LINES = 20;

interface Connection {
  key: string;
  server: string;
  withCredentials: boolean;
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  ready: Promise<void>;
  closed: boolean;
  inFlight: number;
  lastUsed: number;
  /** The last lines of a stdio child's stderr. */
  stderrTail: string[];
}

interface ServerTools {
  tools: RegisteredTool[] | null;
  fetchedAt: number;
  /** Bumped by list_changed; a fetch that started under an older generation leaves the entry stale. */
  generation: number;
  fetchedGeneration: number;
  pending: Promise<RegisteredTool[]> | null;
  error: string | null;
  starts: number;
}

export class McpRegistry {
  private readonly ttlMs: number;
  private readonly idleMs: number;
  private readonly shutdownGraceMs: number;
  private readonly clientInfo: Implementation;
  private readonly logger: McpLogger;
  private readonly pool = new Map<string, Connection>();
  private readonly toolCache = new Map<string, ServerTools>();
  private closed = false;

  constructor(
    private readonly servers: McpServersConfig,
    options: McpRegistryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.shutdownGraceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    this.clientInfo = options.clientInfo ?? { name: 'stepgate', version: '0.1.0' };
    this.logger = options.logger ?? {};
    for (const name of Object.keys(servers)) {
      this.toolCache.set(name, {
        tools: null,
        fetchedAt: 0,
        generation: 0,
        fetchedGeneration: -1,
        pending: null,
        error: null,
        starts: 0,
      });
    }
  }

  /** The vault entries `server` is configured to receive (none for an unknown server). */
  credentialNames(server: string): string[] {
    return (this.servers[server]?.credentials ?? []).map((c) => c.name);
  }

  /** Every reachable server's tools, in config order. Servers that cannot be listed are logged and left out. */
  async listTools(): Promise<RegisteredTool[]> {
    const { tools } = await this.listAll();
    return tools;
  }

  /**
   * Starts the servers (all, or those named) and lists their tools, all at once, so that the first tool
   * call does not wait for a child process to start. Never rejects: a server that fails is logged and is
   * tried again when it is next used. Resolves with every server's status once each has settled.
   */
  async warm(servers: readonly string[] = Object.keys(this.servers)): Promise<McpServerStatus[]> {
    await Promise.all(
      servers.map((server) =>
        this.serverTools(server, { quiet: true }).catch((error: unknown) => {
          if (this.closed) return;
          this.logger.warn?.(
            `MCP server '${server}' did not start: ${errorMessage(error)}; it is tried again when one of its tools is used`,
          );
        }),
      ),
    );
    return this.status();
  }

  /** Every configured server's status, in config order. */
  status(): McpServerStatus[] {
    return [...this.toolCache].map(([server, entry]) => ({
      server,
      state:
        entry.pending !== null
          ? 'starting'
          : entry.tools !== null
            ? 'ready'
            : entry.error !== null
              ? 'failed'
              : 'idle',
      tools: entry.tools?.length ?? null,
      error: entry.error,
      starts: entry.starts,
    }));
  }

  /** Finds `tool` on whichever server offers it, or `server/tool` on that server. */
  async lookup(name: string): Promise<RegisteredTool> {
    const slash = name.indexOf('/');
    const pin = slash > 0 ? name.slice(0, slash) : null;
    if (pin !== null && this.servers[pin] !== undefined) {
      const toolName = name.slice(slash + 1);
      const tools = await this.serverTools(pin);
      const found = tools.find((t) => t.name === toolName);
      if (found) return found;
      throw new LookupError(
        MCP_ERROR.toolNotFound,
        `unknown tool '${toolName}' on MCP server '${pin}'${didYouMean(
          toolName,
          tools.map((t) => `${pin}/${t.name}`),
          tools.map((t) => t.name),
        )}`,
      );
    }
    const { tools, failed } = await this.listAll();
    const matches = tools.filter((t) => t.name === name);
    const [first, ...others] = matches;
    if (first && others.length === 0) return first;
    if (first) {
      const servers = matches.map((t) => `'${t.server}'`);
      throw new LookupError(
        MCP_ERROR.ambiguousTool,
        `tool '${name}' is offered by MCP servers ${joinWords(servers)}: pin one as ${joinWords(
          matches.map((t) => `'${t.server}/${name}'`),
          'or',
        )}`,
      );
    }
    if (failed.length > 0) {
      throw new McpCallError(
        MCP_ERROR.toolUnavailable,
        `tool '${name}' was not found, and MCP server${failed.length > 1 ? 's' : ''} ${joinWords(
          failed.map((f) => `'${f.server}'`),
        )} could not be listed (${failed.map((f) => f.error).join('; ')})`,
        true,
      );
    }
    if (pin !== null) {
      throw new LookupError(
        MCP_ERROR.toolNotFound,
        `unknown MCP server '${pin}' in '${name}'${didYouMean(pin, Object.keys(this.servers))}`,
      );
    }
    const names = [...new Set(tools.map((t) => t.name))];
    throw new LookupError(MCP_ERROR.toolNotFound, `unknown tool '${name}'${didYouMean(name, names)}`);
  }

  /** Calls a tool found by `lookup` and returns its result (see `toolResult`). */
  async call(
    tool: RegisteredTool,
    args: Record<string, unknown>,
    options: McpCallOptions = {},
  ): Promise<unknown> {
    this.assertOpen();
    const config = this.servers[tool.server];
    if (config === undefined) {
      throw new LookupError(MCP_ERROR.toolNotFound, `unknown MCP server '${tool.server}'`);
    }
    const secrets = selectCredentials(tool.server, config, options.credentials ?? {});
    const masked = maskOf(secrets.map(([credential, value]) => [credential.name, value]));
    const label = `${tool.server}/${tool.name}`;
    const timeout = options.timeoutMs ?? config.timeoutMs;
    const requestOptions = {
      ...(timeout !== undefined ? { timeout } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const conn = await this.connection(tool.server, config, secrets, masked);
      conn.inFlight++;
      try {
        const result = await conn.client.callTool(
          { name: tool.name, arguments: args },
          undefined,
          requestOptions,
        );
        return toolResult(label, result, masked);
      } catch (error) {
        if (error instanceof McpCallError) throw error;
        const mapped = callError(label, error, timeout, options.signal, masked);
        if (mapped.code === MCP_ERROR.toolUnavailable) this.discard(conn);
        // 404 is the server saying it no longer knows the session (it restarted): the request was not
        // processed, so one retry on a fresh session is safe.
        if (attempt === 1 && error instanceof StreamableHTTPError && error.code === 404) continue;
        throw mapped;
      } finally {
        conn.inFlight--;
        conn.lastUsed = Date.now();
      }
    }
  }

  /** The live connections (no credential values), for diagnostics and tests. */
  connections(): McpConnectionInfo[] {
    return [...this.pool.values()]
      .filter((c) => !c.closed)
      .map((c) => ({
        server: c.server,
        withCredentials: c.withCredentials,
        pid: c.transport instanceof StdioClientTransport ? c.transport.pid : null,
        sessionId:
          c.transport instanceof StreamableHTTPClientTransport ? (c.transport.sessionId ?? null) : null,
      }));
  }

  /** Closes every connection (stdio children are ended, then killed) and refuses further calls. */
  async close(): Promise<void> {
    this.closed = true;
    const connections = [...this.pool.values()];
    this.pool.clear();
    await Promise.all(connections.map((c) => this.closeConnection(c)));
  }

  private async listAll(): Promise<{ tools: RegisteredTool[]; failed: { server: string; error: string }[] }> {
    const names = Object.keys(this.servers);
    const settled = await Promise.allSettled(names.map((name) => this.serverTools(name)));
    const tools: RegisteredTool[] = [];
    const failed: { server: string; error: string }[] = [];
    settled.forEach((outcome, i) => {
      const server = names[i] ?? '';
      if (outcome.status === 'fulfilled') tools.push(...outcome.value);
      else failed.push({ server, error: errorMessage(outcome.reason) });
    });
    return { tools, failed };
  }

  /**
   * One server's tools: cached, refetched when stale; the last good list survives a failed refresh.
   * `quiet`: the caller reports a failure itself.
   */
  private serverTools(server: string, { quiet = false } = {}): Promise<RegisteredTool[]> {
    const entry = this.toolCache.get(server);
    const config = this.servers[server];
    if (entry === undefined || config === undefined) return Promise.resolve([]);
    const fresh = entry.fetchedGeneration === entry.generation && Date.now() - entry.fetchedAt < this.ttlMs;
    if (entry.tools !== null && fresh) return Promise.resolve(entry.tools);
    if (entry.pending) return entry.pending;
    const generation = entry.generation;
    const pending = this.fetchTools(server, config)
      .then(
        (tools) => {
          entry.tools = tools;
          entry.fetchedAt = Date.now();
          entry.fetchedGeneration = generation;
          entry.error = null;
          return tools;
        },
        (error: unknown) => {
          entry.error = errorMessage(error);
          if (!quiet && !this.closed)
            this.logger.warn?.(`MCP server '${server}': listing tools failed: ${entry.error}`);
          if (entry.tools !== null) return entry.tools;
          throw error;
        },
      )
      .finally(() => {
        entry.pending = null;
      });
    entry.pending = pending;
    return pending;
  }

  private async fetchTools(server: string, config: McpServerConfig): Promise<RegisteredTool[]> {
    const conn = await this.connection(server, config, [], maskOf([]));
    conn.inFlight++;
    try {
      const tools: RegisteredTool[] = [];
      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await conn.client.listTools(cursor === undefined ? {} : { cursor }, {
          timeout: config.timeoutMs ?? CONNECT_TIMEOUT_MS,
        });
        for (const tool of page.tools) {
          tools.push({
            name: tool.name,
            server,
            description: tool.description ?? null,
            inputSchema: tool.inputSchema,
            annotations: tool.annotations ?? null,
            identity: config.identity,
          });
        }
        cursor = page.nextCursor;
        // A server that repeats a cursor would otherwise page forever.
        if (cursor !== undefined && seen.has(cursor)) break;
        if (cursor !== undefined) seen.add(cursor);
      } while (cursor !== undefined);
      return tools;
    } catch (error) {
      const mapped = callError(`${server} tools/list`, error, config.timeoutMs, undefined, maskOf([]));
      if (mapped.code === MCP_ERROR.toolUnavailable) this.discard(conn);
      throw mapped;
    } finally {
      conn.inFlight--;
      conn.lastUsed = Date.now();
    }
  }

  private toolsChanged(server: string): void {
    const entry = this.toolCache.get(server);
    if (entry) entry.generation++;
    this.logger.debug?.(`MCP server '${server}': tools/list_changed`);
  }

  private async connection(
    server: string,
    config: McpServerConfig,
    secrets: [CredentialTarget, string][],
    masked: Masker,
  ): Promise<Connection> {
    this.assertOpen();
    this.evictIdle();
    const key = poolKey(server, secrets);
    let conn = this.pool.get(key);
    if (conn === undefined || conn.closed) {
      conn = this.open(server, key, config, secrets, masked);
      this.pool.set(key, conn);
    }
    conn.lastUsed = Date.now();
    try {
      await conn.ready;
    } catch (error) {
      if (this.pool.get(key) === conn) this.pool.delete(key);
      const said = stderrSummary(conn.stderrTail);
      const stderr = said === '' ? '' : ` (its stderr: ${said})`;
      throw new McpCallError(
        MCP_ERROR.toolUnavailable,
        masked(`MCP server '${server}' could not be reached: ${errorMessage(error)}${stderr}`),
        true,
      );
    }
    if (conn.closed) {
      throw new McpCallError(MCP_ERROR.toolUnavailable, `MCP server '${server}' closed the connection`, true);
    }
    return conn;
  }

  private open(
    server: string,
    key: string,
    config: McpServerConfig,
    secrets: [CredentialTarget, string][],
    masked: Masker,
  ): Connection {
    const stderrTail: string[] = [];
    const transport = isStdioServer(config)
      ? this.stdioTransport(server, config, secrets, masked, stderrTail)
      : httpTransport(config, secrets);
    const entry = this.toolCache.get(server);
    if (entry !== undefined) entry.starts++;
    const client = new Client(this.clientInfo, { capabilities: {} });
    const conn: Connection = {
      key,
      server,
      withCredentials: secrets.length > 0,
      client,
      transport,
      ready: Promise.resolve(),
      closed: false,
      inFlight: 0,
      lastUsed: Date.now(),
      stderrTail,
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.toolsChanged(server));
    client.onclose = () => {
      conn.closed = true;
      if (this.pool.get(key) === conn) this.pool.delete(key);
      if (!this.closed) this.logger.debug?.(`MCP server '${server}': connection closed`);
    };
    client.onerror = (error) => {
      this.logger.debug?.(masked(`MCP server '${server}': ${errorMessage(error)}`));
    };
    conn.ready = client
      .connect(transport, { timeout: config.timeoutMs ?? CONNECT_TIMEOUT_MS })
      .catch(async (error: unknown) => {
        conn.closed = true;
        await this.closeConnection(conn);
        throw error;
      });
    return conn;
  }

  private stdioTransport(
    server: string,
    config: McpStdioServer,
    secrets: [CredentialTarget, string][],
    masked: Masker,
    stderrTail: string[],
  ): StdioClientTransport {
    const env: Record<string, string> = { ...config.env };
    for (const [target, value] of secrets) if ('env' in target) env[target.env] = value;
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env,
      ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
      stderr: 'pipe',
    });
    forwardStderr(transport.stderr, (line) => {
      stderrTail.push(line.length > 300 ? `${line.slice(0, 300)}…` : line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      this.logger.debug?.(masked(`MCP server '${server}' stderr: ${line}`));
    });
    return transport;
  }

  private evictIdle(): void {
    const now = Date.now();
    for (const conn of this.pool.values()) {
      if (conn.inFlight === 0 && now - conn.lastUsed > this.idleMs) {
        this.pool.delete(conn.key);
        void this.closeConnection(conn);
      }
    }
  }

  /** Drops a connection whose transport failed, so the next call opens a fresh one. */
  private discard(conn: Connection): void {
    if (this.pool.get(conn.key) === conn) this.pool.delete(conn.key);
    if (!conn.closed) void this.closeConnection(conn);
  }

  private async closeConnection(conn: Connection): Promise<void> {
    conn.closed = true;
    try {
      if (conn.transport instanceof StreamableHTTPClientTransport && conn.transport.sessionId !== undefined) {
        await conn.transport.terminateSession();
      }
    } catch (error) {
      this.logger.debug?.(`MCP server '${conn.server}': ending the session failed: ${errorMessage(error)}`);
    }
    // The SDK ends stdin and waits 2 s before SIGTERM; servers that ignore EOF get it after our own grace.
    const pid = conn.transport instanceof StdioClientTransport ? conn.transport.pid : null;
    const terminate =
      pid !== null && this.shutdownGraceMs < DEFAULT_SHUTDOWN_GRACE_MS
        ? setTimeout(() => {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // Already gone.
            }
          }, this.shutdownGraceMs)
        : undefined;
    try {
      await conn.client.close();
    } catch (error) {
      this.logger.debug?.(`MCP server '${conn.server}': closing failed: ${errorMessage(error)}`);
    }
    clearTimeout(terminate);
  }

  private assertOpen(): void {
    if (this.closed) throw new McpCallError(MCP_ERROR.toolUnavailable, 'the MCP registry is closed', false);
  }
}

/**
 * A tool's answer as a workflow value: `structuredContent` when present, else a single text item (parsed as
 * JSON when it is JSON), else the content array. `isError` results throw ToolError.
 */
export function toolResult(
  label: string,
  result: Record<string, unknown>,
  masked: Masker = (s) => s,
): unknown {
  if ('toolResult' in result) return result.toolResult;
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
  if (result.isError === true) {
    const text = content
      .map((item) => (isTextItem(item) ? item.text : ''))
      .filter((t) => t !== '')
      .join('\n');
    throw new McpCallError(
      MCP_ERROR.toolError,
      truncate(masked(text === '' ? `tool '${label}' reported an error` : text)),
      true,
    );
  }
  if (result.structuredContent !== undefined && result.structuredContent !== null)
    return result.structuredContent;
  const [only, ...rest] = content;
  if (rest.length === 0 && isTextItem(only)) {
    try {
      return JSON.parse(only.text) as unknown;
    } catch {
      return only.text;
    }
  }
  return content;
}

type Masker = (text: string) => string;
type CredentialTarget = { env: string } | { header: string; prefix?: string };

function selectCredentials(
  server: string,
  config: McpServerConfig,
  credentials: Record<string, string>,
): [CredentialTarget & { name: string }, string][] {
  return config.credentials.map((credential) => {
    const value = credentials[credential.name];
    if (value === undefined) {
      throw new McpCallError(
        MCP_ERROR.credentialMissing,
        `MCP server '${server}' needs the credential '${credential.name}' and none was resolved`,
        false,
      );
    }
    return [credential, value];
  });
}

function poolKey(server: string, secrets: [CredentialTarget, string][]): string {
  if (secrets.length === 0) return `${server}#`;
  const material = JSON.stringify(secrets.map(([target, value]) => [target, value]));
  return `${server}#${createHash('sha256').update(material).digest('hex')}`;
}

function httpTransport(
  config: McpHttpServer,
  secrets: [CredentialTarget, string][],
): StreamableHTTPClientTransport {
  const headers: Record<string, string> = { ...config.headers };
  for (const [target, value] of secrets) {
    if ('header' in target) headers[target.header] = `${target.prefix ?? ''}${value}`;
  }
  return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } });
}

/** Masks the call's credential values (`[redacted: NAME]`, see functions/core/redaction.ts) in server text. */
function maskOf(secrets: Array<readonly [string, string]>): Masker {
  return secretScrubber(secrets).text;
}

function callError(
  label: string,
  error: unknown,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  masked: Masker,
): McpCallError {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new McpCallError(MCP_ERROR.timeout, `MCP call '${label}' timed out`, true);
    }
    return new McpCallError(MCP_ERROR.cancelled, `MCP call '${label}' was cancelled`, false);
  }
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    const after = timeout !== undefined ? ` after ${timeout} ms` : '';
    return new McpCallError(MCP_ERROR.timeout, `MCP call '${label}' timed out${after}`, true);
  }
  if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
    return new McpCallError(
      MCP_ERROR.toolUnavailable,
      `MCP call '${label}': the server closed the connection`,
      true,
    );
  }
  return new McpCallError(
    MCP_ERROR.toolUnavailable,
    truncate(masked(`MCP call '${label}': ${errorMessage(error)}`)),
    true,
  );
}

function forwardStderr(stream: Stream | null, line: (text: string) => void): void {
  if (stream === null) return;
  let buffered = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const text of lines) if (text.trim() !== '') line(truncate(text));
    if (buffered.length > MAX_MESSAGE_CHARS) {
      line(truncate(buffered));
      buffered = '';
    }
  });
}

/** What a server that did not start said: its error line (a stack trace's first line), else its last lines. */
function stderrSummary(lines: readonly string[]): string {
  const error = lines.find((line) => /^\s*(?:\w*Error\b|error\b)/i.test(line));
  return error !== undefined ? error.trim() : lines.slice(-3).join(' | ');
}

function isTextItem(item: unknown): item is { type: 'text'; text: string } {
  return (
    typeof item === 'object' &&
    item !== null &&
    (item as { type?: unknown }).type === 'text' &&
    typeof (item as { text?: unknown }).text === 'string'
  );
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

function joinWords(items: string[], last = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}

/** ` (did you mean 'x' or 'y'?)` for the candidates closest to `name`, or ''. `keys` are what is compared. */
function didYouMean(name: string, candidates: string[], keys: string[] = candidates): string {
  const wanted = name.toLowerCase();
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  const scored = candidates
    .map((candidate, i) => {
      const key = (keys[i] ?? candidate).toLowerCase();
      const distance = editDistance(wanted, key);
      const contains = wanted.length >= 3 && (key.includes(wanted) || wanted.includes(key));
      return { candidate, distance, close: distance <= limit || contains };
    })
    .filter((s) => s.close)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3);
  if (scored.length === 0) return '';
  return ` (did you mean ${joinWords(
    scored.map((s) => `'${s.candidate}'`),
    'or',
  )}?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
