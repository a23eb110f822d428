// The workflow routes of the HTTP API: definitions with their versions, validation, and starting runs —
// by hand, by a token webhook (an API token scoped `webhook:<id>`) and by a signed webhook delivery
// (Standard Webhooks), which authenticates itself and is mounted before the credential check. Their access
// is declared with their OpenAPI description (WORKFLOW_PATHS).
//
//   GET    /api/workflows                     list (latest versions)
//   GET    /api/workflows/:id                 the latest version, with its source
//   GET    /api/workflows/:id/versions
//   GET    /api/workflows/:id/versions/:version   one version, with its source (what a run ran)
//   PUT    /api/workflows/:id                 create or update from YAML/JSON; 422 with diagnostics;
//                                              403 unless the caller holds what it delegates (delegation.ts)
//   POST   /api/workflows/validate            check a definition without saving: { valid, diagnostics }
//   DELETE /api/workflows/:id                 changing or deleting needs the role the workflow grants
//   POST   /api/workflows/:id/run             manual trigger (its minRole, input checked), token or signed webhook

import type { Context, Hono } from 'hono';
import type { Diagnostic } from '../../../translator/diagnostics.js';
import type { IrTrigger, IrWorkflow } from '../../../translator/ir.js';
import { parseSource } from '../../../translator/source.js';
import { type ToolLookup, unknownToolDiagnostics } from '../../../translator/tool-check.js';
import { validateWorkflow } from '../../../translator/validate.js';
import { hasScope } from '../auth.js';
import { aliasClashes } from '../chat.js';
import type { DelegationDirectory } from '../delegation.js';
import { HttpError } from '../http-error.js';
import type {
  Clock,
  DurableHost,
  StoredWorkflowView,
  WebhookDeliveryStore,
  WorkflowStore,
} from '../ports.js';
import type { Identity, RunTrigger } from '../protocol.js';
import {
  acceptWebhook,
  parseWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  webhookDeliveryId,
} from '../triggers/webhook.js';
import type { UserLimits } from '../user-limits.js';
import { requires } from './access.js';
import {
  NO_DIRECTORY,
  requireDelegationHolds,
  requireEditable,
  requirePublishable,
} from './delegation-checks.js';
import { errors, json } from './openapi-parts.js';
import {
  caller,
  checkedInput,
  checkedWebhookBody,
  found,
  jsonBody,
  listableWorkflowIds,
  notFound,
  requireStarter,
  wrappedInput,
} from './request.js';
import type { Env } from './types.js';

/** Webhook deliveries (`auth: signature` triggers): their secrets, idempotency and who the run acts as. */
export interface WebhookDeps {
  /** The workflow's signing secrets, newest first (several during a rotation); empty: not configured. */
  secrets(workflowId: string): Promise<string[]>;
  deliveries: WebhookDeliveryStore;
  /** The identity a `runAs` email stands for. */
  user(email: string): Promise<Identity | undefined>;
  maxBytes?: number;
}

export interface WorkflowRoutesDeps {
  workflows: WorkflowStore;
  host: Pick<DurableHost, 'startRun' | 'getRun'>;
  clock: Clock;
  /** The directory's enabled users, as the delegation checks read them (functions/core/delegation.ts). */
  users?: DelegationDirectory;
  /** Signed deliveries and token webhooks' idempotency; without it, signed webhooks are not served. */
  webhooks?: WebhookDeps;
  limits?: { jsonDepth: number; perUser: Pick<UserLimits, 'take'> };
  /**
   * The MCP servers' tools: validation and saving warn (with the closest names) about a tool step whose
   * tool none offers, as `stepgate validate` does. Without it, tool names are not checked.
   */
  tools?: { lookup: ToolLookup };
}

/**
 * The signed webhook delivery, before the credential check: a request to the run route that carries a
 * `webhook-signature` header is answered here; any other goes on to the authenticated routes.
 */
export function mountSignedWebhooks(app: Hono<Env>, deps: WorkflowRoutesDeps): void {
  const webhooks = deps.webhooks;
  if (webhooks === undefined) return;
  app.post('/api/workflows/:id/run', async (c, next) => {
    if (c.req.header(WEBHOOK_HEADERS.signature) === undefined) return next();
    return signedDelivery(deps, c, webhooks);
  });
}

/** The authenticated workflow routes: reading definitions, publishing them, and starting runs. */
export function mountWorkflows(app: Hono<Env>, deps: WorkflowRoutesDeps): void {
  mountDefinitions(app, deps);
  mountPublishing(app, deps);
  app.post('/api/workflows/:id/run', async (c) => {
    const workflow = await foundWorkflow(deps, c);
    // A machine with an API token scoped to this workflow's webhook (auth: token) starts a webhook run.
    const scopes = c.get('principal').scopes;
    const tokenHook = workflow.ir.triggers.find((t) => t.type === 'webhook' && t.auth === 'token');
    if (scopes != null && tokenHook?.type === 'webhook' && scopes.includes(`webhook:${workflow.id}`))
      return tokenWebhookStart(deps, c, workflow, tokenHook);
    return manualStart(deps, c, workflow);
  });
}

/** The definitions and their versions, as stored. */
function mountDefinitions(app: Hono<Env>, deps: WorkflowRoutesDeps): void {
  app.get('/api/workflows', async (c) => {
    return c.json((await deps.workflows.list()).map(summary));
  });

  app.get('/api/workflows/:id', async (c) => c.json(workflowView(await foundWorkflow(deps, c))));

  app.get('/api/workflows/:id/versions', async (c) => {
    const versions = await deps.workflows.history(c.req.param('id'));
    if (versions.length === 0)
      throw notFound('workflow', c.req.param('id'), await listableWorkflowIds(c, deps.workflows));
    return c.json(versions.map(summary));
  });

  app.get('/api/workflows/:id/versions/:version', async (c) => {
    const version = Number(c.req.param('version'));
    const versions = await deps.workflows.history(c.req.param('id'));
    if (versions.length === 0)
      throw notFound('workflow', c.req.param('id'), await listableWorkflowIds(c, deps.workflows));
    const stored = versions.find((w) => w.version === version);
    if (stored === undefined)
      throw new HttpError(
        404,
        'Not found',
        `no version ${c.req.param('version')} of workflow '${c.req.param('id')}': it has ${versionRange(versions)}`,
      );
    return c.json(workflowView(stored));
  });
}

/** The workflow of the path's `id`, or a 404 suggesting the closest id the caller may list. */
async function foundWorkflow(deps: WorkflowRoutesDeps, c: Context<Env>): Promise<StoredWorkflowView> {
  const id = c.req.param('id') ?? '';
  const workflow = await deps.workflows.get(id);
  if (workflow === undefined) throw notFound('workflow', id, await listableWorkflowIds(c, deps.workflows));
  return workflow;
}

/** "versions 1–3" (or "version 1") of a workflow's history. */
function versionRange(versions: readonly { version: number }[]): string {
  const numbers = versions.map((v) => v.version).sort((a, b) => a - b);
  const first = numbers[0];
  const last = numbers.at(-1);
  return first === last ? `version ${first}` : `versions ${first}–${last}`;
}

/** A definition from the request body: its format from the content type, size-checked, validated. */
async function definitionFromBody(deps: WorkflowRoutesDeps, c: Context<Env>) {
  const type = c.req.header('content-type') ?? '';
  const format = /json/i.test(type) ? 'json' : /ya?ml|text\/plain/i.test(type) ? 'yaml' : undefined;
  if (format === undefined)
    throw new HttpError(
      415,
      'Unsupported media type',
      'send the definition as application/yaml or application/json',
    );
  // Its size was checked while reading (the route's body class).
  const source = await c.req.text();
  const maxDepth = deps.limits?.jsonDepth;
  const result = validateWorkflow(source, format, maxDepth === undefined ? {} : { maxDepth });
  if (result.ir !== undefined && deps.tools !== undefined) {
    const lookup = deps.tools.lookup;
    result.diagnostics.push(...(await unknownToolDiagnostics(result.ir, source, format, lookup)));
  }
  // Only a definition with aliases lists the others (the designer validates as the user types).
  if (result.ir !== undefined && result.ir.aliases.length > 0)
    result.diagnostics.push(...aliasDiagnostics(result.ir, source, format, await deps.workflows.list()));
  return { source, format, result } as const;
}

/**
 * A warning at each alias another workflow already answers to (its alias or name, the same words in any
 * order): chat would have to ask which one is meant. A warning, not an error — the user may mean it.
 */
function aliasDiagnostics(
  ir: IrWorkflow,
  source: string,
  format: 'yaml' | 'json',
  others: readonly StoredWorkflowView[],
): Diagnostic[] {
  const clashes = aliasClashes(ir, others);
  if (clashes.length === 0) return [];
  const parsed = parseSource(source, format);
  return clashes.map(({ alias, index, otherId }) =>
    parsed.place({
      severity: 'warning',
      code: 'duplicate-alias',
      message: `chat already starts workflow '${otherId}' with '${alias}': the phrase would be ambiguous, so chat would ask which one is meant (choose another alias, or remove it)`,
      path: ['aliases', index],
    }),
  );
}

/** Validating, saving and deleting definitions. */
function mountPublishing(app: Hono<Env>, deps: WorkflowRoutesDeps): void {
  const users = deps.users ?? NO_DIRECTORY;
  // Validation without saving (the designer's live diagnostics): always 200, `valid` says whether it would save.
  app.post('/api/workflows/validate', async (c) => {
    const { result } = await definitionFromBody(deps, c);
    return c.json({
      valid: result.ir !== undefined,
      ...(result.ir === undefined ? {} : { id: result.ir.id }),
      diagnostics: result.diagnostics.map(diagnosticView),
    });
  });

  app.put('/api/workflows/:id', async (c) => {
    const identity = caller(c);
    const { source, format, result } = await definitionFromBody(deps, c);
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
      throw new HttpError(
        422,
        'Invalid workflow',
        `the definition's id is '${result.ir.id}', not '${c.req.param('id')}'`,
        { field: 'id' },
      );
    const current = await deps.workflows.get(result.ir.id);
    await requirePublishable(result.ir, identity, current, users);
    const existed = current !== undefined;
    const saved = await deps.workflows.save({
      ir: result.ir,
      source,
      format,
      by: identity.email,
      at: deps.clock.now(),
    });
    return c.json(
      {
        ...summary(found(await deps.workflows.get(saved.id), 'workflow', saved.id)),
        warnings: result.diagnostics.map(diagnosticView),
      },
      existed ? 200 : 201,
    );
  });

  app.delete('/api/workflows/:id', async (c) => {
    const identity = caller(c);
    const current = await deps.workflows.get(c.req.param('id'));
    if (current !== undefined) await requireEditable(current, identity, users);
    if (!(await deps.workflows.delete(c.req.param('id'))))
      throw notFound('workflow', c.req.param('id'), await listableWorkflowIds(c, deps.workflows));
    return c.body(null, 204);
  });
}

/** A start by hand: the workflow's manual trigger, its minRole, the input checked. */
async function manualStart(
  deps: WorkflowRoutesDeps,
  c: Context<Env>,
  workflow: StoredWorkflowView,
): Promise<Response> {
  const identity = caller(c);
  // A `webhook:<id>` token reaches this route for the token webhook only, never for a start by hand.
  if (!hasScope(c.get('principal'), 'runs:start'))
    throw new HttpError(
      403,
      'Forbidden',
      `this API token may call only the token webhook of '${workflow.id}', which has none`,
      { field: 'scope' },
    );
  if (!workflow.ir.triggers.some((t) => t.type === 'manual'))
    throw new HttpError(409, 'No manual trigger', `workflow '${workflow.id}' cannot be started by hand`);
  requireStarter(workflow.ir, identity);
  const input = checkedInput(workflow.ir.inputs, wrappedInput(await jsonBody(c)));
  await deps.limits?.perUser.take('runStarts', identity.email);
  const runId = await startChecked(deps, workflow, input, { type: 'manual', user: identity });
  return c.json({ runId, workflowId: workflow.id, version: workflow.version }, 201);
}

/** A start by an API token scoped to the workflow's token webhook (`auth: token`), once per delivery id. */
async function tokenWebhookStart(
  deps: WorkflowRoutesDeps,
  c: Context<Env>,
  workflow: StoredWorkflowView,
  tokenHook: IrTrigger & { type: 'webhook' },
): Promise<Response> {
  const identity = caller(c);
  const users = deps.users ?? NO_DIRECTORY;
  // The token's owner answers for what the machine starts: they must be allowed to start the workflow.
  requireStarter(workflow.ir, identity);
  await requireDelegationHolds(workflow, tokenHook, users);
  const runAs = tokenHook.runAs === null ? identity : await deps.webhooks?.user(tokenHook.runAs);
  if (runAs === undefined)
    throw new HttpError(
      503,
      'Webhook not configured',
      `the trigger's runAs '${tokenHook.runAs}' is not a user`,
    );
  const input = await jsonBody(c);
  const deliveryId = deliveryOf(c, WEBHOOK_HEADERS.idempotencyKey);
  checkedWebhookBody(workflow.ir.inputs, input);
  await deps.limits?.perUser.take('runStarts', identity.email);
  const trigger: RunTrigger = {
    type: 'webhook',
    user: runAs,
    ...(runAs.email !== identity.email ? { by: identity.email } : {}),
  };
  // One run per Idempotency-Key (or webhook-id), as for signed deliveries.
  const accepted =
    deps.webhooks === undefined
      ? { runId: await startChecked(deps, workflow, input, trigger), existing: false }
      : await startOnce(deps, deps.webhooks, workflow, deliveryId, input, trigger);
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

/** Checks the input against the workflow (422 naming the field) and starts the run. */
async function startChecked(
  deps: WorkflowRoutesDeps,
  workflow: StoredWorkflowView,
  input: unknown,
  trigger: RunTrigger,
  runId?: string,
): Promise<string> {
  return deps.host.startRun({
    ...(runId !== undefined ? { runId } : {}),
    workflowId: workflow.id,
    ir: workflow.ir,
    version: workflow.version,
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
  if (!delivery.ok) throw new HttpError(delivery.status, 'Bad webhook id', delivery.detail, { field });
  return delivery.deliveryId;
}

/** Starts the run once per delivery id: a redelivery gets the first run; no id, a run of its own. */
function startOnce(
  deps: WorkflowRoutesDeps,
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
    runExists: async (runId) => (await deps.host.getRun(runId)) !== undefined,
    startRun: (runId) => startChecked(deps, workflow, input, trigger, runId),
  });
}

/**
 * A Standard Webhooks delivery to a workflow with an `auth: signature` webhook trigger: signature over
 * the raw body (several secrets during a rotation), JSON body as the input, one run per `webhook-id`
 * (or Idempotency-Key) however often it is redelivered. Nothing starts unless everything checks out.
 */
async function signedDelivery(
  deps: WorkflowRoutesDeps,
  c: Context<Env>,
  webhooks: WebhookDeps,
): Promise<Response> {
  const id = c.req.param('id') ?? '';
  const workflow = await deps.workflows.get(id);
  const hook = workflow?.ir.triggers.find((t) => t.type === 'webhook' && t.auth === 'signature');
  if (workflow === undefined || hook === undefined || hook.type !== 'webhook')
    throw new HttpError(404, 'Not found', `no workflow '${id}' with a signed webhook trigger`);
  const body = await verifiedBody(deps, c, webhooks, workflow.id);
  const deliveryId = deliveryOf(c, WEBHOOK_HEADERS.id);
  const user = hook.runAs === null ? undefined : await webhooks.user(hook.runAs);
  if (user === undefined)
    throw new HttpError(
      503,
      'Webhook not configured',
      `the trigger's runAs '${hook.runAs ?? ''}' is not a user`,
    );
  await requireDelegationHolds(workflow, hook, deps.users ?? NO_DIRECTORY);
  // The input is checked before anything is claimed, so a refused delivery leaves no trace.
  checkedWebhookBody(workflow.ir.inputs, body);
  const accepted = await startOnce(deps, webhooks, workflow, deliveryId, body, { type: 'webhook', user });
  return c.json(
    { runId: accepted.runId, workflowId: workflow.id, redelivery: accepted.existing },
    accepted.existing ? 200 : 201,
  );
}

/** A signed delivery's body once its signature verifies with one of the workflow's secrets, parsed. */
async function verifiedBody(
  deps: WorkflowRoutesDeps,
  c: Context<Env>,
  webhooks: WebhookDeps,
  workflowId: string,
): Promise<unknown> {
  const secrets = await webhooks.secrets(workflowId);
  if (secrets.length === 0)
    throw new HttpError(503, 'Webhook not configured', `workflow '${workflowId}' has no webhook secret yet`);
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
    throw new HttpError(401, 'Bad signature', `the webhook signature does not verify (${verdict.reason})`, {
      field: WEBHOOK_HEADERS.signature,
    });
  const parsed = parseWebhookBody(
    raw,
    c.req.header('content-type'),
    webhooks.maxBytes ?? 256 * 1024,
    deps.limits?.jsonDepth,
  );
  if (!parsed.ok)
    throw new HttpError(parsed.status, 'Bad webhook body', parsed.detail, {
      field: parsed.status === 422 ? 'body' : undefined,
    });
  return parsed.body;
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

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const WORKFLOW_PATHS = {
  '/api/workflows': {
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'Workflows (latest versions)',
      responses: { '200': json('list'), ...errors },
    },
  },
  '/api/workflows/validate': {
    post: {
      ...requires('lead', 'workflows:write', 'definition'),
      summary: 'Check a definition without saving it (lead and above): { valid, id?, diagnostics }',
      requestBody: {
        required: true,
        content: {
          'application/yaml': { schema: { type: 'string' } },
          'application/json': { schema: { type: 'object' } },
        },
      },
      responses: { '200': json('the diagnostics'), ...errors },
    },
  },
  '/api/workflows/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'A workflow with its source',
      responses: { '200': json('workflow'), '404': json('none'), ...errors },
    },
    put: {
      ...requires('lead', 'workflows:write', 'definition'),
      summary: 'Create or update from YAML or JSON (lead and above)',
      requestBody: {
        required: true,
        content: {
          'application/yaml': { schema: { type: 'string' } },
          'application/json': { schema: { type: 'object' } },
        },
      },
      responses: { '200': json('updated'), '201': json('created'), '422': json('diagnostics'), ...errors },
    },
    delete: {
      ...requires('manager', 'workflows:write'),
      summary: 'Delete (manager and above); versions are kept',
      responses: { '204': { description: 'deleted' }, ...errors },
    },
  },
  '/api/workflows/{id}/versions': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'Every saved version',
      responses: { '200': json('versions'), ...errors },
    },
  },
  '/api/workflows/{id}/versions/{version}': {
    parameters: [
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'version', in: 'path', required: true, schema: { type: 'integer' } },
    ],
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'One version with its source (the one a run ran)',
      responses: { '200': json('workflow'), '404': json('none'), ...errors },
    },
  },
  '/api/workflows/{id}/run': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    post: {
      ...requires('viewer', ['runs:start', 'webhook:{id}'], 'webhook'),
      summary: "Start a run (manual trigger; the trigger's minRole)",
      requestBody: {
        description:
          'By hand: the inputs wrapped, {"input": {...}}, nothing else beside it. A webhook (token or signed) sends the inputs as the body itself.',
        content: {
          'application/json': { schema: { type: 'object', properties: { input: { type: 'object' } } } },
        },
      },
      responses: {
        '201': json('runId'),
        '409': json('no manual trigger'),
        '422': json('invalid input'),
        ...errors,
      },
    },
  },
};
