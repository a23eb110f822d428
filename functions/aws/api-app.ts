// The HTTP API of the AWS deployment: the same Hono app the local server mounts (createApp, the approval
// pages), composed from the AWS ports, for API Gateway's HTTP API (payload v2) through `hono/aws-lambda`.
// What other parts of the deployment provide (the Step Functions run host, approval decisions answering
// task tokens, schedules, the platform keys) comes in as AwsApiParts.
//
// The dashboard is not served here: its files go to S3 behind CloudFront, which also routes /api/* and
// /approve/* to this API so the dashboard and the API share one origin (the session cookie and CSRF need
// it). Serving them from the Lambda would put every asset through an invocation and API Gateway's base64
// binary path, and the built dashboard (dist/web) would have to ship inside a bundle kept under 1.5 MB.
// Live run events: API Gateway's HTTP API buffers responses, so GET /api/runs/:id/events is not served
// as a stream here; the dashboard polls the run (a streaming Function URL can serve it later).
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Context, Hono } from 'hono';
import { authenticate, readCookie, SESSION_COOKIE, sessionCookie } from '../core/auth.js';
import { type AppDeps, createApp } from '../core/http/app.js';
import { mountApprovalPages } from '../core/http/approval-pages.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { Env } from '../core/http/types.js';
import { LoginThrottle } from '../core/login-throttle.js';
import type { Notifier, WorkflowStore } from '../core/ports.js';
import { UserLimits } from '../core/user-limits.js';
import { type ApprovalDecisions, awsApprovals, type PlatformKeys } from './approvals.js';
import { channelNotifier } from './notifier.js';
import type { AwsPorts } from './ports.js';
import { awsTools } from './tools.js';

const SESSION_TTL_MS = 12 * 3_600_000;

/** What the API takes from the parts of the AWS deployment written elsewhere. */
export interface AwsApiParts {
  /** Starts, reads, lists and cancels runs: the Step Functions DurableHost. */
  host: AppDeps['host'];
  /** How a decided level answers its task token. */
  decisions: ApprovalDecisions;
  keys: PlatformKeys;
  /** /api/schedules, when the EventBridge Scheduler sync is there. */
  schedules?: AppDeps['schedules'];
  /** The template gallery (installed as state machines at deploy time). */
  templates?: TemplateEntry[];
  /** The approvers' emails; by default the ChannelNotifier (notifier.ts). */
  notifier?: Notifier;
  /** The workflow store the API saves through (runs.ts: deploying each version); default the ports'. */
  workflows?: WorkflowStore;
}

/** The caller's address as API Gateway saw it (payload v2); the login throttle counts by it. */
export function sourceIp(c: Context): string {
  const env = c.env as { requestContext?: APIGatewayProxyEventV2['requestContext'] } | undefined;
  return env?.requestContext?.http?.sourceIp ?? 'unknown';
}

/** The API on the AWS ports: createApp with login, webhooks, approvals and administration, and the link pages. */
export function createAwsApi(ports: AwsPorts, parts: AwsApiParts): Hono<Env> {
  const { config, clock } = ports;
  const directory = ports.directory();
  const sessions = ports.sessions();
  const tokens = ports.tokens();
  const limiter = ports.limiter();
  const approvals = awsApprovals(ports, {
    keys: parts.keys,
    decisions: parts.decisions,
    notifier: parts.notifier ?? channelNotifier(ports),
  });
  const authenticateRequest = (c: Context) =>
    authenticate(
      { cookie: c.req.header('cookie') ?? null, authorization: c.req.header('authorization') ?? null },
      { directory, sessions, tokens, oidc: null },
    );
  // The public URL says whether the cookie travels over HTTPS only (always, but for a test on http://).
  const secure = config.publicUrl?.startsWith('https:') ?? true;
  const throttle = new LoginThrottle({ counter: limiter, clock, limits: config.limits.login });
  const app = createApp({
    authenticate: authenticateRequest,
    bodyLimits: config.limits.bodyBytes,
    login: {
      login: async (email, password, address) => {
        const identity = await throttle.attempt(email, address, () =>
          directory.verifyPassword(email, password),
        );
        if (identity === null) return null;
        return { ...(await sessions.createSession(identity.email, SESSION_TTL_MS)), identity };
      },
      logout: (token) => sessions.deleteSession(token),
      cookie: (token, expiresAt) => sessionCookie(token, expiresAt, { secure }),
      sessionToken: (c) => readCookie(c.req.header('cookie'), SESSION_COOKIE),
      clientAddress: sourceIp,
    },
    webhooks: {
      secrets: async (workflowId) => {
        const names = [`webhook.${workflowId}`, `webhook.${workflowId}.previous`];
        const found = await ports.vault().resolve({ email: '', groups: [] }, names);
        return names.flatMap((name) => (found.values[name] === undefined ? [] : [found.values[name]]));
      },
      deliveries: ports.deliveries(),
      user: (email) => directory.user(email),
    },
    users: directory,
    ...(parts.schedules === undefined ? {} : { schedules: parts.schedules }),
    admin: {
      directory,
      vault: ports.vault(),
      tokens,
      sessions,
      mcp: { servers: config.mcpServers, registry: awsTools(ports).registry },
      templates: parts.templates ?? [],
    },
    chat: true,
    limits: {
      jsonDepth: config.limits.jsonDepth,
      perUser: new UserLimits({ counter: limiter, clock, limits: config.limits }),
    },
    workflows: parts.workflows ?? ports.workflows(),
    host: parts.host,
    approvals: approvals.approvals,
    approvalStore: approvals.store,
    clock,
  });
  mountApprovalPages(app, {
    links: approvals.links,
    authenticateOptional: async (c) => (await authenticateRequest(c))?.identity ?? null,
    audit: (runId) => ports.audit().list(runId),
  });
  return app;
}
