// The API of the Azure Functions app: the same Hono app the local server, AWS and GCP serve (createApp
// and the approval pages), composed over AzureDeps, with the dashboard on the same origin (the bundle
// carries dist/web beside index.js, as the GCP bundle does). No streaming: the run-events route answers
// the run's view once and the dashboard polls (`runEvents.once`), so no request holds an instance open.
//
// The caller's address, which the login throttle and the per-user limits count by: App Service's front end
// (which fronts a Functions app) sets Client-IP to the address it received the request from, as `ip:port`,
// overwriting any Client-IP the caller sent, and appends the same `ip:port` to X-Forwarded-For, after any
// entries the caller wrote (Azure/app-service-linux-docs "Headers on Azure App Service"). So Client-IP, or
// else X-Forwarded-For's LAST entry (as the local server reads it behind a trusted proxy), without its port:
// the first entry is whatever the caller claims. Behind Front Door, the address is X-Azure-ClientIP's and
// the deployment must say so; the app as deployed here is reached directly.
import { join } from 'node:path';
import type { Context, Hono } from 'hono';
import { authenticate } from '../core/auth.js';
import { createApp } from '../core/http/app.js';
import { mountApprovalPages } from '../core/http/approval-pages.js';
import { dashboardDir, mountDashboard } from '../core/http/dashboard.js';
import { sessionLogin, vaultWebhookSecrets } from '../core/http/session-login.js';
import type { Env } from '../core/http/types.js';
import { LoginThrottle } from '../core/login-throttle.js';
import type { DurableHost } from '../core/ports.js';
import { UserLimits } from '../core/user-limits.js';
import type { AzureDeps } from './deps.js';
import { azureScheduler } from './schedules.js';
import { type AzureTools, azureApprovals, type PlatformKeys } from './services.js';

/** An address without the port Azure's front end appends: `1.2.3.4:5678`, `[::1]:5678`; a bare IPv6 kept. */
export function withoutPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4?.[1] ?? hop;
}

/** The caller's address: Client-IP, else X-Forwarded-For's last entry, without a port (see the top). */
export function clientAddress(c: Context): string {
  const hop = c.req.header('client-ip')?.trim() || c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
  return hop ? withoutPort(hop) : 'unknown';
}

/** What the API uses besides the deps, built once per instance. */
export interface ApiServices {
  keys: PlatformKeys;
  tools: AzureTools;
  /** The run host over the durable client (AzureDeps.host). */
  host: DurableHost;
}

/** The API over AzureDeps: createApp with login, webhooks, approvals, schedules and administration, the link pages. */
export function createAzureApi(deps: AzureDeps, services: ApiServices): Hono<Env> {
  const { config, clock } = deps;
  const { host } = services;
  const directory = deps.directory();
  const sessions = deps.sessions();
  const tokens = deps.tokens();
  const limiter = deps.limiter();
  const approvals = azureApprovals(deps, services.keys, host);
  const authenticateRequest = (c: Context) =>
    authenticate(
      { cookie: c.req.header('cookie') ?? null, authorization: c.req.header('authorization') ?? null },
      { directory, sessions, tokens, oidc: null },
    );
  const throttle = new LoginThrottle({ counter: limiter, clock, limits: config.limits.login });
  const app = createApp({
    authenticate: authenticateRequest,
    bodyLimits: config.limits.bodyBytes,
    login: sessionLogin({
      directory,
      sessions,
      throttle,
      // The cookie travels over HTTPS only, but for a test's http:// public URL.
      secure: config.publicUrl.startsWith('https:'),
      clientAddress,
    }),
    webhooks: {
      secrets: vaultWebhookSecrets(deps.vault()),
      deliveries: deps.deliveries(),
      user: (email) => directory.user(email),
    },
    users: directory,
    schedules: { scheduler: azureScheduler(deps, host) },
    admin: {
      directory,
      vault: deps.vault(),
      tokens,
      sessions,
      mcp: { servers: config.mcpServers, registry: services.tools.registry },
      templates: deps.templates,
    },
    chat: { confirmKey: services.keys.chatKey, policy: config.policy },
    limits: {
      jsonDepth: config.limits.jsonDepth,
      perUser: new UserLimits({ counter: limiter, clock, limits: config.limits }),
    },
    runEvents: { once: true, pollMs: 2_000 },
    workflows: deps.workflows(),
    tools: { lookup: (name) => services.tools.registry.lookup(name) },
    host,
    approvals: approvals.approvals,
    approvalStore: approvals.store,
    clock,
  });
  mountApprovalPages(app, {
    links: approvals.links,
    authenticateOptional: async (c) => (await authenticateRequest(c))?.identity ?? null,
    audit: (runId) => host.audit(runId),
    directory,
  });
  mountDashboard(app, azureDashboardDir());
  return app;
}

/**
 * The built dashboard: web/ beside the bundle (scripts/bundle-azure.ts copies dist/web there), or the
 * repository's dist/web when the functions run from the sources (tests).
 */
export function azureDashboardDir(): string | undefined {
  return dashboardDir(join(import.meta.dirname, 'web'), join(import.meta.dirname, '..', '..', 'dist', 'web'));
}
