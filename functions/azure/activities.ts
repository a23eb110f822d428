// The activities of the Azure host and the one encoding of their failures. Durable Functions hands an
// activity's failure to the orchestrator as a failed task whose only reliable content is a message (the
// legacy `Reason`/`Details` pair, or `FailureDetails.errorMessage` on newer extensions), so an activity
// host throws an Error whose message carries the TaskError as JSON between two markers; the orchestrator
// side finds the markers wherever the runtime put the message and decodes `{code, message, retryable}`.
//
// Beside the shared activities the Azure orchestrator calls two of its own: `record` (its audit entries, one
// batch per yield) and `run-end` (once it returned: the run's record ends with its outcome, once). The
// tool-call activity writes the pipeline's stage entries to the run's trail, as the embedded engine does.

import { azureFunctionName } from '../../translator/emit/azure-durable.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { errorMessage } from '../../translator/util.js';
import type { ApprovalService } from '../core/approvals.js';
import type { AuditEntry, TaskError } from '../core/durable.js';
import { closeApproval, notifyHandler, openApproval, toolCallHandler } from '../core/handlers/index.js';
import { ActivityError, type Notifier, type ResultStore, type ToolInvoker } from '../core/ports.js';
import {
  ACTIVITY,
  type ActivityName,
  type ApprovalClose,
  type ApprovalRequest,
  type NotifyRequest,
  type RunOutcome,
  type ToolCallRequest,
} from '../core/protocol.js';

/** The audit activity: the orchestrator's `ctx.record` entries, batched per orchestrator yield. */
export const RECORD_ACTIVITY = 'record';
/** The run's end: called once the orchestrator returned, with its outcome. */
export const RUN_END_ACTIVITY = 'run-end';
export type AzureActivityName = ActivityName | typeof RECORD_ACTIVITY | typeof RUN_END_ACTIVITY;
export const AZURE_ACTIVITIES: readonly AzureActivityName[] = [
  ACTIVITY.toolCall,
  ACTIVITY.notify,
  ACTIVITY.approvalRequest,
  ACTIVITY.approvalClose,
  RECORD_ACTIVITY,
  RUN_END_ACTIVITY,
];

/** The `run-end` activity's input. */
export interface RunEnd {
  runId: string;
  outcome: RunOutcome;
}

/** One audit entry with its place in the run's trail; `seq` makes a redelivered batch idempotent. */
export type RecordedEntry = AuditEntry & {
  seq: number;
  /** The orchestrator's deterministic time when it recorded the entry (ms since epoch). */
  at: number;
};

export interface RecordBatch {
  runId: string;
  entries: RecordedEntry[];
}

/** The core ports the activities delegate to; injected by the entrypoint (or a test). */
export interface AzureActivityPorts {
  tools: ToolInvoker;
  /** Where tool results too large for the orchestration's state go (referenced from it). */
  results: ResultStore;
  notifier: Notifier;
  approvals: Pick<ApprovalService, 'request' | 'close'>;
  /** Appends entries to the run's audit trail, ignoring any `seq` it already holds. */
  audit: { append(batch: RecordBatch): Promise<void> };
  /** The run's history beyond the batches (adapters/azure/run-records.ts AzureRunRecorder). */
  runs: {
    /** Appends a tool attempt's pipeline stage entries to the run's trail, in order. */
    stages(runId: string, entries: readonly AuditEntry[]): Promise<void>;
    /** Ends the run's record with the outcome, once: false when it had ended already. */
    end(runId: string, outcome: RunOutcome): Promise<boolean>;
  };
}

export type AzureActivityHandler = (input: unknown) => Promise<unknown>;

const OPEN = '[stepgate-error]';
const CLOSE = '[/stepgate-error]';

/** The Error an activity host throws for a failure: its message is the encoded TaskError. */
export function encodeActivityError(error: unknown): Error {
  const task: TaskError =
    error instanceof ActivityError
      ? { code: error.code, message: error.message, retryable: error.retryable }
      : { code: ERROR_CODE.activityFailed, message: errorMessage(error) };
  const encoded = new Error(`${OPEN}${JSON.stringify(task)}${CLOSE}`);
  encoded.name = 'StepgateActivityError';
  return encoded;
}

/** Decodes the TaskError from whatever Durable Functions made of a failed activity's error. */
export function decodeActivityError(failure: unknown): TaskError {
  const text = failureText(failure);
  const start = text.indexOf(OPEN);
  const end = start === -1 ? -1 : text.indexOf(CLOSE, start);
  if (start !== -1 && end !== -1) {
    try {
      const parsed: unknown = JSON.parse(text.slice(start + OPEN.length, end));
      if (isTaskError(parsed)) return parsed;
    } catch {
      // fall through: not ours
    }
  }
  return { code: ERROR_CODE.activityFailed, message: text || 'the activity failed' };
}

function failureText(failure: unknown): string {
  if (failure instanceof Error) {
    const details = (failure as { failureDetails?: { errorMessage?: unknown } }).failureDetails;
    const inner = typeof details?.errorMessage === 'string' ? details.errorMessage : '';
    return inner.includes(OPEN) ? inner : failure.message;
  }
  return typeof failure === 'string' ? failure : '';
}

function isTaskError(value: unknown): value is TaskError {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === 'string' &&
    typeof v.message === 'string' &&
    (v.retryable === undefined || typeof v.retryable === 'boolean')
  );
}

/** The activity handlers by Azure function name (`tool-call`, ...): each runs the shared handler and encodes its failure. */
export function createActivityHandlers(
  ports: AzureActivityPorts,
): Readonly<Record<string, AzureActivityHandler>> {
  const wrap =
    <T>(run: (input: T) => Promise<unknown>): AzureActivityHandler =>
    async (input) => {
      try {
        const result = await run(input as T);
        return result === undefined ? null : result;
      } catch (error) {
        throw encodeActivityError(error);
      }
    };
  const toolCall = toolCallHandler({ tools: ports.tools, results: ports.results });
  const notify = notifyHandler(ports.notifier);
  const byActivity: Record<AzureActivityName, AzureActivityHandler> = {
    [ACTIVITY.toolCall]: wrap((input: ToolCallRequest) => callTool(ports, toolCall, input)),
    [ACTIVITY.notify]: wrap((input: NotifyRequest) => notify(input)),
    [ACTIVITY.approvalRequest]: wrap((input: ApprovalRequest) => openApproval(ports.approvals, input)),
    [ACTIVITY.approvalClose]: wrap((input: ApprovalClose) => closeApproval(ports.approvals, input)),
    [RECORD_ACTIVITY]: wrap(async (input: RecordBatch) => {
      await ports.audit.append(input);
      return null;
    }),
    [RUN_END_ACTIVITY]: wrap(async (input: unknown) => {
      const { runId, outcome } = parseRunEnd(input);
      return { ended: await ports.runs.end(runId, outcome) };
    }),
  };
  return Object.fromEntries(AZURE_ACTIVITIES.map((name) => [azureFunctionName(name), byActivity[name]]));
}

/** One tool attempt through the pipeline; its stages appended to the run's trail, whatever its outcome. */
async function callTool(
  ports: AzureActivityPorts,
  call: ReturnType<typeof toolCallHandler>,
  request: ToolCallRequest,
): Promise<unknown> {
  const stages: AuditEntry[] = [];
  try {
    return await call(request, { audit: (entry) => void stages.push(entry) });
  } finally {
    if (stages.length > 0) await ports.runs.stages(request.runId, stages);
  }
}

const FINAL_STATUSES: readonly string[] = ['completed', 'failed', 'cancelled', 'timed_out'];

/** Checks the `run-end` input at the DF boundary, naming the field that does not hold. */
export function parseRunEnd(input: unknown): RunEnd {
  const v = (input ?? {}) as { runId?: unknown; outcome?: Partial<Record<keyof RunOutcome, unknown>> | null };
  const outcome = v.outcome;
  const problem =
    typeof v.runId !== 'string' || v.runId.length === 0
      ? 'runId: a run id'
      : outcome === null || typeof outcome !== 'object'
        ? 'outcome: {status, error, vars}'
        : typeof outcome.status !== 'string' || !FINAL_STATUSES.includes(outcome.status)
          ? `outcome.status: one of ${FINAL_STATUSES.join(', ')}`
          : outcome.error !== null && typeof outcome.error !== 'object'
            ? 'outcome.error: null or {code, message, step}'
            : outcome.vars === null || typeof outcome.vars !== 'object'
              ? 'outcome.vars: an object'
              : undefined;
  if (problem !== undefined) throw new ActivityError(ERROR_CODE.fatal, `run-end input: ${problem}`, false);
  return input as RunEnd;
}
