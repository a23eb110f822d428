// The HTTP API, written once (Hono): the local server serves it with Node, and the cloud entrypoints will
// mount the same app through their adapters. Who may call each route (role, scope, body size) is declared
// once, with its OpenAPI description, and enforced by the two middlewares of access.ts before any handler
// runs; handlers keep only object-level rules (whose run, whose approval). Errors are RFC 9457 problem
// documents naming the field.
//
// The routes live in one module per resource, each declaring its routes and their OpenAPI description
// (with role, scope and body class) in one place: account-routes.ts (login, logout, me, inbox),
// workflow-routes.ts (definitions, versions, runs started by hand or by webhook), run-routes.ts,
// approval-routes.ts, schedule-routes.ts, chat-routes.ts, and the administration's users-routes.ts (users,
// passwords), vault-routes.ts, mcp-routes.ts, template-routes.ts and token-routes.ts. createApp only orders
// the middlewares and mounts them.
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Principal } from '../auth.js';
import { HttpError } from '../http-error.js';
import { authorize, type BodyLimits, DEFAULT_BODY_LIMITS, limitBodies, routeTable } from './access.js';
import { type AccountRoutesDeps, mountAccount } from './account-routes.js';
import { type ApprovalRoutesDeps, mountApprovals } from './approval-routes.js';
import { type ChatDeps, mountChat } from './chat-routes.js';
import { NO_DIRECTORY } from './delegation-checks.js';
import { type McpRoutesDeps, mountMcp } from './mcp-routes.js';
import { OPENAPI } from './openapi.js';
import { problemResponse } from './problem.js';
import { setJsonDepth } from './request.js';
import { mountRuns, type RunRoutesDeps } from './run-routes.js';
import { mountSchedules, type ScheduleRoutesDeps } from './schedule-routes.js';
import { mountTemplates, type TemplateRoutesDeps } from './template-routes.js';
import { mountTokens, type TokenRoutesDeps } from './token-routes.js';
import type { Env } from './types.js';
import { mountUsers, type UsersRoutesDeps } from './users-routes.js';
import { mountVault, type VaultRoutesDeps } from './vault-routes.js';
import { mountSignedWebhooks, mountWorkflows, type WorkflowRoutesDeps } from './workflow-routes.js';

export type { LoginDeps } from './account-routes.js';
export type { WebhookDeps } from './workflow-routes.js';

/** What the administration routes need beyond the app's own deps (its workflows, clock and users). */
export type AdminDeps = Omit<
  UsersRoutesDeps & VaultRoutesDeps & McpRoutesDeps & TemplateRoutesDeps & TokenRoutesDeps,
  'workflows' | 'clock' | 'users'
>;

export interface AppDeps
  extends AccountRoutesDeps,
    WorkflowRoutesDeps,
    Omit<RunRoutesDeps, 'workflows' | 'host'>,
    ApprovalRoutesDeps {
  authenticate(c: Context): Promise<Principal | null>;
  /** The largest body each route class reads (the config's `limits.bodyBytes`). */
  bodyLimits?: Partial<BodyLimits>;
  host: WorkflowRoutesDeps['host'] & RunRoutesDeps['host'];
  /** Schedules (schedule-routes.ts): mounted under /api/schedules when given. */
  schedules?: Omit<ScheduleRoutesDeps, 'workflows'>;
  /** Chat starts and questions (chat-routes.ts): POST /api/chat and /api/chat/confirm when given. */
  chat?: ChatDeps;
  /** Users, vault entries, MCP servers, templates and API tokens: mounted when given. */
  admin?: AdminDeps;
}

/** Who may call what: every operation of the OpenAPI document with its role, scope and body class. */
export const ROUTES = routeTable(OPENAPI.paths);

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const bodyLimits = { ...DEFAULT_BODY_LIMITS, ...deps.bodyLimits };

  app.onError((error, c) => problemResponse(c, error));
  app.notFound((c) =>
    problemResponse(c, new HttpError(404, 'Not found', `no route ${c.req.method} ${c.req.path}`)),
  );
  // Before anything reads a body: the route's body limit, and a 404 for an /api route the table lacks.
  app.use('*', limitBodies(ROUTES, bodyLimits));
  if (deps.limits !== undefined) {
    const depth = deps.limits.jsonDepth;
    app.use('*', async (c, next) => {
      setJsonDepth(c, depth);
      await next();
    });
  }
  app.get('/api/health', (c) => c.json({ ok: true }));
  app.get('/api/openapi.json', (c) => c.json(OPENAPI));
  // A signed webhook delivery authenticates itself (its signature), on the run route only.
  mountSignedWebhooks(app, deps);

  // Everything below is the table's: the caller, the route's role and scope, CSRF on a session.
  app.use('*', authorize(ROUTES, deps.authenticate));
  mountAccount(app, deps);
  mountWorkflows(app, deps);
  mountRuns(app, deps);
  mountApprovals(app, deps);
  if (deps.schedules !== undefined) mountSchedules(app, { ...deps.schedules, workflows: deps.workflows });
  if (deps.chat !== undefined)
    mountChat(app, {
      ...deps.chat,
      workflows: deps.workflows,
      host: deps.host,
      approvalStore: deps.approvalStore,
      clock: deps.clock,
      ...(deps.tools === undefined ? {} : { tools: deps.tools }),
      ...(deps.limits === undefined ? {} : { perUser: deps.limits.perUser }),
    });
  if (deps.admin !== undefined) {
    const admin = {
      ...deps.admin,
      workflows: deps.workflows,
      clock: deps.clock,
      users: deps.users ?? NO_DIRECTORY,
    };
    mountUsers(app, admin);
    mountVault(app, admin);
    mountMcp(app, admin);
    mountTemplates(app, admin);
    mountTokens(app, admin);
  }
  return app;
}
