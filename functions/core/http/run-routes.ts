// The run routes of the HTTP API: the run list with its filters, the run view, its live events (SSE), the
// audit export and cancelling. Members see only the runs they triggered; leads and above every run. Their
// access is declared with their OpenAPI description (RUN_PATHS).
//
//   GET    /api/runs?status=&workflowId=&triggeredBy=&from=&to=&limit=   runs, newest first, a completed
//                                             run with what decided its path (approved, rejected, ...), as
//                                             the host recorded it when the run ended: no trail is read
//   GET    /api/runs/:id                      the run view: trigger, every step's state, attempts, approvals
//   GET    /api/runs/:id/events               the run view as Server-Sent Events, again whenever it changes
//   GET    /api/runs/:id/audit                the audit trail as JSON Lines (secrets redacted), a download
//   POST   /api/runs/:id/cancel               the trigger's user or manager+
import type { Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { HttpError } from '../http-error.js';
import { isEmail } from '../identity.js';
import type { DurableHost, RunRecord, StoredWorkflowView, WorkflowStore } from '../ports.js';
import type { Identity, RunStatus } from '../protocol.js';
import { redactAuditRecord, runSummary, runView } from '../run-view.js';
import { requires } from './access.js';
import { errors, json, problemOf } from './openapi-parts.js';
import { atLeast, caller, found } from './request.js';
import type { Env } from './types.js';

export interface RunRoutesDeps {
  workflows: Pick<WorkflowStore, 'history'>;
  host: Pick<DurableHost, 'cancelRun' | 'getRun' | 'listRuns' | 'audit'>;
  /** GET /api/runs/:id/events: how often the run's trail is checked, and the heartbeat (real time, ms). */
  runEvents?: {
    /** How often the stream looks for changes (default 300 ms; 5 s as a safety net when `subscribe` is given). */
    pollMs?: number;
    heartbeatMs?: number;
    /** Calls `changed` whenever the run's audit grows; returns the unsubscribe. Without it, the stream polls. */
    subscribe?: (runId: string, changed: () => void) => () => void;
    /**
     * Behind a proxy that buffers responses (API Gateway's HTTP API): send the run's view once and end the
     * stream, telling the client to come back in `pollMs` (the SSE `retry` field), instead of holding a
     * function open to stream into a buffer.
     */
    once?: boolean;
  };
}

export function mountRuns(app: Hono<Env>, deps: RunRoutesDeps): void {
  app.get('/api/runs', async (c) => {
    const identity = caller(c);
    const filters = runFilters((name) => c.req.query(name));
    // Members see the runs they triggered; leads and above everyone's.
    const everyone = atLeast(identity.role, 'lead');
    const who = everyone ? filters.triggeredBy : identity.email.toLowerCase();
    if (filters.triggeredBy !== undefined && who !== filters.triggeredBy) return c.json([]);
    const runs = await deps.host.listRuns({
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.workflowId ? { workflowId: filters.workflowId } : {}),
      ...(who !== undefined ? { triggeredBy: who } : {}),
      ...(filters.from !== undefined ? { from: filters.from } : {}),
      ...(filters.to !== undefined ? { to: filters.to } : {}),
      limit: filters.limit,
    });
    // A completed run's outcome is in its record (RunRecord.pathOutcome): no trail is read for the list.
    return c.json(runs.map(runSummary));
  });

  app.get('/api/runs/:id', async (c) => {
    const run = await visibleRun(c);
    const workflow = await workflowOf(run);
    const view = runView(run, await deps.host.audit(run.id), workflow?.ir, workflow?.version);
    // `audit`: the same redacted trail under the name earlier clients read.
    return c.json({ ...view, audit: view.history });
  });

  app.get('/api/runs/:id/events', async (c) => {
    const run = await visibleRun(c);
    const workflow = await workflowOf(run);
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
          const current = (await deps.host.getRun(run.id)) ?? run;
          const audit = await deps.host.audit(run.id);
          const mark = `${audit.length}:${current.status}`;
          if (mark !== sent) {
            const view = runView(current, audit, workflow?.ir, workflow?.version);
            await stream.writeSSE({
              event: 'run',
              id: String(audit.length),
              data: JSON.stringify(view),
              ...(deps.runEvents?.once === true ? { retry: pollMs } : {}),
            });
            sent = mark;
          }
          if (current.status !== 'running' || gone() || deps.runEvents?.once === true) return;
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

  app.get('/api/runs/:id/audit', async (c) => {
    const run = await visibleRun(c);
    const lines = (await deps.host.audit(run.id)).map((entry) =>
      JSON.stringify({ runId: run.id, ...redactAuditRecord(entry) }),
    );
    return c.body(lines.length ? `${lines.join('\n')}\n` : '', 200, {
      'content-type': 'application/x-ndjson',
      'content-disposition': `attachment; filename="${auditFileName(run.id)}"`,
    });
  });

  app.post('/api/runs/:id/cancel', async (c) => {
    const run = await visibleRun(c);
    const identity = caller(c);
    if (run.trigger.user.email !== identity.email && !atLeast(identity.role, 'manager'))
      throw new HttpError(403, 'Forbidden', 'only whoever started the run, or a manager, can cancel it');
    if (run.status !== 'running') throw new HttpError(409, 'Not running', `run ${run.id} is ${run.status}`);
    await deps.host.cancelRun(run.id, identity.email);
    return c.json({ runId: run.id, cancelled: true }, 202);
  });

  async function visibleRun(c: Context<Env>): Promise<RunRecord> {
    const identity = caller(c);
    const id = c.req.param('id') ?? '';
    const run = found(await deps.host.getRun(id), 'run', id);
    if (!seesRun(identity, run)) throw new HttpError(404, 'Not found', `no run '${run.id}'`);
    return run;
  }

  /** The workflow version a run was started from: the latest saved before it (versions are kept). */
  async function workflowOf(run: RunRecord): Promise<StoredWorkflowView | undefined> {
    return (await deps.workflows.history(run.workflowId)).findLast((w) => w.createdAt <= run.createdAt);
  }
}

/** Members see their own runs; leads and above see every run. */
function seesRun(identity: Identity, run: RunRecord): boolean {
  return run.trigger.user.email === identity.email || atLeast(identity.role, 'lead');
}

const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'cancelled', 'timed_out'];
const MAX_RUNS = 1_000;

/** The run list's filters from the query, or a 400 naming the first bad one. */
function runFilters(query: (name: string) => string | undefined) {
  const bad = (field: string, detail: string) => new HttpError(400, 'Bad request', detail, { field });
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

/** The audit export's file name: the run id, with anything a file name should not hold made `_`. */
export function auditFileName(runId: string): string {
  return `run-${runId.replace(/[^A-Za-z0-9._-]/g, '_')}-audit.jsonl`;
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const RUN_PATHS = {
  '/api/runs': {
    get: {
      ...requires('member', 'runs:read'),
      summary:
        'Runs, newest first (member and above; members see their own): id, workflowId, status, trigger { kind, user }, createdAt, endedAt, durationMs, and for a completed run whose path an approval or a handled error decided, outcome { kind: approved | rejected | timed-out | error-handled, step, by? }',
      parameters: [
        {
          name: 'status',
          in: 'query',
          schema: { enum: ['running', 'completed', 'failed', 'cancelled', 'timed_out'] },
        },
        { name: 'workflowId', in: 'query', schema: { type: 'string' } },
        {
          name: 'triggeredBy',
          in: 'query',
          description: 'the email of the user the run was started by (or acts for)',
          schema: { type: 'string', format: 'email' },
        },
        {
          name: 'from',
          in: 'query',
          description: 'created at or after (ms since the epoch)',
          schema: { type: 'integer', minimum: 0 },
        },
        {
          name: 'to',
          in: 'query',
          description: 'created before (ms since the epoch)',
          schema: { type: 'integer', minimum: 0 },
        },
        {
          name: 'limit',
          in: 'query',
          schema: { type: 'integer', minimum: 1, maximum: 1000, default: 200 },
        },
      ],
      responses: { '200': json('runs'), '400': problemOf('A bad filter (the field is named)'), ...errors },
    },
  },
  '/api/runs/{id}': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      ...requires('viewer', 'runs:read'),
      summary:
        'The run view: trigger, input, output, error, every step (state, visits, attempts with policy decisions and credential levels, approval requests and decisions) and the history; secrets redacted',
      responses: { '200': json('run view'), '404': json('none'), ...errors },
    },
  },
  '/api/runs/{id}/events': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      ...requires('viewer', 'runs:read'),
      summary:
        'Server-Sent Events: `run` with the run view at once and whenever the run changes, a comment heartbeat every 15 s; ends after the view of the ended run',
      responses: {
        '200': { description: 'an event stream', content: { 'text/event-stream': {} } },
        '404': json('none'),
        ...errors,
      },
    },
  },
  '/api/runs/{id}/audit': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      ...requires('viewer', 'runs:read'),
      summary:
        'The audit trail as JSON Lines (secrets redacted), as a download named run-<id>-audit.jsonl (content-disposition)',
      responses: {
        '200': {
          description: 'one entry per line',
          headers: {
            'content-disposition': {
              description: 'attachment; filename="run-<id>-audit.jsonl"',
              schema: { type: 'string' },
            },
          },
          content: { 'application/x-ndjson': {} },
        },
        ...errors,
      },
    },
  },
  '/api/runs/{id}/cancel': {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    post: {
      ...requires('viewer', 'runs:cancel'),
      summary: 'Cancel (who started it, or manager and above)',
      responses: { '202': json('cancelled'), '409': json('not running'), ...errors },
    },
  },
};
