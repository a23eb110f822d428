// The functions a deployed GCP workflow posts to (`sg.functions`), and Cloud Scheduler's: each a thin
// wrapper of a shared handler (functions/core/handlers/) over the ports, answering in its response.
//   tool-call, notify   acknowledged at once ({accepted: true}), the request enqueued for the worker
//                       (tasks.ts: Cloud Run throttles CPU once the response is sent)
//   approval-request    opens the level and emails its approvers; the API's decision posts the outcome
//   approval-close      closes a level (timed out, its branch or run cancelled)
//   backoff             the delay before a retry; in a branch also a wake task at its end
//   resolve-time        a delay's `until` resolved; in a branch also a wake task at that time
//   run-end             the outcome the workflow posts as its last act, recorded by the host
//   schedule-fire       one fire of a schedule, claimed once in the store (the Scheduler's fireOnce)
// Every callback and wake URL a body names is checked against the callback base before anything is done.
import {
  approvalCloseFromGcp,
  closeApproval,
  gcpBackoff,
  requestGcpApproval,
  resolveGcpTime,
} from '../core/handlers/index.js';
import { scheduledRuns } from '../core/http/schedule-routes.js';
import type { Notifier } from '../core/ports.js';
import { Scheduler } from '../core/triggers/schedules.js';
import type { GcpActivityAck } from '../core/wire.js';
import { BODIES } from './bodies.js';
import type { JsonAnswer } from './http.js';
import type { GcpDeps } from './ports.js';
import { gcpApprovals, type PlatformKeys } from './services.js';

/** The header Cloud Scheduler sends its HTTP target: the fire's scheduled time (RFC 3339, UTC). */
export const SCHEDULE_TIME_HEADER = 'x-cloudscheduler-scheduletime';

const ACCEPTED: GcpActivityAck = { accepted: true };

/** tool-call: the attempt enqueued for the worker. */
export async function acceptToolCall(deps: GcpDeps, raw: unknown): Promise<JsonAnswer> {
  const body = BODIES.toolCall(raw);
  deps.callbacks().check(body.callbackUrl);
  await deps.queue().enqueue(body);
  return { body: ACCEPTED };
}

/** notify: the attempt enqueued for the worker. */
export async function acceptNotify(deps: GcpDeps, raw: unknown): Promise<JsonAnswer> {
  const body = BODIES.notify(raw);
  deps.callbacks().check(body.callbackUrl);
  await deps.queue().enqueue(body);
  return { body: ACCEPTED };
}

/** approval-request: the level opened (its approvers emailed); `{ok, result | error}`. */
export async function openApproval(
  deps: GcpDeps,
  seams: { keys: PlatformKeys; notifier: Notifier },
  raw: unknown,
): Promise<JsonAnswer> {
  const body = BODIES.approvalRequest(raw);
  deps.callbacks().check(body.eventName);
  const { approvals } = gcpApprovals(deps.ports, seams);
  return { body: await requestGcpApproval({ approvals, clock: deps.ports.clock }, body) };
}

/** approval-close: the level closed; answers null. */
export async function closeLevel(
  deps: GcpDeps,
  seams: { keys: PlatformKeys },
  raw: unknown,
): Promise<JsonAnswer> {
  const body = BODIES.approvalClose(raw);
  const { approvals } = gcpApprovals(deps.ports, seams);
  return { body: await closeApproval(approvals, approvalCloseFromGcp(body)) };
}

/** backoff: the delay; a wake task at its end when the body names a wake URL. */
export async function backoff(deps: GcpDeps, raw: unknown): Promise<JsonAnswer> {
  const body = BODIES.backoff(raw);
  if (body.wakeUrl !== undefined) deps.callbacks().check(body.wakeUrl);
  const { response, wake } = gcpBackoff(body, deps.ports.clock.now());
  if (wake !== undefined) await deps.queue().enqueue({ kind: 'wake', wakeUrl: wake.url }, wake.at);
  return { body: response };
}

/** resolve-time: when the delay ends (or why it cannot); a wake task then when asked for. */
export async function resolveTime(deps: GcpDeps, raw: unknown): Promise<JsonAnswer> {
  const body = BODIES.resolveTime(raw);
  if (body.wakeUrl !== undefined) deps.callbacks().check(body.wakeUrl);
  const { response, wake } = resolveGcpTime(body, deps.ports.clock.now());
  if (wake !== undefined) await deps.queue().enqueue({ kind: 'wake', wakeUrl: wake.url }, wake.at);
  return { body: response };
}

/** run-end: the run's outcome, recorded by the host. */
export async function recordRunEnd(deps: GcpDeps, raw: unknown): Promise<JsonAnswer> {
  const body = BODIES.runEnd(raw);
  await deps.host().recordEnd(body);
  return { body: { recorded: body.runId } };
}

/**
 * schedule-fire: one fire at the time Cloud Scheduler says it was scheduled for (now when the header is
 * missing: the Scheduler then fires the stored time it missed, `catchUp`). A fire already claimed answers
 * `not-due` with 200 (nothing to retry); a store failure 500, which Cloud Scheduler retries.
 */
export async function fireSchedule(
  deps: GcpDeps,
  raw: unknown,
  scheduleTime: string | undefined,
): Promise<JsonAnswer> {
  const { scheduleId } = BODIES.scheduleFire(raw);
  const { ports } = deps;
  const parsed = scheduleTime === undefined ? Number.NaN : Date.parse(scheduleTime);
  const at = Number.isNaN(parsed) ? ports.clock.now() : parsed;
  const directory = ports.directory();
  const scheduler = new Scheduler({
    store: ports.schedules(),
    clock: ports.clock,
    ...scheduledRuns({
      workflows: ports.workflows(),
      host: deps.host(),
      lookup: (email) => directory.user(email),
    }),
  });
  const outcome = await scheduler.fireOnce(scheduleId, at, { catchUp: true });
  return { body: outcome.status === 'not-due' ? { status: 'not-due' } : outcome };
}
