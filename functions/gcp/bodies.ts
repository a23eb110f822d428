// What each Cloud Run function accepts, checked before anything runs: the bodies a compiled workflow posts
// (functions/core/wire.ts), Cloud Scheduler's and the worker's tasks. The schemas mirror the wire types; a
// body that does not match is answered 400 with the first problems, each naming its field (`visit:
// expected number`), and never echoes the values.
import { z } from 'zod';
import type {
  GcpApprovalCloseBody,
  GcpApprovalRequestBody,
  GcpBackoffBody,
  GcpNotifyBody,
  GcpResolveTimeBody,
  GcpRunEndBody,
  GcpToolCallBody,
} from '../core/wire.js';
import type { WorkerTask } from './tasks.js';

/** A request body that is not what the function takes; its message names the fields. */
export class BadBodyError extends Error {
  override name = 'BadBodyError';
}

const name = z.string().min(1);
const count = z.number().int().min(1);
const json = z.string().min(1);
const vars = z.record(z.string(), z.json());
const identity = z.object({
  email: name,
  role: name,
  groups: z.array(z.string()),
  manager: z.string().nullable(),
  name: z.string().nullable().optional(),
  service: z.boolean().optional(),
});
const step = { workflowId: name, runId: name, stepId: name, visit: count, identity };
const taskError = z.object({ code: z.string(), message: z.string() }).loose();

const toolCall = z.object({
  ...step,
  kind: z.literal('tool.call'),
  attempt: count,
  server: z.string().nullable(),
  tool: name,
  args: json,
  timeoutMs: z.number().int().positive().nullable(),
  vars,
  callbackUrl: name,
});

const notify = z.object({
  ...step,
  kind: z.literal('notify.send'),
  attempt: count,
  channel: z.enum(['email', 'slack', 'teams', 'sms']),
  to: json,
  subject: json.nullable(),
  message: json,
  vars,
  callbackUrl: name,
});

const approvalRequest = z.object({
  ...step,
  level: count,
  approvers: json,
  require: z.union([z.literal('any'), z.literal('all'), count]),
  message: json,
  context: json.optional(),
  timeoutMs: z.number().int().positive().nullable(),
  eventName: name,
  vars,
  by: z.string().nullable(),
  allowSelfApproval: z.literal(true).optional(),
});

const approvalClose = z.object({
  runId: name,
  stepId: name,
  visit: count,
  level: count,
  reason: z.enum(['timeout', 'cancelled', 'run-ended']),
});

const backoff = z.object({
  retry: z.object({
    maxAttempts: count,
    intervalMs: z.number().min(0),
    backoffRate: z.number().min(1),
    maxDelayMs: z.number().min(0).nullable(),
    jitter: z.enum(['full', 'none']),
  }),
  runId: name,
  stepId: name,
  visit: count,
  attempt: count,
  wakeUrl: name.optional(),
});

const resolveTime = z.object({ stepId: name, time: json, vars, wakeUrl: name.optional() });

const runEnd = z.object({
  runId: name,
  outcome: z.object({
    status: z.enum(['completed', 'failed', 'cancelled', 'timed_out']),
    error: taskError.extend({ step: z.string().nullable() }).nullable(),
    vars,
  }),
});

const scheduleFire = z.object({ scheduleId: name });

const workerTask = z
  .discriminatedUnion('kind', [
    toolCall,
    notify,
    z.object({ kind: z.literal('wake'), wakeUrl: name }),
    z.object({ kind: z.literal('run.timeout'), runId: name }),
  ])
  .and(z.object({ due: z.number().int().optional() }));

/** The body as `schema` reads it, or BadBodyError naming what is wrong. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const checked = schema.safeParse(body);
  if (checked.success) return checked.data;
  const problems = checked.error.issues.slice(0, 5).map((issue) => {
    const field = issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
    return `${field}: ${issue.message}`;
  });
  throw new BadBodyError(`invalid request body: ${problems.join('; ')}`);
}

/** Each function's body reader. */
export const BODIES = {
  toolCall: (body: unknown): GcpToolCallBody => parse(toolCall, body) as GcpToolCallBody,
  notify: (body: unknown): GcpNotifyBody => parse(notify, body) as GcpNotifyBody,
  approvalRequest: (body: unknown): GcpApprovalRequestBody =>
    parse(approvalRequest, body) as GcpApprovalRequestBody,
  approvalClose: (body: unknown): GcpApprovalCloseBody => parse(approvalClose, body),
  backoff: (body: unknown): GcpBackoffBody => parse(backoff, body),
  resolveTime: (body: unknown): GcpResolveTimeBody => parse(resolveTime, body) as GcpResolveTimeBody,
  runEnd: (body: unknown): GcpRunEndBody => parse(runEnd, body) as GcpRunEndBody,
  scheduleFire: (body: unknown): { scheduleId: string } => parse(scheduleFire, body),
  workerTask: (body: unknown): WorkerTask => parse(workerTask, body) as WorkerTask,
};
