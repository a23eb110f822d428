// The `api` function: the same Hono app the local server and AWS serve (createApp and the approval pages),
// composed over the GCP ports, behind functions-framework, with the dashboard on the same origin as the
// local server serves it (the bundle carries dist/web; a Cloud Run function has no size limit that forbids
// it, unlike a Lambda, whose dashboard is on S3). The framework hands over an Express request whose
// body it has already parsed; the app is given a fetch Request rebuilt from the raw bytes (`rawBody`), the
// method, the headers and the URL (scheme from X-Forwarded-Proto, which Cloud Run sets), and its Response is
// written back whole: status, headers (each Set-Cookie as a header of its own), body. No streaming: the
// run-events route answers the run's view once and the dashboard polls (`runEvents.once`), so no request
// holds an instance open.
//
// The caller's address, which the login throttle counts by, is X-Forwarded-For's first hop: Cloud Run's
// front end puts the address it received the request from there. (Behind an external load balancer the
// client's own X-Forwarded-For would come first: that deployment must read the hop the balancer added.)
// A decided approval level posts its outcome to the level's callback URL with the function's identity.
import { join } from 'node:path';
import type { Request as FrameworkRequest, HttpFunction, Response } from '@google-cloud/functions-framework';
import type { Context, Hono } from 'hono';
import { errorMessage } from '../../translator/util.js';
import { authenticate } from '../core/auth.js';
import { createApp } from '../core/http/app.js';
import { mountApprovalPages } from '../core/http/approval-pages.js';
import { dashboardDir, mountDashboard } from '../core/http/dashboard.js';
import { sessionLogin, vaultWebhookSecrets } from '../core/http/session-login.js';
import type { Env } from '../core/http/types.js';
import { LoginThrottle } from '../core/login-throttle.js';
import type { Notifier } from '../core/ports.js';
import { UserLimits } from '../core/user-limits.js';
import type { GcpDeps } from './ports.js';
import { type GcpTools, gcpApprovals, type PlatformKeys } from './services.js';

/** The caller's address: X-Forwarded-For's first hop, as Cloud Run sets it (see the top). */
export function forwardedFor(c: Context): string {
  return c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown';
}

/** What the API uses besides the deps, built once per instance. */
export interface ApiServices {
  keys: PlatformKeys;
  notifier: Notifier;
  tools: GcpTools;
}

/** The API over the GCP ports: createApp with login, webhooks, approvals and administration, and the link pages. */
export function createGcpApi(deps: GcpDeps, services: ApiServices): Hono<Env> {
  const { ports } = deps;
  const { config, clock } = ports;
  const directory = ports.directory();
  const sessions = ports.sessions();
  const tokens = ports.tokens();
  const limiter = ports.limiter();
  const approvals = gcpApprovals(ports, { keys: services.keys, notifier: services.notifier, deciding: deps });
  const authenticateRequest = (c: Context) =>
    authenticate(
      { cookie: c.req.header('cookie') ?? null, authorization: c.req.header('authorization') ?? null },
      { directory, sessions, tokens, oidc: null },
    );
  const throttle = new LoginThrottle({ counter: limiter, clock, limits: config.limits.login });
  const host = deps.host();
  const app = createApp({
    authenticate: authenticateRequest,
    bodyLimits: config.limits.bodyBytes,
    login: sessionLogin({
      directory,
      sessions,
      throttle,
      // The cookie travels over HTTPS only, but for a test's http:// public URL.
      secure: config.publicUrl?.startsWith('https:') ?? true,
      clientAddress: forwardedFor,
    }),
    webhooks: {
      secrets: vaultWebhookSecrets(ports.vault()),
      deliveries: ports.deliveries(),
      user: (email) => directory.user(email),
    },
    users: directory,
    ...(deps.schedules === undefined ? {} : { schedules: deps.schedules() }),
    admin: {
      directory,
      vault: ports.vault(),
      tokens,
      sessions,
      mcp: { servers: config.mcpServers, registry: services.tools.registry },
      templates: deps.templates ?? [],
    },
    chat: { confirmKey: services.keys.chatKey, policy: config.policy },
    limits: {
      jsonDepth: config.limits.jsonDepth,
      perUser: new UserLimits({ counter: limiter, clock, limits: config.limits }),
    },
    runEvents: { once: true, pollMs: 2_000 },
    workflows: deps.deployingWorkflows?.() ?? ports.workflows(),
    tools: { lookup: (name) => services.tools.registry.lookup(name) },
    host,
    approvals: approvals.approvals,
    approvalStore: approvals.store,
    clock,
  });
  mountApprovalPages(app, {
    links: approvals.links,
    authenticateOptional: async (c) => (await authenticateRequest(c))?.identity ?? null,
    audit: (runId) => ports.audit().list(runId),
    directory,
  });
  mountDashboard(app, gcpDashboardDir());
  return app;
}

/**
 * The built dashboard: web/ beside the bundle (scripts/bundle-gcp.ts copies dist/web there), or the
 * repository's dist/web when the functions run from the sources (tests).
 */
export function gcpDashboardDir(): string | undefined {
  return dashboardDir(join(import.meta.dirname, 'web'), join(import.meta.dirname, '..', '..', 'dist', 'web'));
}

/** The fetch Request the app reads, rebuilt from the framework's Express request. */
export function fetchRequest(req: FrameworkRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else if (typeof value === 'string') headers.set(name, value);
  }
  const scheme = req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ? 'https' : 'http';
  const url = new URL(req.originalUrl || req.url, `${scheme}://${req.header('host') ?? 'localhost'}`);
  const bodyless = req.method === 'GET' || req.method === 'HEAD';
  const raw = req.rawBody ?? (typeof req.body === 'string' ? Buffer.from(req.body) : undefined);
  return new Request(url, {
    method: req.method,
    headers,
    ...(bodyless || raw === undefined ? {} : { body: new Uint8Array(raw) }),
  });
}

/** Writes the app's Response: status, headers with every Set-Cookie kept apart, the body whole. */
export async function writeResponse(answer: globalThis.Response, res: Response): Promise<void> {
  res.status(answer.status);
  for (const [name, value] of answer.headers) if (name !== 'set-cookie') res.setHeader(name, value);
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  res.end(Buffer.from(await answer.arrayBuffer()));
}

/** The app as an HTTP function (built on the first request of the instance). */
export function apiFunction(app: () => Promise<Hono<Env>>): HttpFunction {
  return async (req, res) => {
    try {
      await writeResponse(await (await app()).fetch(fetchRequest(req)), res);
    } catch (error) {
      console.error(`api: ${errorMessage(error)}`);
      if (!res.headersSent)
        res
          .status(500)
          .json({ error: { code: 'internal', message: "api failed; the function's log has the detail" } });
    }
  };
}
