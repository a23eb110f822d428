// Step Functions as Stepgate's durable host on AWS: a run is a Standard execution named by the run id, of
// the published state machine version of the Stepgate version it was triggered with
// (adapters/aws/state-machines.ts), its record and audit trail in the DynamoDB table
// (adapters/aws/run-store.ts, adapters/aws/audit.ts).
//
// - startRun writes the run record and its `run.started` entry (conditional: one start per run id), then
//   StartExecution with the input a compiled machine expects (aslExecutionInput). ExecutionAlreadyExists
//   there means an earlier attempt of this very start got through (the record is ours): success. Any other
//   failure ends the run failed (`Stepgate.StartFailed`) and rethrows, so no run stays running without an
//   execution. A crash between the record and StartExecution leaves a running record without an execution
//   (waitForRun then fails with ExecutionDoesNotExist): not repaired here.
// - cancelRun is StopExecution (error `Stepgate.Cancelled`, cause `cancelled by <who>`), then the record's
//   end with `run.cancelled` and `run.finished`, as the embedded engine writes them.
// - applyExecutionStatus takes the EventBridge "Step Functions Execution Status Change" event (the
//   run-status Lambda): a terminal status becomes the record's status, outcome and end time and the
//   trail's end entries, once (run-store.ts `end` is conditional on `running`), so a redelivered event
//   changes nothing, a terminal status never regresses, and the ABORTED event of a cancel finds the run
//   cancelled already. SUCCEEDED → completed (the outcome's vars: the output's `vars` without the
//   built-ins), FAILED → failed (or timed_out for `Stepgate.ApprovalTimeout`, as the orchestrator has it),
//   TIMED_OUT → timed_out (`run.timed-out` first), ABORTED → cancelled (`run.cancelled`, who from the cause).
//   A completed run's end also records what decided its path (RunRecord.pathOutcome), read from its whole
//   trail (GetExecutionHistory included) this once, so the run list reads no trail; an event for a run
//   that has ended already reads no trail.
// - audit(runId) merges the table's trail (run entries, the handlers' entries) with the step entries read
//   from GetExecutionHistory (adapters/aws/execution-history.ts: the mapping), in time order, numbered anew.
// - raiseEvent: a state machine waits on no named event (approvals wait on task tokens): always an error.
//   `answerApproval` is how an approval's outcome reaches the run: SendTaskSuccess / SendTaskFailure on the
//   level's task token. A token Step Functions no longer knows (TaskTimedOut, TaskDoesNotExist) means the
//   level had expired and the machine escalated: not an error to the decider (the decision stays recorded
//   and is marked delivered), but the run's trail gets an `approval.refused` entry with reason `expired`.
// - waitForRun polls the record and DescribeExecution (applying a terminal status the event has not yet
//   brought); idle() resolves at once (nothing runs in this process); close() has nothing to close.
import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import { aslCallbackAnswer } from '../../functions/core/handlers/approval-decision.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { Clock, DurableHost, RunFilter, RunRecord, WorkflowStore } from '../../functions/core/ports.js';
import {
  type ApprovalOutcome,
  ERROR,
  type FinalStatus,
  type RunError,
  type RunOutcome,
  type RunStatus,
} from '../../functions/core/protocol.js';
import { type RunOutcomeView, runOutcome } from '../../functions/core/run-outcome.js';
import { aslExecutionInput } from '../../functions/core/wire.js';
import type { JsonValue } from '../../translator/template.js';
import { DynamoRunAudit } from './audit.js';
import { historyEntries, taskErrorOf } from './execution-history.js';
import { DynamoRunStore, type StoredRun } from './run-store.js';
import type { StateMachineDeployer } from './state-machines.js';
import type { Table } from './table.js';

/** The error a cancel stops an execution with. */
export const CANCELLED_ERROR = 'Stepgate.Cancelled';

export interface StepFunctionsHostOptions {
  sfn: SFNClient;
  table: Table;
  /** Where each Stepgate version's state machine version is recorded. */
  machines: Pick<StateMachineDeployer, 'deployed'>;
  /** The workflows' versions: the IR a run started on, to read its execution history. */
  workflows: Pick<WorkflowStore, 'history'>;
  clock?: Pick<Clock, 'now'>;
  /** How often waitForRun looks again (default 1000 ms). */
  pollMs?: number;
}

/** The detail of an EventBridge "Step Functions Execution Status Change" event. */
export interface ExecutionStatusDetail {
  executionArn: string;
  /** The execution's name: the run id. */
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | string;
  output?: string | null;
  error?: string | null;
  cause?: string | null;
  /** ms since epoch. */
  stopDate?: number | null;
}

/** An approval level's answer reached the machine, or its token had expired (the machine escalated). */
export type ApprovalAnswer = 'answered' | 'expired';

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

export class StepFunctionsHost implements DurableHost {
  private readonly sfn: SFNClient;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly trail: DynamoRunAudit;
  private readonly runs: DynamoRunStore;

  constructor(private readonly options: StepFunctionsHostOptions) {
    this.sfn = options.sfn;
    this.clock = options.clock ?? Date;
    this.trail = new DynamoRunAudit(options.table, this.clock);
    this.runs = new DynamoRunStore(options.table, this.trail);
  }

  async startRun(start: Omit<RunStart, 'runId'> & { runId?: string }): Promise<string> {
    const run: RunStart = { ...start, runId: start.runId ?? randomUUID() };
    const deployed = await this.options.machines.deployed(run.workflowId, run.version);
    if (deployed === undefined)
      throw new Error(
        `workflow '${run.workflowId}'${run.version === undefined ? '' : ` version ${run.version}`} has no state machine: save (deploy) it first`,
      );
    const at = this.clock.now();
    const executionArn = `${deployed.stateMachineArn.replace(':stateMachine:', ':execution:')}:${run.runId}`;
    await this.runs.create(run, at, { version: deployed.version, executionArn });
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: deployed.versionArn,
          name: run.runId,
          input: JSON.stringify(aslExecutionInput(run, at)),
        }),
      );
    } catch (error) {
      if (errorName(error) === 'ExecutionAlreadyExists') return run.runId;
      const message = `the execution did not start: ${error instanceof Error ? error.message : String(error)}`;
      const failure: RunError = { code: 'Stepgate.StartFailed', message, step: null };
      await this.runs.end(run.runId, { status: 'failed', error: failure, vars: {} }, this.clock.now(), [
        { type: 'run.finished', data: { status: 'failed', error: failure } },
      ]);
      throw error;
    }
    return run.runId;
  }

  async raiseEvent(runId: string, name: string, _payload: unknown): Promise<void> {
    throw new Error(
      `run ${runId}: a Step Functions execution waits on no named event ('${name}'); an approval level is answered on its task token`,
    );
  }

  async cancelRun(runId: string, by: string): Promise<void> {
    const run = await this.runs.get(runId);
    if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
    if (run.status !== 'running') throw new Error(`run ${runId} is not running (${run.status})`);
    try {
      await this.sfn.send(
        new StopExecutionCommand({
          executionArn: run.executionArn,
          error: CANCELLED_ERROR,
          cause: `cancelled by ${by}`,
        }),
      );
    } catch (error) {
      // Stopped already, or it ended meanwhile: its status event (or waitForRun) records how.
      if (errorName(error) !== 'ExecutionDoesNotExist') throw error;
    }
    await this.runs.end(runId, { status: 'cancelled', error: null, vars: {} }, this.clock.now(), [
      { type: 'run.cancelled', data: { by } },
      { type: 'run.finished', data: { status: 'cancelled', error: null } },
    ]);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = await this.runs.get(runId);
    return run === undefined ? undefined : recordOf(run);
  }

  async listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return (await this.runs.list(filter)).map(recordOf);
  }

  async audit(runId: string): Promise<AuditRecord[]> {
    const [trail, run] = await Promise.all([this.trail.list(runId), this.runs.get(runId)]);
    return run === undefined ? trail : this.withSteps(run, trail);
  }

  /** The run's table trail merged with the step entries of its execution history (see the header). */
  private async withSteps(run: StoredRun, trail: AuditRecord[]): Promise<AuditRecord[]> {
    const ir = (await this.options.workflows.history(run.workflowId)).find(
      (w) => w.version === run.version,
    )?.ir;
    const steps = ir === undefined ? [] : historyEntries(run.id, ir, await this.history(run.executionArn));
    const rank = (entry: AuditEntry): number =>
      entry.type === 'run.started' ? 0 : entry.type.startsWith('run.') ? 3 : 1;
    const merged = [
      ...trail.map((r, i) => ({ at: r.at, entry: entryOf(r), order: i })),
      ...steps.map((s, i) => ({ ...s, order: trail.length + i })),
    ].sort((a, b) => a.at - b.at || rank(a.entry) - rank(b.entry) || a.order - b.order);
    return merged.map((m, i) => auditRecord(m.entry, i + 1, m.at));
  }

  async idle(): Promise<void> {}

  async waitForRun(runId: string): Promise<FinalStatus> {
    for (;;) {
      const run = await this.runs.get(runId);
      if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
      if (run.status !== 'running') return run.status;
      const execution = await this.sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn }));
      if (execution.status !== undefined && !['RUNNING', 'PENDING_REDRIVE'].includes(execution.status)) {
        await this.applyExecutionStatus({
          executionArn: run.executionArn,
          name: runId,
          status: execution.status,
          output: execution.output ?? null,
          error: execution.error ?? null,
          cause: execution.cause ?? null,
          stopDate: execution.stopDate?.getTime() ?? null,
        });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 1_000));
    }
  }

  async close(): Promise<void> {}

  /**
   * Applies an execution's status change to its run (see the header); answers the run's status after, or
   * undefined for an execution that is no Stepgate run.
   */
  async applyExecutionStatus(detail: ExecutionStatusDetail): Promise<RunStatus | undefined> {
    const run = await this.runs.get(detail.name);
    if (run === undefined || run.executionArn !== detail.executionArn) return undefined;
    if (run.status !== 'running') return run.status; // ended already: applied once, nothing read again
    const ended = await this.endingOf(run, detail);
    if (ended === undefined) return run.status;
    const { outcome, entries } = ended;
    // What decided a completed run's path, from its trail as it ends.
    const path = outcome.status === 'completed' ? await this.pathOutcomeOf(run) : undefined;
    await this.runs.end(run.id, outcome, detail.stopDate ?? this.clock.now(), entries, path);
    return (await this.runs.get(run.id))?.status;
  }

  /**
   * Records what decided the path of up to `limit` runs that completed before runs kept it (RunRecord.
   * pathOutcome), each from its trail once; answers how many it recorded. The deploy-time setup calls it,
   * so an upgraded deployment lists its earlier runs' outcomes too; what exceeds `limit` (every trail read
   * is a GetExecutionHistory call, a throttled API) waits for the next deploy.
   */
  async recordPathOutcomes(limit = 500): Promise<number> {
    let recorded = 0;
    for (const run of await this.runs.unrecorded(limit))
      if (await this.runs.recordPath(run.id, await this.pathOutcomeOf(run))) recorded++;
    return recorded;
  }

  /** What decided a completed run's path, from its whole trail (its end entries decide nothing); null: none. */
  private async pathOutcomeOf(run: StoredRun): Promise<RunOutcomeView | null> {
    return runOutcome('completed', await this.withSteps(run, await this.trail.list(run.id))) ?? null;
  }

  /**
   * Answers an approval level on its task token (the callback handle the level's request stored); an
   * expired token is recorded in the run's trail and answered `expired` (see the header).
   */
  async answerApproval(runId: string, callback: string, outcome: ApprovalOutcome): Promise<ApprovalAnswer> {
    const answered = await answerApproval(this.sfn, callback, outcome);
    if (answered === 'expired') {
      const { step } = JSON.parse(callback) as { step: { stepId: string; level: number } };
      await this.trail.append(runId, {
        type: 'approval.refused',
        step: step.stepId,
        data: {
          by: outcome.decidedBy ?? 'unknown',
          decision: outcome.approved ? 'approve' : 'reject',
          channel: 'step-functions',
          reason: 'expired',
          level: step.level,
        },
      });
    }
    return answered;
  }

  /** The outcome and end entries a terminal execution status stands for; undefined while it runs. */
  private async endingOf(
    run: StoredRun,
    detail: ExecutionStatusDetail,
  ): Promise<{ outcome: RunOutcome; entries: AuditEntry[] } | undefined> {
    const finished = (status: FinalStatus, error: RunError | null, before: AuditEntry[] = []) => ({
      outcome: { status, error, vars: status === 'completed' ? varsOf(detail.output) : {} },
      entries: [...before, { type: 'run.finished', data: { status, error } } as AuditEntry],
    });
    switch (detail.status) {
      case 'SUCCEEDED':
        return finished('completed', null);
      case 'FAILED': {
        const failure = taskErrorOf(detail.error, detail.cause);
        const error: RunError = { code: failure.code, message: failure.message, step: stepOf(detail.cause) };
        return finished(error.code === ERROR.approvalTimeout ? 'timed_out' : 'failed', error);
      }
      case 'TIMED_OUT': {
        const ir = (await this.options.workflows.history(run.workflowId)).find(
          (w) => w.version === run.version,
        )?.ir;
        const error: RunError = { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null };
        return finished('timed_out', error, [
          { type: 'run.timed-out', data: { timeoutMs: ir?.timeoutMs ?? null } },
        ]);
      }
      case 'ABORTED': {
        const by =
          detail.error === CANCELLED_ERROR
            ? (/^cancelled by (.+)$/.exec(detail.cause ?? '')?.[1] ?? null)
            : null;
        return finished('cancelled', null, [{ type: 'run.cancelled', data: { by } }]);
      }
      default:
        return undefined;
    }
  }

  /** The execution's whole history, page after page (none when Step Functions does not know it). */
  private async history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.sfn.send(
          new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
        );
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken !== undefined);
    } catch (error) {
      if (errorName(error) !== 'ExecutionDoesNotExist') throw error;
    }
    return events;
  }
}

/**
 * Answers an approval level's task token with its outcome (aslCallbackAnswer): SendTaskSuccess with the
 * step's result, or SendTaskFailure with the error and the cause as JSON. `expired` when Step Functions no
 * longer waits on the token (TaskTimedOut, TaskDoesNotExist): the level had timed out and the machine
 * escalated.
 */
export async function answerApproval(
  sfn: SFNClient,
  callback: string,
  outcome: ApprovalOutcome,
): Promise<ApprovalAnswer> {
  const { taskToken, answer } = aslCallbackAnswer(callback, outcome);
  try {
    if (answer.ok)
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(answer.output) }));
    else
      await sfn.send(
        new SendTaskFailureCommand({ taskToken, error: answer.error, cause: JSON.stringify(answer.cause) }),
      );
    return 'answered';
  } catch (error) {
    if (['TaskTimedOut', 'TaskDoesNotExist'].includes(errorName(error))) return 'expired';
    throw error;
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** The port's record: without where the run executes. */
function recordOf(run: StoredRun): RunRecord {
  const { version: _version, executionArn: _arn, ...record } = run;
  return record;
}

function entryOf(record: AuditRecord): AuditEntry {
  return { type: record.type, step: record.step ?? undefined, data: record.data } as AuditEntry;
}

/** The run's variables from a succeeded execution's output: its `vars` without the built-ins. */
function varsOf(output: string | null | undefined): Record<string, JsonValue> {
  try {
    const doc = JSON.parse(output ?? '{}') as { vars?: Record<string, JsonValue> };
    const { trigger: _trigger, run: _run, ...vars } = doc.vars ?? {};
    return vars;
  } catch {
    return {};
  }
}

/** The failed step a handler's cause names (`{"error": {"step": ...}}`), if any. */
function stepOf(cause: string | null | undefined): string | null {
  try {
    const parsed = JSON.parse(cause ?? '') as { error?: { step?: unknown } };
    return typeof parsed.error?.step === 'string' ? parsed.error.step : null;
  } catch {
    return null;
  }
}
