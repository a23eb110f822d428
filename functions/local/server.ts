// `npm start`: Stepgate on one machine. The embedded durable engine (SQLite under .stepgate/), the tool
// pipeline to the MCP servers of stepgate.config.yaml (the sandbox servers by default), the vault, the
// notifier with a development SMTP inbox, the demo users of the config and the four templates, behind the
// HTTP API on http://localhost:3000. This is an entrypoint: the only place that reads the environment.
//
//   PORT                  HTTP port (default 3000; 0 picks a free one)
//   STEPGATE_HOME         data folder (default .stepgate): stepgate.db, master.key, sandbox state
//   STEPGATE_CONFIG       config file (default stepgate.config.yaml)
//   STEPGATE_MASTER_KEY   the vault's key (base64 or hex, 32 bytes); else STEPGATE_HOME/master.key
//   STEPGATE_SMTP_PORT    the development inbox's port (default: a free one)
//   STEPGATE_SECURE_COOKIES  'true' behind HTTPS
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { SqliteApprovalLinkStore } from '../../adapters/local/approval-link-store.js';
import { SystemClock } from '../../adapters/local/clock.js';
import { loadConfig, type StepgateConfig } from '../../adapters/local/config.js';
import { openDatabase, startWalCheckpointer } from '../../adapters/local/database.js';
import { createEmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { loadOrCreateKeyFile, parseMasterKey, SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { McpRegistry, type McpServerStatus } from '../../adapters/mcp/registry.js';
import { errorMessage } from '../../translator/util.js';
import { ApprovalLinks, linkNotifier } from '../core/approval-links.js';
import type { ApprovalNotifier } from '../core/approvals.js';
import { authenticate, createOidcVerifier } from '../core/auth.js';
import { createApp } from '../core/http/app.js';
import { mountApprovalPages } from '../core/http/approval-pages.js';
import { dashboardDir, mountDashboard } from '../core/http/dashboard.js';
import { scheduledRuns } from '../core/http/schedule-routes.js';
import { sessionLogin, vaultWebhookSecrets } from '../core/http/session-login.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import { rateHitTtl } from '../core/limits.js';
import { LoginThrottle } from '../core/login-throttle.js';
import { ChannelNotifier } from '../core/notify/notifier.js';
import { createSsrfGuard } from '../core/notify/ssrf.js';
import { approvalKeys, chatConfirmKey } from '../core/platform-keys.js';
import type { Clock } from '../core/ports.js';
import { galleryFolder, installMissing, readGallery } from '../core/template-gallery.js';
import { ToolPipeline } from '../core/tool-pipeline.js';
import { Scheduler } from '../core/triggers/schedules.js';
import { UserLimits } from '../core/user-limits.js';

// Housekeeping, hourly: webhook delivery claims are kept a day (a signed redelivery is refused after five
// minutes by its timestamp; Idempotency-Keys are honoured for 24 h), rate-limit hits (tool calls, failed
// logins, run starts, chat) two days or the config's longest window, used approval-link nonces until their
// link expires.
const HOUSEKEEPING_INTERVAL_MS = 3_600_000;
const WEBHOOK_CLAIM_TTL_MS = 24 * 3_600_000;
// The gallery ships beside the code: two folders up from the source, three from dist/.
const TEMPLATES = galleryFolder([
  resolve(import.meta.dirname, '..', '..', 'templates'),
  resolve(import.meta.dirname, '..', '..', '..', 'templates'),
]);

export interface RunningServer {
  url: string;
  port: number;
  inboxUrl: string;
  /**
   * The MCP servers, started in the background at start-up so that the first tool call does not wait for
   * them: `warmed` settles when each is ready or has failed (a failed one is tried again on use).
   */
  mcp: { warmed: Promise<McpServerStatus[]>; status(): McpServerStatus[] };
  close(): Promise<void>;
}

/** What a test may swap: the clock (a VirtualClock drives timeouts, escalations and schedules). */
export interface ServerOptions {
  clock?: Clock;
}

/**
 * Starts Stepgate on one machine: the stores and the engine, the triggers (schedules, webhooks), the HTTP
 * API with the approval pages and the dashboard; `close` stops them in the reverse order.
 */
export async function startServer(
  env: NodeJS.ProcessEnv = process.env,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const home = resolve(env.STEPGATE_HOME ?? '.stepgate');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const config = loadConfig(env.STEPGATE_CONFIG);
  const clock = options.clock ?? new SystemClock();
  const key = env.STEPGATE_MASTER_KEY
    ? parseMasterKey(env.STEPGATE_MASTER_KEY)
    : loadOrCreateKeyFile(join(home, 'master.key')).key;
  const mcp = startMcp(config, home);
  const stores = await startStores({ env, home, config, clock, key, registry: mcp.registry });
  const { engine, directory } = stores;
  await seedDirectory(directory, config);
  const workflows = new SqliteWorkflowStore(engine.db);
  const templates = await installTemplates(workflows, clock);
  const port = Number(env.PORT ?? 3000);
  // Approval links are signed with a key derived from the vault's; they point at the public URL.
  const publicUrl = { value: env.STEPGATE_PUBLIC_URL ?? `http://localhost:${port}` };
  const links = startApprovalLinks(stores, config, clock, key, publicUrl);
  const scheduler = new Scheduler({
    store: new SqliteScheduleStore(engine.db),
    clock,
    ...scheduledRuns({ workflows, host: engine.host, lookup: (email) => directory.user(email) }),
    onError: (error, id) => console.error(`schedule ${id}: ${errorMessage(error)}`),
  });
  await engine.recover();

  const deliveries = new SqliteWebhookDeliveryStore(engine.db, clock);
  const hitTtl = rateHitTtl(config.limits);
  const housekeepingTimer = await startHousekeeping(clock, [
    (now) => deliveries.prune(now - WEBHOOK_CLAIM_TTL_MS),
    (now) => stores.limiter.prune(now - hitTtl),
    (now) => links.store.prune(now),
  ]);
  const app = httpApp({
    env,
    config,
    clock,
    stores,
    mcp,
    workflows,
    templates,
    deliveries,
    scheduler,
    key,
  });
  mountApprovalPages(app.app, {
    links: links.links,
    authenticateOptional: async (c) => (await app.authenticate(c))?.identity ?? null,
    audit: (runId) => engine.host.audit(runId),
    directory,
  });
  // dist/web: under tsx from the repository's build, else beside the compiled server (dist/functions/local).
  // (In that order: from the sources, ../../web is web/'s unbuilt page.)
  mountDashboard(
    app.app,
    dashboardDir(
      join(import.meta.dirname, '..', '..', 'dist', 'web'),
      join(import.meta.dirname, '..', '..', 'web'),
    ),
  );

  const server = await new Promise<ReturnType<typeof serve>>((ready) => {
    const s = serve({ fetch: app.app.fetch, port, hostname: env.HOST ?? '127.0.0.1' }, () => ready(s));
  });
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  if (env.STEPGATE_PUBLIC_URL === undefined) publicUrl.value = `http://localhost:${actual}`;
  await scheduler.start();
  // Started once nothing else can fail, so that a failed start leaves no child process behind.
  const warmed = mcp.registry.warm();
  return {
    url: `http://localhost:${actual}`,
    port: actual,
    inboxUrl: stores.inbox.url,
    mcp: { warmed, status: () => mcp.registry.status() },
    close: async () => {
      clearInterval(housekeepingTimer);
      scheduler.stop();
      await scheduler.idle();
      await new Promise<void>((done) => server.close(() => done()));
      await closeStores(stores, mcp.registry);
    },
  };
}

/** The MCP servers of the config and their registry; the sandbox servers keep their state beside ours. */
function startMcp(config: StepgateConfig, home: string) {
  const servers = Object.fromEntries(
    Object.entries(config.mcpServers).map(([name, server]) => [
      name,
      'command' in server
        ? { ...server, env: { STEPGATE_SANDBOX_DIR: join(home, 'sandbox'), ...server.env } }
        : server,
    ]),
  );
  const registry = new McpRegistry(servers, {
    logger: { warn: (message) => console.warn(`mcp: ${message}`) },
  });
  return { servers, registry };
}

/** What startStores needs: the environment, the data folder, the config, the clock and the vault's key. */
interface StoreOptions {
  env: NodeJS.ProcessEnv;
  home: string;
  config: StepgateConfig;
  clock: Clock;
  key: Uint8Array;
  registry: McpRegistry;
}

/** The stores on the engine's database, the engine, the tool pipeline and the notifier with its inbox. */
type Stores = Awaited<ReturnType<typeof startStores>>;

/**
 * The embedded engine and the stores on its database, the tool pipeline, and the notifier with the
 * development inbox. The engine needs its tools and notifier up front; they need the engine's database:
 * they are bound late, and so is the approval notifier (startApprovalLinks sets it).
 */
async function startStores({ env, home, config, clock, key, registry }: StoreOptions) {
  const late: { pipeline?: ToolPipeline; notifier?: ChannelNotifier; approvalNotifier?: ApprovalNotifier } =
    {};
  // Live run pages (GET /api/runs/:id/events) hear of every audit entry as it is committed.
  const auditListeners = new Map<string, Set<() => void>>();
  const engine = createEmbeddedEngine({
    onAudit: (runId) => {
      for (const changed of auditListeners.get(runId) ?? []) changed();
    },
    file: join(home, 'stepgate.db'),
    clock,
    directory: { user: (email) => directory.user(email), resolve: (spec) => directory.resolve(spec) },
    tools: { call: (request, context) => (late.pipeline as ToolPipeline).call(request, context) },
    notifier: { send: (request) => (late.notifier as ChannelNotifier).send(request) },
    approvalNotifier: {
      requested: (record) => (late.approvalNotifier as ApprovalNotifier).requested(record),
    },
  });
  // Checkpoints on a thread of their own, so no request waits behind one.
  const checkpointer = startWalCheckpointer(engine.db, join(home, 'stepgate.db'));
  const directory = new SqliteDirectory(engine.db);
  const vault = new SqliteVault(engine.db, key);
  const limiter = new SqliteRateLimiter(engine.db);
  const pipeline = new ToolPipeline({ registry, vault, policy: config.policy, limiter, clock });
  const inboxDb = openDatabase(join(home, 'inbox.db'));
  const inbox = await startSmtpInbox({ db: inboxDb, port: Number(env.STEPGATE_SMTP_PORT ?? 0) });
  const notifier = new ChannelNotifier({
    vault,
    config: {
      email: { defaultUrl: inbox.url, from: 'stepgate@localhost' },
      devInboxFallback: config.notifications.devInboxFallback === true,
    },
    ssrf: createSsrfGuard({
      allowHosts: (config.notifications.allowHosts ?? []).map((host) => host.toLowerCase()),
      allowPrivate: config.notifications.allowPrivateNetworks === true,
    }),
    clock,
  });
  late.pipeline = pipeline;
  late.notifier = notifier;
  return {
    engine,
    checkpointer,
    directory,
    vault,
    limiter,
    pipeline,
    inboxDb,
    inbox,
    notifier,
    auditListeners,
    late,
  };
}

/** Closes what startMcp and startStores opened, the engine's database last. */
async function closeStores(stores: Stores, registry: McpRegistry): Promise<void> {
  await stores.engine.host.close();
  await stores.checkpointer.stop();
  await registry.close();
  await stores.inbox.close();
  stores.inboxDb.close();
  stores.engine.db.close();
}

/** The config's users, with the demo password for every one but service accounts when it has one. */
async function seedDirectory(directory: SqliteDirectory, config: StepgateConfig): Promise<void> {
  await directory.seed(
    config.directory.users.map((u) => ({
      ...u,
      ...(config.directory.demoPassword !== undefined && u.service !== true
        ? { password: config.directory.demoPassword }
        : {}),
    })),
  );
}

/** The gallery's templates; each one not published yet is published as the system's. */
async function installTemplates(workflows: SqliteWorkflowStore, clock: Clock): Promise<TemplateEntry[]> {
  const templates = TEMPLATES === undefined ? [] : readGallery(TEMPLATES);
  await installMissing(templates, workflows, clock);
  return templates;
}

/** Signed approval links, and the approval notifier that sends them (bound into the engine here). */
function startApprovalLinks(
  stores: Stores,
  config: StepgateConfig,
  clock: Clock,
  key: Uint8Array,
  publicUrl: { value: string },
) {
  const { engine } = stores;
  const store = new SqliteApprovalLinkStore(engine.db);
  const links = new ApprovalLinks({
    secret: approvalKeys(key).linkSecret,
    store,
    approvals: engine.approvals,
    approvalStore: engine.store,
    recordAudit: async (runId, entry) => engine.host.recordAudit(runId, entry),
    clock,
    requireLogin: config.approvals.requireLogin === true,
    get baseUrl() {
      return publicUrl.value;
    },
  });
  stores.late.approvalNotifier = linkNotifier({
    links,
    notifier: stores.notifier,
    directory: stores.directory,
    recordAudit: async (runId, entry) => engine.host.recordAudit(runId, entry),
  });
  return { links, store };
}

/**
 * Runs the prunes now and then hourly; the timer does not keep the process alive. A failure on the timer
 * is an unhandled rejection, which stops the server as a throw here always did.
 */
async function startHousekeeping(
  clock: Clock,
  prunes: Array<(now: number) => unknown>,
): Promise<NodeJS.Timeout> {
  const housekeeping = async () => {
    const now = clock.now();
    for (const prune of prunes) await prune(now);
  };
  await housekeeping();
  return setInterval(() => void housekeeping(), HOUSEKEEPING_INTERVAL_MS).unref();
}

/** What httpApp wires into the HTTP API. */
interface HttpParts {
  env: NodeJS.ProcessEnv;
  config: StepgateConfig;
  clock: Clock;
  stores: Stores;
  mcp: ReturnType<typeof startMcp>;
  workflows: SqliteWorkflowStore;
  templates: TemplateEntry[];
  deliveries: SqliteWebhookDeliveryStore;
  scheduler: Scheduler;
  /** The master key (chat's confirmation key is derived from it). */
  key: Uint8Array;
}

/** The HTTP API and the request authentication it uses (session cookies, API tokens, OIDC JWTs). */
function httpApp({
  env,
  config,
  clock,
  stores,
  mcp,
  workflows,
  templates,
  deliveries,
  scheduler,
  key,
}: HttpParts) {
  const { engine, directory, vault, limiter, inbox, auditListeners } = stores;
  const { limits } = config;
  const sessions = new SqliteSessionStore(engine.db);
  const tokens = new SqliteApiTokenStore(engine.db);
  const secure = env.STEPGATE_SECURE_COOKIES === 'true';
  // Session cookies, API tokens and, with an `oidc:` section, the issuer's JWTs (users must be in the directory).
  const authDeps = {
    directory,
    sessions,
    tokens,
    oidc: config.oidc === undefined ? null : createOidcVerifier(config.oidc),
  };
  const authenticateRequest = (c: Context) =>
    authenticate(
      { cookie: c.req.header('cookie') ?? null, authorization: c.req.header('authorization') ?? null },
      authDeps,
    );
  const throttle = new LoginThrottle({ counter: limiter, clock, limits: limits.login });
  const app = createApp({
    authenticate: authenticateRequest,
    bodyLimits: config.limits.bodyBytes,
    login: sessionLogin({
      directory,
      sessions,
      throttle,
      secure,
      // The socket's peer; behind a trusted proxy, the address the proxy appended to X-Forwarded-For.
      clientAddress: (c) =>
        (limits.trustProxy ? c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim() : undefined) ||
        (getConnInfo(c).remote.address ?? 'unknown'),
    }),
    webhooks: {
      secrets: vaultWebhookSecrets(vault),
      deliveries,
      user: (email) => directory.user(email),
    },
    users: directory,
    schedules: { scheduler },
    admin: {
      directory,
      vault,
      tokens,
      sessions,
      mcp: { servers: mcp.servers, registry: mcp.registry },
      templates,
    },
    // A chat start that can reach a write tool waits for a confirmation signed with a key of its own.
    chat: { confirmKey: chatConfirmKey(key), policy: config.policy },
    limits: { jsonDepth: limits.jsonDepth, perUser: new UserLimits({ counter: limiter, clock, limits }) },
    runEvents: {
      subscribe: (runId, changed) => {
        const listeners = auditListeners.get(runId) ?? new Set();
        auditListeners.set(runId, listeners.add(changed));
        return () => {
          listeners.delete(changed);
          if (listeners.size === 0) auditListeners.delete(runId);
        };
      },
    },
    workflows,
    tools: { lookup: (name) => mcp.registry.lookup(name) },
    host: engine.host,
    approvals: engine.approvals,
    approvalStore: engine.store,
    clock,
    inbox,
  });
  return { app, authenticate: authenticateRequest };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  startServer()
    .then((running) => {
      const config = loadConfig(process.env.STEPGATE_CONFIG);
      console.log(`Stepgate is running on ${running.url}`);
      console.log(`API: ${running.url}/api/openapi.json · development mail inbox: ${running.inboxUrl}`);
      if (config.directory.demoPassword !== undefined) {
        console.log(
          `Log in (POST ${running.url}/api/login) as one of these demo users, password '${config.directory.demoPassword}':`,
        );
        // Service accounts (a webhook's runAs) have no password: nobody can log in as them.
        for (const user of config.directory.users.filter((u) => u.service !== true))
          console.log(`  ${user.email.padEnd(22)} ${user.role}`);
      }
      const stop = () => {
        void running.close().then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    })
    .catch((error: unknown) => {
      console.error(errorMessage(error));
      process.exit(1);
    });
}
