// The HTTP API, written once (Hono): the local server serves it with Node, and the cloud entrypoints will
// mount the same app through their adapters. Who may call each route (role, scope, body size) is declared
// once, with its OpenAPI description, and enforced by the two middlewares of access.ts before any handler
// runs; handlers keep only object-level rules (whose run, whose approval). Errors are RFC 9457 problem
// documents naming the field.
//
//   GET    /api/health
//   GET    /api/me
//   GET    /api/workflows                     list (latest versions)
//   GET    /api/workflows/:id                 the latest version, with its source
//   GET    /api/workflows/:id/versions
//   GET    /api/workflows/:id/versions/:version   one version, with its source (what a run ran)
//   PUT    /api/workflows/:id                 create or update from YAML/JSON (lead+); 422 with diagnostics;
//                                              403 unless the caller holds what it delegates (delegation.ts)
//   POST   /api/workflows/validate            check a definition without saving (lead+): { valid, diagnostics }
//   DELETE /api/workflows/:id                 (manager+); changing or deleting needs the role the workflow grants
//   POST   /api/workflows/:id/run             manual trigger: the trigger's minRole, input checked
//   GET    /api/runs?status=&workflowId=&triggeredBy=&from=&to=&limit=   runs, newest first (member+)
//   GET    /api/runs/:id                      the run view: trigger, every step's state, attempts, approvals
//   GET    /api/runs/:id/events               the run view as Server-Sent Events, again whenever it changes
//   GET    /api/runs/:id/audit                the audit trail as JSON Lines (secrets redacted)
//   POST   /api/runs/:id/cancel               the trigger's user or manager+
//   GET    /api/approvals                     the caller's pending approvals
//   POST   /api/approvals/:runId/:stepId      decide { decision: approve|reject, comment? }
//   POST   /api/chat                          { message, context? }: start a workflow by chat (chat-routes.ts)
//   GET    /api/openapi.json

import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type {
  ApprovalStore,
  AuditRecord,
  Clock,
  DurableHost,
  RunRecord,
  WebhookDeliveryStore,
} from '../../../adapters/ports.js';
import type { Diagnostic } from '../../../translator/diagnostics.js';
import { validateWorkflow } from '../../../translator/validate.js';
import type { ApprovalService } from '../approvals.js';
import { hasScope, type Principal } from '../auth.js';
import type { DelegationDirectory } from '../delegation.js';
import { isEmail } from '../identity.js';
import type { Identity, RunStatus, RunTrigger } from '../protocol.js';
import { redactAuditRecord, runSummary, runView } from '../run-view.js';
import {
  acceptWebhook,
  parseWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  webhookDeliveryId,
} from '../triggers/webhook.js';
import type { UserLimits } from '../user-limits.js';
import { authorize, type BodyLimits, DEFAULT_BODY_LIMITS, limitBodies, routeTable } from './access.js';
import { type AdminRoutesDeps, mountAdmin } from './admin-routes.js';
import { type ChatDeps, mountChat } from './chat-routes.js';
import {
  NO_DIRECTORY,
  requireDelegationHolds,
  requireEditable,
  requirePublishable,
} from './delegation-checks.js';
import { OPENAPI } from './openapi.js';
import { HttpProblem, problemResponse } from './problem.js';
import { atLeast, checkedInput, jsonBody, requireStarter, setJsonDepth } from './request.js';
import { mountSchedules, type ScheduleRoutesDeps } from './schedule-routes.js';

/** Who is calling, as the authenticator established it (functions/core/auth.ts). */
export type { Principal } from '../auth.js';

/** Webhook deliveries (`auth: signature` triggers): their secrets, idempotency and who the run acts as. */
export interface WebhookDeps {
  /** The workflow's signing secrets, newest first (several during a rotation); empty: not configured. */
  secrets(workflowId: string): Promise<string[]>;
  deliveries: WebhookDeliveryStore;
  /** The identity a `runAs` email stands for. */
  user(email: string): Identity | undefined;
  maxBytes?: number;
}

/** Password login and logout (local users); absent where an external identity provider is the only way in. */
export interface LoginDeps {
  /** Null for a wrong email or password; throws a 429/503 problem when login is throttled (`address`). */
  login(
    email: string,
    password: string,
    address: string,
  ): Promise<{ token: string; csrf: string; expiresAt: number; identity: Identity } | null>;
  logout(token: string): Promise<void>;
  /** The Set-Cookie value for a session token (and for clearing it: token ''). */
  cookie(token: string, expiresAt: number): string;
  /** The session token of a request, if it carries one. */
  sessionToken(c: Context): string | undefined;
  /** The client's address, as login throttling counts it. */
  clientAddress(c: Context): string;
}

export interface WorkflowStore {
  save(input: {
    ir: NonNullable<ReturnType<typeof validateWorkflow>['ir']>;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): { id: string; version: number };
  get(id: string): StoredWorkflowView | undefined;
  list(): StoredWorkflowView[];
  history(id: string): StoredWorkflowView[];
  delete(id: string): boolean;
}

export interface StoredWorkflowView {
  id: string;
  version: number;
  name: string;
  format: 'yaml' | 'json';
  source: string;
  ir: NonNullable<ReturnType<typeof validateWorkflow>['ir']>;
  createdAt: number;
  createdBy: string;
}

export interface AppDeps {
  authenticate(c: Context): Promise<Principal | null>;
  /** The largest body each route class reads (the config's `limits.bodyBytes`). */
  bodyLimits?: Partial<BodyLimits>;
  login?: LoginDeps;
  webhooks?: WebhookDeps;
  /** Schedules (schedule-routes.ts): mounted under /api/schedules when given. */
  schedules?: Omit<ScheduleRoutesDeps, 'workflows'>;
  /** Chat starts (chat-routes.ts): POST /api/chat when given (`true`: the defaults). */
  chat?: true | ChatDeps;
  /** Users, vault entries, MCP servers, templates and API tokens (admin-routes.ts): mounted when given. */
  admin?: Omit<AdminRoutesDeps, 'workflows' | 'clock' | 'users'>;
  /**
   * The directory's enabled users, as the delegation checks read them (functions/core/delegation.ts).
   * Without it, nothing that makes runs act as someone else can be published, or started unless the
   * system published it.
   */
  users?: DelegationDirectory;
  workflows: WorkflowStore;
  host: Pick<DurableHost, 'startRun' | 'cancelRun'> & {
    getRun: DurableHost['getRun'];
    listRuns: DurableHost['listRuns'];
    audit(runId: string): AuditRecord[];
  };
  approvals: Pick<ApprovalService, 'decide'>;
  approvalStore: Pick<ApprovalStore, 'pendingFor'>;
  clock: Clock;
  /** Limits per request (functions/core/limits.ts): JSON and definition nesting, run starts and chat per user. */
  limits?: { jsonDepth: number; perUser: Pick<UserLimits, 'take'> };
  /** The development mail inbox (`npm start` only): mail the notifier sent, by recipient. */
  inbox?: { list(filter?: { to?: string; limit?: number }): unknown[] };
  /** GET /api/runs/:id/events: how often the run's trail is checked, and the heartbeat (real time, ms). */
  runEvents?: {
    /** How often the stream looks for changes (default 300 ms; 5 s as a safety net when `subscribe` is given). */
    pollMs?: number;
    heartbeatMs?: number;
    /** Calls `changed` whenever the run's audit grows; returns the unsubscribe. Without it, the stream polls. */
    subscribe?: (runId: string, changed: () => void) => () => void;
  };
}

type Env = { Variables: { principal: Principal } };

/** Who may call what: every operation of the OpenAPI document with its role, scope and body class. */
export const ROUTES = routeTable(OPENAPI.paths);

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const bodyLimits = { ...DEFAULT_BODY_LIMITS, ...deps.bodyLimits };

  app.onError((error, c) => problemResponse(c, error));
  app.notFound((c) =>
    problemResponse(c, new HttpProblem(404, 'Not found', `no route ${c.req.method} ${c.req.path}`)),
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

  if (deps.login !== undefined) {
    const login = deps.login;
    app.post('/api/login', async (c) => {
      const body = await jsonBody(c);
      if (typeof body.email !== 'string' || body.email === '')
        throw new HttpProblem(422, 'Invalid login', 'email is required', 'email');
      if (typeof body.password !== 'string' || body.password === '')
        throw new HttpProblem(422, 'Invalid login', 'password is required', 'password');
      const session = await login.login(body.email, body.password, login.clientAddress(c));
      // One answer for an unknown user and a wrong password: no account enumeration.
      if (session === null) throw new HttpProblem(401, 'Unauthenticated', 'wrong email or password');
      c.header('set-cookie', login.cookie(session.token, session.expiresAt));
      return c.json({ user: session.identity, csrf: session.csrf, expiresAt: session.expiresAt });
    });
  }

  // A signed webhook delivery authenticates itself (its signature), on the run route only.
  if (deps.webhooks !== undefined) {
    const webhooks = deps.webhooks;
    app.post('/api/workflows/:id/run', async (c, next) => {
      if (c.req.header(WEBHOOK_HEADERS.signature) === undefined) return next();
      return signedDelivery(c, webhooks);
    });
  }

  // Everything below is the table's: the caller, the route's role and scope, CSRF on a session.
  app.use('*', authorize(ROUTES, deps.authenticate));

  const caller = (c: Context<Env>): Identity => c.get('principal').identity;
  const users = deps.users ?? NO_DIRECTORY;

  if (deps.login !== undefined) {
    const login = deps.login;
    app.post('/api/logout', async (c) => {
      const token = login.sessionToken(c);
      if (token !== undefined) await login.logout(token);
      c.header('set-cookie', login.cookie('', 0));
      return c.body(null, 204);
    });
  }

  app.get('/api/me', (c) => {
    const principal = c.get('principal');
    return c.json({
      ...principal.identity,
      via: principal.via,
      ...(principal.csrf ? { csrf: principal.csrf } : {}),
    });
  });

  app.get('/api/workflows', (c) => {
    return c.json(deps.workflows.list().map(summary));
  });

  app.get('/api/workflows/:id', (c) => {
    return c.json(workflowView(found(deps.workflows.get(c.req.param('id')), 'workflow', c.req.param('id'))));
  });

  app.get('/api/workflows/:id/versions', (c) => {
    const versions = deps.workflows.history(c.req.param('id'));
    if (versions.length === 0) throw new HttpProblem(404, 'Not found', `no workflow '${c.req.param('id')}'`);
    return c.json(versions.map(summary));
  });

  /** A definition from the request body: its format from the content type, size-checked, validated. */
  const definitionFromBody = async (c: Context<Env>) => {
    const type = c.req.header('content-type') ?? '';
    const format = /json/i.test(type) ? 'json' : /ya?ml|text\/plain/i.test(type) ? 'yaml' : undefined;
    if (format === undefined)
      throw new HttpProblem(
        415,
        'Unsupported media type',
        'send the definition as application/yaml or application/json',
      );
    // Its size was checked while reading (the route's body class).
    const source = await c.req.text();
    const maxDepth = deps.limits?.jsonDepth;
    const result = validateWorkflow(source, format, maxDepth === undefined ? {} : { maxDepth });
    return { source, format, result } as const;
  };

  // Validation without saving (the designer's live diagnostics): always 200, `valid` says whether it would save.
  app.post('/api/workflows/validate', async (c) => {
    const { result } = await definitionFromBody(c);
    return c.json({
      valid: result.ir !== undefined,
      ...(result.ir === undefined ? {} : { id: result.ir.id }),
      diagnostics: result.diagnostics.map(diagnosticView),
    });
  });

  app.get('/api/workflows/:id/versions/:version', (c) => {
    const version = Number(c.req.param('version'));
    const stored = deps.workflows.history(c.req.param('id')).find((w) => w.version === version);
    if (stored === undefined)
      throw new HttpProblem(
        404,
        'Not found',
        `no version ${c.req.param('version')} of workflow '${c.req.param('id')}'`,
      );
    return c.json(workflowView(stored));
  });

  app.put('/api/workflows/:id', async (c) => {
    const identity = caller(c);
    const { source, format, result } = await definitionFromBody(c);
    if (result.ir === undefined) {
      return c.json(
        {
          type: 'about:blank',
          title: 'Invalid workflow',
          status: 422,
          detail: `${result.diagnostics.filter((d) => d.severity === 'error').length} problem(s) in the definition`,
          diagnostics: result.diagnostics.map(diagnosticView),
        },
        422,
        { 'content-type': 'application/problem+json' },
      );
    }
    if (result.ir.id !== c.req.param('id'))
      throw new HttpProblem(
        422,
        'Invalid workflow',
        `the definition's id is '${result.ir.id}', not '${c.req.param('id')}'`,
        'id',
      );
    const current = deps.workflows.get(result.ir.id);
    requirePublishable(result.ir, identity, current, users);
    const existed = current !== undefined;
    const saved = deps.workflows.save({
      ir: result.ir,
      source,
      format,
      by: identity.email,
      at: deps.clock.now(),
    });
    return c.json(
      {
        ...summary(found(deps.workflows.get(saved.id), 'workflow', saved.id)),
        warnings: result.diagnostics.map(diagnosticView),
      },
      existed ? 200 : 201,
    );
  });

  app.delete('/api/workflows/:id', (c) => {
    const identity = caller(c);
    const current = deps.workflows.get(c.req.param('id'));
    if (current !== undefined) requireEditable(current, identity, users);
    if (!deps.workflows.delete(c.req.param('id')))
      throw new HttpProblem(404, 'Not found', `no workflow '${c.req.param('id')}'`);
    return c.body(null, 204);
  });

  app.post('/api/workflows/:id/run', async (c) => {
    const identity = caller(c);
    const workflow = found(deps.workflows.get(c.req.param('id')), 'workflow', c.req.param('id'));
    // A machine with an API token scoped to this workflow's webhook (auth: token) starts a webhook run.
    const scopes = c.get('principal').scopes;
    const tokenHook = workflow.ir.triggers.find((t) => t.type === 'webhook' && t.auth === 'token');
    if (scopes != null && tokenHook?.type === 'webhook' && scopes.includes(`webhook:${workflow.id}`)) {
      // The token's owner answers for what the machine starts: they must be allowed to start the workflow.
      requireStarter(workflow.ir, identity);
      requireDelegationHolds(workflow, tokenHook, users);
      const runAs = tokenHook.runAs === null ? identity : deps.webhooks?.user(tokenHook.runAs);
      if (runAs === undefined)
        throw new HttpProblem(
          503,
          'Webhook not configured',
          `the trigger's runAs '${tokenHook.runAs}' is not a user`,
        );
      const input = await jsonBody(c);
      const deliveryId = deliveryOf(c, WEBHOOK_HEADERS.idempotencyKey);
      checkedInput(workflow.ir.inputs, input);
      await deps.limits?.perUser.take('runStarts', identity.email);
      const trigger: RunTrigger = {
        type: 'webhook',
        user: runAs,
        ...(runAs.email !== identity.email ? { by: identity.email } : {}),
      };
      // One run per Idempotency-Key (or webhook-id), as for signed deliveries.
      const accepted =
        deps.webhooks === undefined
          ? { runId: await startChecked(workflow, input, trigger), existing: false }
          : await startOnce(deps.webhooks, workflow, deliveryId, input, trigger);
      return c.json(
        {
          runId: accepted.runId,
          workflowId: workflow.id,
          version: workflow.version,
          ...(accepted.existing ? { redelivery: true } : {}),
        },
        accepted.existing ? 200 : 201,
      );
    }
    // A `webhook:<id>` token reaches this route for the token webhook only, never for a start by hand.
    if (!hasScope(c.get('principal'), 'runs:start'))
      throw new HttpProblem(
        403,
        'Forbidden',
        `this API token may call only the token webhook of '${workflow.id}', which has none`,
        'scope',
      );
    if (!workflow.ir.triggers.some((t) => t.type === 'manual'))
      throw new HttpProblem(409, 'No manual trigger', `workflow '${workflow.id}' cannot be started by hand`);
    requireStarter(workflow.ir, identity);
    const body = await jsonBody(c);
    const input = checkedInput(workflow.ir.inputs, body.input ?? {});
    await deps.limits?.perUser.take('runStarts', identity.email);
    const runId = await startChecked(workflow, input, { type: 'manual', user: identity });
    return c.json({ runId, workflowId: workflow.id, version: workflow.version }, 201);
  });

  /** Checks the input against the workflow (422 naming the field) and starts the run. */
  async function startChecked(
    workflow: StoredWorkflowView,
    input: unknown,
    trigger: RunTrigger,
    runId?: string,
  ): Promise<string> {
    return deps.host.startRun({
      ...(runId !== undefined ? { runId } : {}),
      workflowId: workflow.id,
      ir: workflow.ir,
      input: checkedInput(workflow.ir.inputs, input),
      trigger,
    });
  }

  /** A webhook request's delivery id (webhook-id, else Idempotency-Key), or null; a bad one is a 400. */
  function deliveryOf(c: Context<Env>, field: string): string | null {
    const delivery = webhookDeliveryId({
      webhookId: c.req.header(WEBHOOK_HEADERS.id),
      idempotencyKey: c.req.header(WEBHOOK_HEADERS.idempotencyKey),
    });
    if (!delivery.ok) throw new HttpProblem(delivery.status, 'Bad webhook id', delivery.detail, field);
    return delivery.deliveryId;
  }

  /** Starts the run once per delivery id: a redelivery gets the first run; no id, a run of its own. */
  function startOnce(
    webhooks: WebhookDeps,
    workflow: StoredWorkflowView,
    deliveryId: string | null,
    input: unknown,
    trigger: RunTrigger,
  ) {
    return acceptWebhook({
      store: webhooks.deliveries,
      workflowId: workflow.id,
      deliveryId,
      runExists: (runId) => deps.host.getRun(runId) !== undefined,
      startRun: (runId) => startChecked(workflow, input, trigger, runId),
    });
  }

  /**
   * A Standard Webhooks delivery to a workflow with an `auth: signature` webhook trigger: signature over
   * the raw body (several secrets during a rotation), JSON body as the input, one run per `webhook-id`
   * (or Idempotency-Key) however often it is redelivered. Nothing starts unless everything checks out.
   */
  async function signedDelivery(c: Context<Env>, webhooks: WebhookDeps): Promise<Response> {
    const id = c.req.param('id') ?? '';
    const workflow = deps.workflows.get(id);
    const hook = workflow?.ir.triggers.find((t) => t.type === 'webhook' && t.auth === 'signature');
    if (workflow === undefined || hook === undefined || hook.type !== 'webhook')
      throw new HttpProblem(404, 'Not found', `no workflow '${id}' with a signed webhook trigger`);
    const secrets = await webhooks.secrets(workflow.id);
    if (secrets.length === 0)
      throw new HttpProblem(
        503,
        'Webhook not configured',
        `workflow '${workflow.id}' has no webhook secret yet`,
      );
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const verdict = verifyWebhookSignature({
      secrets,
      headers: {
        id: c.req.header(WEBHOOK_HEADERS.id),
        timestamp: c.req.header(WEBHOOK_HEADERS.timestamp),
        signature: c.req.header(WEBHOOK_HEADERS.signature),
      },
      rawBody: raw,
      now: deps.clock.now(),
    });
    if (!verdict.ok)
      throw new HttpProblem(
        401,
        'Bad signature',
        `the webhook signature does not verify (${verdict.reason})`,
        WEBHOOK_HEADERS.signature,
      );
    const parsed = parseWebhookBody(
      raw,
      c.req.header('content-type'),
      webhooks.maxBytes ?? 256 * 1024,
      deps.limits?.jsonDepth,
    );
    if (!parsed.ok)
      throw new HttpProblem(
        parsed.status,
        'Bad webhook body',
        parsed.detail,
        parsed.status === 422 ? 'body' : undefined,
      );
    const deliveryId = deliveryOf(c, WEBHOOK_HEADERS.id);
    const user = hook.runAs === null ? undefined : webhooks.user(hook.runAs);
    if (user === undefined)
      throw new HttpProblem(
        503,
        'Webhook not configured',
        `the trigger's runAs '${hook.runAs ?? ''}' is not a user`,
      );
    requireDelegationHolds(workflow, hook, users);
    // The input is checked before anything is claimed, so a refused delivery leaves no trace.
    checkedInput(workflow.ir.inputs, parsed.body);
    const accepted = await startOnce(webhooks, workflow, deliveryId, parsed.body, { type: 'webhook', user });
    return c.json(
      { runId: accepted.runId, workflowId: workflow.id, redelivery: accepted.existing },
      accepted.existing ? 200 : 201,
    );
  }

  app.get('/api/runs', (c) => {
    const identity = caller(c);
    const filters = runFilters((name) => c.req.query(name));
    // Members see the runs they triggered; leads and above everyone's.
    const everyone = atLeast(identity.role, 'lead');
    const who = everyone ? filters.triggeredBy : identity.email.toLowerCase();
    if (filters.triggeredBy !== undefined && who !== filters.triggeredBy) return c.json([]);
    const runs = deps.host.listRuns({
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.workflowId ? { workflowId: filters.workflowId } : {}),
      ...(who !== undefined ? { triggeredBy: who } : {}),
      ...(filters.from !== undefined ? { from: filters.from } : {}),
      ...(filters.to !== undefined ? { to: filters.to } : {}),
      limit: filters.limit,
    });
    return c.json(runs.map(runSummary));
  });

  app.get('/api/runs/:id', (c) => {
    const run = visibleRun(c);
    const workflow = workflowOf(run);
    const view = runView(run, deps.host.audit(run.id), workflow?.ir, workflow?.version);
    // `audit`: the same redacted trail under the name earlier clients read.
    return c.json({ ...view, audit: view.history });
  });

  app.get('/api/runs/:id/events', (c) => {
    const run = visibleRun(c);
    const workflow = workflowOf(run);
    const subscribe = deps.runEvents?.subscribe;
    const pollMs = deps.runEvents?.pollMs ?? (subscribe === undefined ? 300 : 5_000);
    const heartbeatMs = deps.runEvents?.heartbeatMs ?? 15_000;
    return streamSSE(c, async (stream) => {
      const gone = () => stream.aborted || c.req.raw.signal.aborted;
      // A change notification (or the poll interval, or the client leaving) wakes the loop.
      let changed = false;
      let wake: (() => void) | undefined;
      const unsubscribe = subscribe?.(run.id, () => {
        changed = true;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      try {
        let sent = '';
        let beat = Date.now();
        for (;;) {
          changed = false;
          const current = deps.host.getRun(run.id) ?? run;
          const audit = deps.host.audit(run.id);
          const mark = `${audit.length}:${current.status}`;
          if (mark !== sent) {
            const view = runView(current, audit, workflow?.ir, workflow?.version);
            await stream.writeSSE({ event: 'run', id: String(audit.length), data: JSON.stringify(view) });
            sent = mark;
          }
          if (current.status !== 'running' || gone()) return;
          if (!changed) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, Math.min(pollMs, heartbeatMs));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            wake = undefined;
          }
          if (gone()) return;
          if (Date.now() - beat >= heartbeatMs) {
            await stream.write(': heartbeat\n\n');
            beat = Date.now();
          }
        }
      } finally {
        unsubscribe?.();
      }
    });
  });

  app.get('/api/runs/:id/audit', (c) => {
    const run = visibleRun(c);
    const lines = deps.host
      .audit(run.id)
      .map((entry) => JSON.stringify({ runId: run.id, ...redactAuditRecord(entry) }));
    return c.body(lines.length ? `${lines.join('\n')}\n` : '', 200, {
      'content-type': 'application/x-ndjson',
    });
  });

  app.post('/api/runs/:id/cancel', async (c) => {
    const run = visibleRun(c);
    const identity = caller(c);
    if (run.trigger.user.email !== identity.email && !atLeast(identity.role, 'manager'))
      throw new HttpProblem(403, 'Forbidden', 'only whoever started the run, or a manager, can cancel it');
    if (run.status !== 'running') throw new HttpProblem(409, 'Not running', `run ${run.id} is ${run.status}`);
    await deps.host.cancelRun(run.id, identity.email);
    return c.json({ runId: run.id, cancelled: true }, 202);
  });

  app.get('/api/approvals', (c) => {
    const identity = caller(c);
    return c.json(
      deps.approvalStore.pendingFor(identity.email).map((a) => ({
        runId: a.runId,
        workflowId: a.workflowId,
        stepId: a.stepId,
        level: a.level,
        message: a.message,
        requestedBy: a.requestedBy,
        deadline: a.deadline,
        require: a.require,
        approvers: a.approvers,
      })),
    );
  });

  app.post('/api/approvals/:runId/:stepId', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    const decision = body.decision;
    if (decision !== 'approve' && decision !== 'reject')
      throw new HttpProblem(422, 'Invalid decision', "decision must be 'approve' or 'reject'", 'decision');
    if (body.comment !== undefined && body.comment !== null && typeof body.comment !== 'string')
      throw new HttpProblem(422, 'Invalid decision', 'comment must be a string', 'comment');
    const result = await deps.approvals.decide({
      runId: c.req.param('runId'),
      stepId: c.req.param('stepId'),
      by: identity.email,
      decision,
      comment: (body.comment as string | null | undefined) ?? null,
      channel: 'api',
    });
    if (!result.accepted && result.reason === 'self-approval')
      throw new HttpProblem(403, 'Forbidden', result.message);
    if (!result.accepted) throw new HttpProblem(409, 'Decision refused', result.reason);
    return c.json(result, 200);
  });

  if (deps.schedules !== undefined) mountSchedules(app, { ...deps.schedules, workflows: deps.workflows });
  if (deps.chat !== undefined)
    mountChat(app, {
      ...(deps.chat === true ? {} : deps.chat),
      workflows: deps.workflows,
      host: deps.host,
      ...(deps.limits === undefined ? {} : { perUser: deps.limits.perUser }),
    });
  if (deps.admin !== undefined)
    mountAdmin(app, { ...deps.admin, workflows: deps.workflows, clock: deps.clock, users });

  if (deps.inbox !== undefined) {
    const inbox = deps.inbox;
    app.get('/api/inbox', (c) => {
      const identity = caller(c);
      // Everyone reads their own mail; admins read the whole development inbox.
      const to = atLeast(identity.role, 'admin') ? c.req.query('to') : identity.email;
      return c.json(inbox.list({ ...(to ? { to } : {}), limit: 100 }));
    });
  }

  function visibleRun(c: Context<Env>) {
    const identity = caller(c);
    const id = c.req.param('id') ?? '';
    const run = found(deps.host.getRun(id), 'run', id);
    if (!seesRun(identity, run)) throw new HttpProblem(404, 'Not found', `no run '${run.id}'`);
    return run;
  }

  /** The workflow version a run was started from: the latest saved before it (versions are kept). */
  function workflowOf(run: RunRecord): StoredWorkflowView | undefined {
    return deps.workflows.history(run.workflowId).findLast((w) => w.createdAt <= run.createdAt);
  }

  return app;
}

/** Members see their own runs; leads and above see every run. */
function seesRun(identity: Identity, run: RunRecord): boolean {
  return run.trigger.user.email === identity.email || atLeast(identity.role, 'lead');
}

const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'cancelled', 'timed_out'];
const MAX_RUNS = 1_000;

/** The run list's filters from the query, or a 400 naming the first bad one. */
function runFilters(query: (name: string) => string | undefined) {
  const bad = (field: string, detail: string) => new HttpProblem(400, 'Bad request', detail, field);
  const time = (field: 'from' | 'to'): number | undefined => {
    const text = query(field) || undefined;
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value))
      throw bad(field, `${field} must be a time in ms since the epoch`);
    return value;
  };
  const status = query('status') || undefined;
  if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus))
    throw bad('status', `status must be one of ${RUN_STATUSES.join(', ')}`);
  const triggeredBy = query('triggeredBy')?.toLowerCase() || undefined;
  if (triggeredBy !== undefined && !isEmail(triggeredBy))
    throw bad('triggeredBy', 'triggeredBy must be an email address');
  const from = time('from');
  const to = time('to');
  if (from !== undefined && to !== undefined && to < from) throw bad('to', 'to must not be before from');
  const limitText = query('limit') || undefined;
  const limit = limitText === undefined ? 200 : Number(limitText);
  if (limitText !== undefined && (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > MAX_RUNS))
    throw bad('limit', `limit must be a whole number from 1 to ${MAX_RUNS}`);
  return {
    status: status as RunStatus | undefined,
    workflowId: query('workflowId') || undefined,
    triggeredBy,
    from,
    to,
    limit,
  };
}

function found<T>(value: T | undefined, what: string, id: string): T {
  if (value === undefined) throw new HttpProblem(404, 'Not found', `no ${what} '${id}'`);
  return value;
}

function summary(w: StoredWorkflowView) {
  return {
    id: w.id,
    name: w.name,
    version: w.version,
    createdAt: w.createdAt,
    createdBy: w.createdBy,
    triggers: w.ir.triggers,
  };
}

function workflowView(w: StoredWorkflowView) {
  return { ...summary(w), format: w.format, source: w.source, inputs: w.ir.inputs };
}

function diagnosticView(d: Diagnostic) {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    line: d.line,
    col: d.col,
    pointer: d.pointer,
  };
}
