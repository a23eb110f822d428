// The `worker` function, Cloud Tasks' target: does the work `tool-call` and `notify` acknowledged (the
// shared handlers: functions/core/handlers/tool-call.ts, notify.ts) and posts the GcpActivityCallback to the
// step's callback URL; posts `{wake: true}` to a branch's wait callback when its delay has passed; times
// out a run through the host.
//
// Cloud Tasks delivers at least once, so every attempt (runId, stepId, visit, attempt) is claimed before the
// tool is called (ActivityClaims, Firestore): a redelivery finds the claim and never calls the tool again —
// it re-posts the recorded answer if that never reached the workflow, and answers 200 if it did. A
// redelivery while another delivery still holds the claim answers 503, so Cloud Tasks tries again later. A
// claim whose holder vanished mid-call (its lease lapsed, nothing recorded) may have acted: it is answered
// as a retryable `activity-interrupted` failure and the step's retry policy makes a new attempt, with a key
// of its own. LEASE_MS outlasts the worker's longest request (Cloud Tasks' dispatch deadline is at most
// 30 minutes; the Terraform gives the function that timeout).
import type { JsonValue } from '../../translator/template.js';
import type { AuditEntry } from '../core/audit.js';
import {
  gcpFailure,
  notifyFromGcp,
  notifyHandler,
  toolCallFromGcp,
  toolCallHandler,
} from '../core/handlers/index.js';
import type { Notifier, ToolInvoker } from '../core/ports.js';
import type { GcpActivityCallback, GcpNotifyBody, GcpToolCallBody } from '../core/wire.js';
import type { JsonAnswer } from './http.js';
import type { GcpDeps } from './ports.js';
import { taskId, type WorkerTask } from './tasks.js';

/** How long a delivery holds an attempt's claim. */
export const LEASE_MS = 35 * 60_000;

/** The error code of an attempt whose worker vanished while it ran. */
export const INTERRUPTED = 'activity-interrupted';

/** What the worker's activities use besides the deps (built once per instance). */
export interface WorkerServices {
  tools(): Promise<{ pipeline: ToolInvoker }>;
  notifier(): Promise<Notifier>;
}

/** Runs one task; answers what the worker's response says (non-2xx: Cloud Tasks retries the task). */
export async function runWorkerTask(
  deps: GcpDeps,
  services: WorkerServices,
  task: WorkerTask,
): Promise<JsonAnswer> {
  const { due, ...work } = task;
  if (due !== undefined && due > deps.ports.clock.now()) {
    await deps.queue().enqueue(work as WorkerTask, due);
    return { body: { requeued: true } };
  }
  switch (work.kind) {
    case 'tool.call':
      return activity(deps, work, () => callTool(deps, services, work));
    case 'notify.send':
      return activity(deps, work, async () => notifyHandler(await services.notifier())(notifyFromGcp(work)));
    case 'wake':
      return { body: { wake: await deps.callbacks().post(work.wakeUrl, { wake: true }) } };
    case 'run.timeout':
      await deps.host().timeOut(work.runId);
      return { body: { timedOut: work.runId } };
  }
}

/** One tool attempt through the pipeline; its stages joined to the run's audit trail. */
async function callTool(deps: GcpDeps, services: WorkerServices, body: GcpToolCallBody): Promise<JsonValue> {
  const { ports } = deps;
  const trail: AuditEntry[] = [];
  const call = toolCallHandler({ tools: (await services.tools()).pipeline, results: ports.results() });
  try {
    return await call(toolCallFromGcp(body), { audit: (entry) => void trail.push(entry) });
  } finally {
    for (const entry of trail) await ports.audit().append(body.runId, entry);
  }
}

/** The attempt's answer: the work's result, or its failure as the workflow reads it. */
async function outcome(work: () => Promise<JsonValue>): Promise<GcpActivityCallback> {
  try {
    const result = await work();
    return { ok: true, result: result ?? null };
  } catch (error) {
    return gcpFailure(error);
  }
}

/** An activity run once per attempt (see the top), its answer posted to the step's callback. */
async function activity(
  deps: GcpDeps,
  body: GcpToolCallBody | GcpNotifyBody,
  work: () => Promise<JsonValue>,
): Promise<JsonAnswer> {
  const claims = deps.ports.claims();
  const key = taskId(body);
  const now = deps.ports.clock.now();
  const claim = await claims.claim(key, now, LEASE_MS);
  if (claim.status === 'held')
    return {
      status: 503,
      headers: { 'retry-after': String(Math.max(1, Math.ceil((claim.until - now) / 1000))) },
      body: { held: key },
    };
  if (claim.status === 'done' && claim.delivered) return { body: { duplicate: key } };
  const answer =
    claim.status === 'done'
      ? claim.answer
      : await claims.finish(key, claim.takenOver ? interrupted(body) : ((await outcome(work)) as JsonValue));
  const posted = await deps.callbacks().post(body.callbackUrl, answer);
  await claims.delivered(key);
  return { body: { [posted]: key } };
}

function interrupted(body: GcpToolCallBody | GcpNotifyBody): JsonValue {
  const failure: GcpActivityCallback = {
    ok: false,
    error: {
      code: INTERRUPTED,
      message: `attempt ${body.attempt} of step '${body.stepId}' was interrupted before it answered; it is not repeated`,
      retryable: true,
    },
  };
  return failure as JsonValue;
}
