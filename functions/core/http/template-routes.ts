// The template gallery routes of the HTTP API: the workflow definitions shipped with Stepgate, and their
// install as a workflow. Their role and scope are declared with their OpenAPI description
// (TEMPLATE_PATHS); the installer publishes the template, so the delegation rules of a publish apply
// (functions/core/delegation.ts), checked before anything is saved.
//
//   GET    /api/templates                viewer+: the gallery
//   POST   /api/templates/:id/install    lead+: saves the template as a workflow; 409 when it exists
//                                        (?force=true: a new version of it, ?copy=true: a copy beside it,
//                                        without the template's chat aliases)
import type { Context, Hono } from 'hono';
import { parseDocument } from 'yaml';
import type { IrWorkflow } from '../../../translator/ir.js';
import { validateWorkflow } from '../../../translator/validate.js';
import { hasScope } from '../auth.js';
import type { DelegationDirectory } from '../delegation.js';
import { HttpError } from '../http-error.js';
import type { WorkflowStore } from '../ports.js';
import { requires } from './access.js';
import { requirePublishable } from './delegation-checks.js';
import { errors, json, pathParameter, problemOf } from './openapi-parts.js';
import { caller, notFound } from './request.js';
import type { Env } from './types.js';

/** A gallery entry: a workflow definition shipped with Stepgate. */
export interface TemplateEntry {
  id: string;
  name: string;
  source: string;
  format: 'yaml' | 'json';
}

export interface TemplateRoutesDeps {
  templates: TemplateEntry[] | (() => TemplateEntry[]);
  workflows: Pick<WorkflowStore, 'get' | 'save'>;
  /** The enabled users, as the delegation check of a template install reads them. */
  users: DelegationDirectory;
  clock: { now(): number };
}

export function mountTemplates(app: Hono<Env>, deps: TemplateRoutesDeps): void {
  const templates = () => (typeof deps.templates === 'function' ? deps.templates() : deps.templates);
  // A template's IR, validated once per entry (the gallery is listed on every visit of its page).
  const validated = new WeakMap<TemplateEntry, IrWorkflow | undefined>();
  const irOf = (t: TemplateEntry) => {
    if (!validated.has(t)) validated.set(t, validateWorkflow(t.source, t.format).ir);
    return validated.get(t);
  };

  app.get('/api/templates', async (c) => {
    return c.json(
      await Promise.all(
        templates().map(async (t) => {
          const ir = irOf(t);
          return {
            id: t.id,
            name: t.name,
            description: ir?.description ?? null,
            format: t.format,
            source: t.source,
            installed: (await deps.workflows.get(t.id)) !== undefined,
          };
        }),
      ),
    );
  });

  app.post('/api/templates/:id/install', async (c) => {
    const id = c.req.param('id');
    const template = templates().find((t) => t.id === id);
    if (template === undefined) {
      // The gallery's ids are listed to anyone who may read workflows (GET /api/templates).
      const listable = hasScope(c.get('principal'), 'workflows:read') ? templates().map((t) => t.id) : [];
      throw notFound('template', id, listable);
    }
    const force = flag(c, 'force');
    const copy = flag(c, 'copy');
    const ir = irOf(template);
    if (ir === undefined)
      throw new HttpError(422, 'Invalid template', `template '${id}' does not validate`, { field: 'id' });
    if (copy === 'true') return installCopy(c, deps, template, ir);
    const identity = caller(c);
    const existing = await deps.workflows.get(ir.id);
    if (existing !== undefined && force !== 'true')
      throw new HttpError(
        409,
        'Conflict',
        `a workflow '${ir.id}' exists (version ${existing.version}); install with ?force=true to save the template as a new version, or ?copy=true for a copy`,
        { field: 'id' },
      );
    await requirePublishable(ir, identity, existing, deps.users);
    const saved = await deps.workflows.save({
      ir,
      source: template.source,
      format: template.format,
      by: identity.email,
      at: deps.clock.now(),
    });
    return c.json(
      { id: saved.id, version: saved.version, name: ir.name },
      existing === undefined ? 201 : 200,
    );
  });
}

/** The query flag `name`: 'true', 'false' or absent; a 422 naming it otherwise. */
function flag(c: Context<Env>, name: 'force' | 'copy'): 'true' | 'false' | undefined {
  const value = c.req.query(name);
  if (value !== undefined && value !== 'true' && value !== 'false')
    throw new HttpError(422, 'Invalid request', `${name} must be 'true' or 'false'`, { field: name });
  return value;
}

/** `copy=true`: always a new workflow, under the template's id while it is free, else `<id>-copy[-N]`. */
async function installCopy(
  c: Context<Env>,
  deps: TemplateRoutesDeps,
  template: TemplateEntry,
  ir: IrWorkflow,
): Promise<Response> {
  const identity = caller(c);
  // Copy n is `<id>` (n = 0), `<id>-copy` (1), then `<id>-copy-<n>`.
  const copyId = (n: number) => (n === 0 ? ir.id : n === 1 ? `${ir.id}-copy` : `${ir.id}-copy-${n}`);
  let n: number | undefined;
  for (let i = 0; i < 100 && n === undefined; i++)
    if ((await deps.workflows.get(copyId(i))) === undefined) n = i;
  if (n === undefined)
    throw new HttpError(409, 'Conflict', `too many copies of '${ir.id}'; delete some first`, { field: 'id' });
  // A copy beside the template's workflow gets no chat aliases (the original's phrases would become
  // ambiguous) until the user gives it some; the template installed under its own id keeps them.
  const source = renamed(
    template.source,
    template.format,
    copyId(n),
    n === 0 ? ir.name : `${ir.name} (copy${n > 1 ? ` ${n}` : ''})`,
    n > 0,
  );
  const checked = validateWorkflow(source, template.format);
  if (checked.ir === undefined)
    throw new HttpError(422, 'Invalid template', `a copy of template '${template.id}' does not validate`, {
      field: 'id',
    });
  await requirePublishable(checked.ir, identity, undefined, deps.users);
  const saved = await deps.workflows.save({
    ir: checked.ir,
    source,
    format: template.format,
    by: identity.email,
    at: deps.clock.now(),
  });
  return c.json({ id: saved.id, version: saved.version, name: checked.ir.name }, 201);
}

/**
 * A definition's source with a new `id` and `name` (and, `noAliases`, its `aliases` emptied), comments and
 * layout kept (YAML) or re-serialised (JSON).
 */
function renamed(
  source: string,
  format: 'yaml' | 'json',
  id: string,
  name: string,
  noAliases: boolean,
): string {
  if (format === 'json') {
    const value = JSON.parse(source) as Record<string, unknown>;
    const aliases = noAliases && value.aliases !== undefined ? { aliases: [] } : {};
    return `${JSON.stringify({ ...value, id, name, ...aliases }, null, 2)}\n`;
  }
  const document = parseDocument(source);
  document.set('id', id);
  document.set('name', name);
  if (noAliases && document.has('aliases')) {
    const none = document.createNode([]);
    none.flow = true;
    document.set('aliases', none);
  }
  return document.toString();
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const TEMPLATE_PATHS = {
  '/api/templates': {
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'The template gallery',
      responses: { '200': json('templates'), ...errors },
    },
  },
  '/api/templates/{id}/install': {
    parameters: pathParameter('id'),
    post: {
      ...requires('lead', 'workflows:write'),
      summary: 'Save a template as a workflow (lead and above); ?force=true over an existing one',
      parameters: [{ name: 'force', in: 'query', schema: { enum: ['true', 'false'] } }],
      responses: {
        '200': json('saved as a new version'),
        '201': json('installed'),
        '404': problemOf('no such template'),
        '409': problemOf('the workflow exists'),
        ...errors,
      },
    },
  },
} as const;
