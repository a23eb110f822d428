// The HTTP API of the AWS deployment: the same Hono app the local server mounts (createApp, the approval
// pages), composed from the AWS ports, for API Gateway's HTTP API (payload v2) through `hono/aws-lambda`.
// What other parts of the deployment provide (the Step Functions run host, approval decisions answering
// task tokens, schedules, the platform keys) comes in as AwsApiParts.
//
// The dashboard is not served here: its files go to S3 behind CloudFront, which also routes /api/* and
// /approve/* to this API so the dashboard and the API share one origin (the session cookie and CSRF need
// it). Serving them from the Lambda would put every asset through an invocation and API Gateway's base64
// binary path, and the built dashboard (dist/web) would have to ship inside a bundle kept under 1.5 MB.
// Live run events: API Gateway's HTTP API buffers responses, so GET /api/runs/:id/events answers the run's
// view at once and ends, with the SSE `retry` saying when to ask again (the dashboard then polls); a
// streaming Function URL could serve a real stream later.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type Context, Hono } from 'hono';
import { authenticate } from '../core/auth.js';
import { type AppDeps, createApp } from '../core/http/app.js';
import { mountApprovalPages } from '../core/http/approval-pages.js';
import { problemResponse } from '../core/http/problem.js';
import { sessionLogin, vaultWebhookSecrets } from '../core/http/session-login.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { Env } from '../core/http/types.js';
import { HttpError } from '../core/http-error.js';
import { LoginThrottle } from '../core/login-throttle.js';
import type { Notifier, WorkflowStore } from '../core/ports.js';
import { UserLimits } from '../core/user-limits.js';
import { type ApprovalDecisions, awsApprovals, type PlatformKeys } from './approvals.js';
import { channelNotifier } from './notifier.js';
import { ORIGIN_KEY_HEADER, VIEWER_ADDRESS_HEADER } from './origin.js';
import type { AwsPorts } from './ports.js';
import { awsTools } from './tools.js';

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
  /**
   * Behind the stack's CloudFront distribution: the key CloudFront sends in ORIGIN_KEY_HEADER. A request
   * without it did not come through the distribution and is refused, and the caller's address is the one
   * CloudFront saw (VIEWER_ADDRESS_HEADER, which its function sets, overwriting any the client sent) —
   * API Gateway's own source address is then a CloudFront edge, shared by many viewers.
   */
  originKey?: string;
}

/** The caller's address behind CloudFront: the viewer's, as CloudFront's function recorded it. */
function viewerAddress(c: Context): string {
  return c.req.header(VIEWER_ADDRESS_HEADER) ?? 'unknown';
}

/**
 * `app` reachable only through CloudFront: a request without the origin key (compared in constant time) is
 * answered 403 before any route runs.
 */
function throughCloudFront(app: Hono<Env>, originKey: string): Hono<Env> {
  const expected = createHash('sha256').update(originKey).digest();
  const outer = new Hono<Env>();
  outer.use('*', async (c, next) => {
    const given = createHash('sha256')
      .update(c.req.header(ORIGIN_KEY_HEADER) ?? '')
      .digest();
    if (!timingSafeEqual(given, expected))
      return problemResponse(
        c,
        new HttpError(
          403,
          'Forbidden',
          'Stepgate is reached through its CloudFront distribution, not directly',
        ),
      );
    await next();
  });
  outer.route('/', app);
  return outer;
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
  const tools = awsTools(ports);
  const app = createApp({
    authenticate: authenticateRequest,
    bodyLimits: config.limits.bodyBytes,
    login: sessionLogin({
      directory,
      sessions,
      throttle,
      secure,
      clientAddress: parts.originKey === undefined ? sourceIp : viewerAddress,
    }),
    webhooks: {
      secrets: vaultWebhookSecrets(ports.vault()),
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
      mcp: { servers: config.mcpServers, registry: tools.registry },
      templates: parts.templates ?? [],
    },
    chat: { confirmKey: parts.keys.chatKey, policy: config.policy },
    limits: {
      jsonDepth: config.limits.jsonDepth,
      perUser: new UserLimits({ counter: limiter, clock, limits: config.limits }),
    },
    // API Gateway buffers a response whole: each request for the run's events answers its view at once
    // and the browser's EventSource comes back for the next (every 2 s).
    runEvents: { once: true, pollMs: 2_000 },
    workflows: parts.workflows ?? ports.workflows(),
    tools: { lookup: (name) => tools.registry.lookup(name) },
    host: parts.host,
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
  return parts.originKey === undefined ? app : throughCloudFront(app, parts.originKey);
}
