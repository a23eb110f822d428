// The schedule routes of the HTTP API: user-created schedules of a workflow (the Scheduler in
// functions/core/triggers/schedules.ts arms and fires them). Mounted on the app after createApp, so the
// app's `/api/*` authentication (and CSRF) middleware and its problem-document error handler apply.
//
//   GET    /api/schedules?workflowId=   member+: the caller's own schedules; admins: everyone's
//   POST   /api/schedules               { workflowId, preset | cron, timezone?, scope?, group?, input?, enabled? } → 201
//   GET    /api/schedules/:id           its creator or an admin (anyone else: 404)
//   PATCH  /api/schedules/:id           { enabled } — its creator or an admin (anyone else: 404)
//   DELETE /api/schedules/:id           its creator or an admin (anyone else: 404) → 204
//
// Which workflows can be scheduled here: a schedule made through the API is a user's recurring manual
// start, so the workflow must declare a `manual` trigger whose `minRole` the creator has (checked at
// creation and again at every fire, with the creator as the directory knows them then). A definition's
// own `schedule` triggers are the author's fixed schedules (their cron is in the definition); they do not
// open the workflow to schedules from anyone: a `schedule` trigger has no minRole, so it would let a member
// schedule a workflow only managers may start. The scope rules (who may create user, group and org
// schedules, and whose identity the run carries) are the Scheduler's.
//
// Errors are problem documents naming the field: an invalid field is 422 (the Scheduler's 400s included),
// a scope the creator may not use 403 (field `scope`), a schedule the caller may not see 404.
import type { Context, Hono } from 'hono';
import { closestMatch, didYouMean } from '../../../translator/diagnostics.js';
import type { IrWorkflow } from '../../../translator/ir.js';
import type { JsonValue } from '../../../translator/template.js';
import { HttpError } from '../http-error.js';
import { checkInput } from '../inputs.js';
import type { ScheduleRecord } from '../ports.js';
import type { Identity } from '../protocol.js';
import {
  authorizeScheduleFire,
  type CreateScheduleRequest,
  canManageSchedule,
  ScheduleError,
  type Scheduler,
  scheduleRunIdentity,
  scheduleScopeProblem,
} from '../triggers/schedules.js';
import { requires } from './access.js';
import { errors, json, problemOf } from './openapi-parts.js';
import { atLeast, checkedInput, jsonBody, listableWorkflowIds } from './request.js';
import type { Env } from './types.js';

/** What the routes need of a workflow: its id and (latest) IR. */
export interface SchedulableWorkflows {
  /** `version`: the stored version (a Step Functions host starts the run on its deployment). */
  get(id: string): Promise<{ id: string; ir: IrWorkflow; version?: number } | undefined>;
  /** Every workflow, for the did-you-mean of an unknown `workflowId` (none without it). */
  list?(): Promise<Array<{ id: string }>>;
}

export interface ScheduleRoutesDeps {
  scheduler: Pick<Scheduler, 'create' | 'list' | 'get' | 'update' | 'delete'>;
  workflows: SchedulableWorkflows;
  /** The caller of a request; default: the principal the app's auth middleware set. */
  caller?: (c: Context<Env>) => Identity;
}

/** Why `creator` may not schedule `workflow` through the API (see the top of this file), or undefined. */
export function workflowScheduleProblem(ir: IrWorkflow, creator: Pick<Identity, 'role'>): string | undefined {
  const manual = ir.triggers.find((t) => t.type === 'manual');
  if (manual === undefined)
    return `workflow '${ir.id}' has no manual trigger, so it cannot be scheduled through the API`;
  if (!atLeast(creator.role, manual.minRole))
    return `scheduling '${ir.id}' needs the role ${manual.minRole} or above (its manual trigger's minRole); the creator is ${creator.role}`;
  return undefined;
}

export function mountSchedules(app: Hono<Env>, deps: ScheduleRoutesDeps): void {
  const caller = deps.caller ?? ((c: Context<Env>) => c.get('principal').identity);

  /** The schedule if the caller may see and manage it (its creator or an admin), else a 404. */
  const visible = async (c: Context<Env>, identity: Identity): Promise<ScheduleRecord> => {
    const id = c.req.param('id') ?? '';
    const schedule = await deps.scheduler.get(id);
    if (schedule === undefined || !canManageSchedule(schedule, identity))
      throw new HttpError(404, 'Not found', `no schedule '${id}'`);
    return schedule;
  };

  app.get('/api/schedules', async (c) => {
    const identity = caller(c);
    const workflowId = c.req.query('workflowId');
    const schedules = await deps.scheduler.list({
      ...(workflowId ? { workflowId } : {}),
      ...(atLeast(identity.role, 'admin') ? {} : { createdBy: identity.email }),
    });
    return c.json(schedules);
  });

  app.post('/api/schedules', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    const request = createRequest(body);
    // The role first: a viewer learns nothing about workflows from this route.
    const scope = request.scope ?? 'user';
    if (scope === 'user' || scope === 'org' || (scope === 'group' && typeof request.group === 'string')) {
      const scopeRef = scope === 'user' ? identity.email : scope === 'group' ? (request.group ?? null) : null;
      const refused = scheduleScopeProblem(scope, scopeRef, identity);
      if (refused !== undefined) throw new HttpError(403, 'Forbidden', refused, { field: 'scope' });
    }
    const workflow = await deps.workflows.get(request.workflowId);
    if (workflow === undefined) {
      const list = deps.workflows.list?.bind(deps.workflows);
      const listable = list === undefined ? [] : await listableWorkflowIds(c, { list });
      throw new HttpError(
        422,
        'Invalid schedule',
        `no workflow '${request.workflowId}'${didYouMean(request.workflowId, listable)}`,
        { field: 'workflowId' },
      );
    }
    const refused = workflowScheduleProblem(workflow.ir, identity);
    if (refused !== undefined) {
      const manual = workflow.ir.triggers.some((t) => t.type === 'manual');
      // No manual trigger: the workflow cannot be scheduled (422); a minRole above the caller's: 403.
      throw new HttpError(manual ? 403 : 422, manual ? 'Forbidden' : 'Invalid schedule', refused, {
        field: 'workflowId',
      });
    }
    const input = checkedInput(workflow.ir.inputs, request.input ?? {});
    try {
      const schedule = await deps.scheduler.create({ ...request, workflowId: workflow.id, input }, identity);
      return c.json(schedule, 201);
    } catch (error) {
      throw asProblem(error);
    }
  });

  app.get('/api/schedules/:id', async (c) => c.json(await visible(c, caller(c))));

  app.patch('/api/schedules/:id', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    if (typeof body.enabled !== 'boolean')
      throw new HttpError(422, 'Invalid schedule', 'enabled must be true or false', { field: 'enabled' });
    for (const key of Object.keys(body))
      if (key !== 'enabled')
        throw new HttpError(422, 'Invalid schedule', `'${key}' cannot be changed; only 'enabled' can`, {
          field: key,
        });
    const schedule = await visible(c, identity);
    try {
      return c.json(await deps.scheduler.update(schedule.id, { enabled: body.enabled }, identity));
    } catch (error) {
      throw asProblem(error);
    }
  });

  app.delete('/api/schedules/:id', async (c) => {
    const identity = caller(c);
    const schedule = await visible(c, identity);
    try {
      await deps.scheduler.delete(schedule.id, identity);
    } catch (error) {
      throw asProblem(error);
    }
    return c.body(null, 204);
  });
}

/** The field each ScheduleError code is about. */
const FIELDS: Record<string, string> = {
  'schedule-needs-one': 'cron',
  'unknown-preset': 'preset',
  'invalid-cron': 'cron',
  'invalid-timezone': 'timezone',
  'invalid-scope': 'scope',
  'group-scope-needs-group': 'group',
  'group-without-group-scope': 'group',
  'schedule-forbidden': 'scope',
  'invalid-workflow-input': 'input',
};

/** A ScheduleError as a problem naming its field (a 400 is an invalid field: 422); anything else as is. */
export function asProblem(error: unknown): unknown {
  if (!(error instanceof ScheduleError)) return error;
  const field = error.code === 'schedule-not-found' ? undefined : FIELDS[error.code];
  switch (error.status) {
    case 400:
      return new HttpError(422, 'Invalid schedule', error.message, { field });
    case 403:
      return new HttpError(403, 'Forbidden', error.message, { field });
    case 404:
      return new HttpError(404, 'Not found', error.message);
  }
}

const KNOWN = new Set(['workflowId', 'preset', 'cron', 'timezone', 'scope', 'group', 'input', 'enabled']);

/** The body's fields, type-checked (the Scheduler checks their values). */
function createRequest(body: Record<string, unknown>): CreateScheduleRequest {
  for (const key of Object.keys(body))
    if (!KNOWN.has(key)) {
      const near = closestMatch(key, KNOWN);
      const hint =
        near === undefined
          ? ` (the workflow's inputs go in 'input': {"input": {"${key}": …}})`
          : ` (did you mean '${near}'?)`;
      throw new HttpError(422, 'Invalid schedule', `unknown field '${key}'${hint}`, { field: key });
    }
  if (typeof body.workflowId !== 'string' || body.workflowId === '')
    throw new HttpError(422, 'Invalid schedule', 'workflowId is required', { field: 'workflowId' });
  for (const key of ['preset', 'cron', 'timezone', 'scope', 'group'] as const)
    if (body[key] !== undefined && typeof body[key] !== 'string')
      throw new HttpError(422, 'Invalid schedule', `${key} must be a string`, { field: key });
  if (
    body.input !== undefined &&
    (body.input === null || typeof body.input !== 'object' || Array.isArray(body.input))
  )
    throw new HttpError(422, 'Invalid input', 'input must be a JSON object', { field: 'input' });
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean')
    throw new HttpError(422, 'Invalid schedule', 'enabled must be true or false', { field: 'enabled' });
  return body as unknown as CreateScheduleRequest;
}

/**
 * The Scheduler's `authorize`, `startRun` and `runExists` for workflows on a durable host: a fire starts
 * the workflow's latest version as `scheduleRunIdentity` (trigger type `schedule`) with the schedule's
 * input checked against its current `inputs`. A fire is skipped when the creator's scope rules no longer
 * hold, the workflow is gone, or the creator may no longer start it by hand.
 */
export function scheduledRuns(deps: {
  workflows: SchedulableWorkflows;
  host: {
    startRun(start: {
      runId: string;
      workflowId: string;
      ir: IrWorkflow;
      version?: number;
      input: Record<string, JsonValue>;
      trigger: { type: 'schedule'; user: Identity };
    }): Promise<string>;
    getRun(runId: string): Promise<unknown>;
  };
  /** Directory.user */
  lookup(email: string): Promise<Identity | undefined>;
}) {
  return {
    async authorize(schedule: ScheduleRecord): Promise<true | string> {
      const verdict = await authorizeScheduleFire(schedule, deps.lookup);
      if (verdict !== true) return verdict;
      const workflow = await deps.workflows.get(schedule.workflowId);
      if (workflow === undefined) return `workflow '${schedule.workflowId}' no longer exists`;
      const creator = await deps.lookup(schedule.createdBy);
      return (creator && workflowScheduleProblem(workflow.ir, creator)) ?? true;
    },
    async startRun(schedule: ScheduleRecord, _scheduledTime: number, runId: string): Promise<string> {
      const workflow = await deps.workflows.get(schedule.workflowId);
      if (workflow === undefined) throw new Error(`workflow '${schedule.workflowId}' no longer exists`);
      const creator = await deps.lookup(schedule.createdBy);
      if (creator === undefined) throw new Error('the creator is no longer in the directory');
      const checked = checkInput(workflow.ir.inputs, schedule.input);
      if (!checked.ok)
        throw new Error(
          `the schedule's input no longer matches the workflow's inputs: ${checked.problems.map((p) => p.message).join('; ')}`,
        );
      return deps.host.startRun({
        runId,
        workflowId: workflow.id,
        ir: workflow.ir,
        ...(workflow.version === undefined ? {} : { version: workflow.version }),
        input: checked.input,
        trigger: { type: 'schedule', user: scheduleRunIdentity(schedule, creator) },
      });
    },
    async runExists(runId: string): Promise<boolean> {
      return (await deps.host.getRun(runId)) !== undefined;
    },
  };
}

// OpenAPI path items for these routes, in the style of openapi.ts (to be merged into OPENAPI.paths).
const idParameter = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];

export const SCHEDULE_PATHS = {
  '/api/schedules': {
    get: {
      ...requires('member', 'schedules:read'),
      summary: "Schedules (member and above): the caller's own; admins: everyone's",
      parameters: [{ name: 'workflowId', in: 'query', schema: { type: 'string' } }],
      responses: { '200': json('schedules'), ...errors },
    },
    post: {
      ...requires('member', 'schedules:write'),
      summary:
        'Schedule a workflow the caller may start by hand (scope user: member+; group: lead+ in the group; org: manager+)',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['workflowId'],
              properties: {
                workflowId: { type: 'string' },
                preset: { enum: ['hourly', 'daily-9am', 'weekly-monday', 'weekdays', 'monthly'] },
                cron: { type: 'string', description: 'five fields; exactly one of preset and cron' },
                timezone: { type: 'string', description: 'IANA; default UTC' },
                scope: { enum: ['user', 'group', 'org'], description: 'default user' },
                group: { type: 'string', description: 'for scope group only' },
                input: { type: 'object', description: "checked against the workflow's inputs" },
                enabled: { type: 'boolean', description: 'default true' },
              },
            },
          },
        },
      },
      responses: { '201': json('the schedule'), '422': problemOf('an invalid field'), ...errors },
    },
  },
  '/api/schedules/{id}': {
    parameters: idParameter,
    get: {
      ...requires('member', 'schedules:read'),
      summary: 'A schedule (its creator or an admin)',
      responses: { '200': json('the schedule'), '404': problemOf('none'), ...errors },
    },
    patch: {
      ...requires('member', 'schedules:write'),
      summary: 'Enable or disable (its creator or an admin)',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } },
          },
        },
      },
      responses: {
        '200': json('the schedule'),
        '404': problemOf('none'),
        '422': problemOf('invalid'),
        ...errors,
      },
    },
    delete: {
      ...requires('member', 'schedules:write'),
      summary: 'Delete with its fires (its creator or an admin)',
      responses: { '204': { description: 'deleted' }, '404': problemOf('none'), ...errors },
    },
  },
} as const;
