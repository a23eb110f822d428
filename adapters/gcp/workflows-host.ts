// GCP Workflows as Stepgate's durable host on Google Cloud, as adapters/aws/step-functions-host.ts is on
// AWS: a run is an execution of the GCP workflow recorded for the Stepgate version it was triggered with
// (adapters/gcp/workflows-deployer.ts), its record and audit trail kept by the run records (GcpRunRecords,
// GcpRunAudit: the Firestore stores mirror the DynamoDB ones, with the execution's name for its ARN).
//
// - startRun writes the run record and its `run.started` entry (one start per run id: the records refuse a
//   second), schedules the whole-run timeout when the workflow has one (`timeouts`, a Cloud Task calling
//   `timeOut`), then createExecution with the argument the compiled workflow expects (gcpExecutionArgument:
//   {input, trigger, run, stepgate: {runId, workflowId, identity, by?, functions}}) and attaches the
//   execution's name to the record: Workflows names executions itself, so the name is known only after the
//   start (the records' `attachExecution`). The execution carries the run id as its `stepgate-run` label
//   (when the id is a valid label value, as generated ids are), so the console finds a run's execution. A failed timeout schedule, start or attach ends the run failed
//   (`Stepgate.StartFailed`; an execution that did start is cancelled) and rethrows, so no run stays
//   running without an execution or its timeout, and no execution runs without a record naming it.
// - The run's end: the deployed workflow posts its outcome (GcpRunEndBody) to the run-end function, which
//   calls recordEnd (validated; an end is applied once, the records' `end` being conditional on running).
//   cancelRun cancels the execution and records `run.cancelled`; timeOut (the timeout task) cancels it and
//   records `run.timed-out`. A report that never arrived is reconciled by waitForRun, which reads the
//   execution (getExecution): SUCCEEDED / FAILED carry the outcome as JSON (the wrapper returns or raises
//   it), CANCELLED without a recorded end is a cancel by nobody known.
// - A completed run's end records what decided its path (RunRecord.pathOutcome), from its whole trail,
//   step entries included, this once.
// - audit(runId) merges the trail with the execution's step entries (adapters/gcp/step-entries.ts), read
//   with REST (`GET v1/{execution}/stepEntries`, not in the client library) on the given auth client.
// - raiseEvent: a Workflows execution waits on callback URLs, not named events: always an error (an
//   approval's outcome is posted to the level's callback URL by the decision function).
// - idle() resolves at once; close() has nothing to close (the clients belong to the caller).
import { randomUUID } from 'node:crypto';
import type { ExecutionsClient } from '@google-cloud/workflows';
import { z } from 'zod';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { Clock, DurableHost, RunFilter, RunRecord, WorkflowStore } from '../../functions/core/ports.js';
import {
  ERROR,
  type FinalStatus,
  identityJson,
  type RunError,
  type RunOutcome,
  type RunStatus,
} from '../../functions/core/protocol.js';
import { type RunOutcomeView, runOutcome } from '../../functions/core/run-outcome.js';
import type { GcpRunEndBody } from '../../functions/core/wire.js';
import type { JsonValue } from '../../translator/template.js';
import { googleStatus } from './google-errors.js';
import type { StoredGcpRun } from './run-store.js';
import { type GcpStepEntry, stepEntryAudit } from './step-entries.js';
import type { DeployedWorkflow } from './workflows-deployer.js';

/** A run record as the GCP host keeps it: the port's fields, and where the run executes. */

/** The run records the host needs (adapters/gcp/run-store.ts, as DynamoRunStore with executionName). */
export interface GcpRunRecords {
  /** Writes a new running record and its `run.started` entry, or throws (naming the id) when it exists. */
  create(
    start: RunStart,
    at: number,
    where: { version: number | null; executionName: string | null },
  ): Promise<StoredGcpRun>;
  /** Sets the execution's name on the run's record, once it has started. */
  attachExecution(runId: string, executionName: string): Promise<void>;
  get(runId: string): Promise<StoredGcpRun | undefined>;
  list(filter?: RunFilter): Promise<StoredGcpRun[]>;
  /** Ends a running run with its trail's end entries, all or nothing; false when it had ended already. */
  end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean>;
}

/** The run's audit trail (adapters/gcp/audit.ts). */
export interface GcpRunAudit {
  append(runId: string, entry: AuditEntry): Promise<AuditRecord>;
  list(runId: string): Promise<AuditRecord[]>;
}

/** The deployed functions' URLs the workflows post to (`stepgate.functions`). */
export interface GcpFunctionUrls {
  toolCall: string;
  notify: string;
  approvalRequest: string;
  approvalClose: string;
  backoff: string;
  resolveTime: string;
  runEnd: string;
}

/** What can make an authorised REST request (google-auth-library's GoogleAuth or an AuthClient). */
export interface GoogleRequester {
  request<T>(options: { url: string; method?: 'GET'; params?: Record<string, string> }): Promise<{ data: T }>;
}

export interface GcpWorkflowsHostOptions {
  executions: ExecutionsClient;
  records: GcpRunRecords;
  trail: GcpRunAudit;
  /** Where each Stepgate version's GCP workflow is recorded. */
  deployments: { deployed(workflowId: string, version?: number): Promise<DeployedWorkflow | undefined> };
  /** The workflows' versions: the IR a run started on, to read its step entries and timeout. */
  workflows: Pick<WorkflowStore, 'history'>;
  functions: GcpFunctionUrls;
  /** Schedules `timeOut(runId)` at `at` (a Cloud Task to the timeout function). */
  timeouts: { schedule(runId: string, at: number): Promise<void> };
  /** Authorised requests for the step entries (REST only). */
  auth: GoogleRequester;
  /** The Executions REST endpoint (default `https://workflowexecutions.googleapis.com`). */
  executionsEndpoint?: string;
  clock?: Pick<Clock, 'now'>;
  /** How often waitForRun looks again (default 1000 ms). */
  pollMs?: number;
}

/** The execution argument of a compiled GCP workflow (see translator/emit/gcp-workflows.ts). */
export function gcpExecutionArgument(
  start: Pick<RunStart, 'runId' | 'workflowId' | 'input' | 'trigger'>,
  startedAt: number,
  functions: GcpFunctionUrls,
): Record<string, JsonValue> {
  const { runId, workflowId, trigger } = start;
  return {
    input: start.input,
    trigger: { type: trigger.type, user: identityJson(trigger.user) },
    run: { id: runId, startedAt: new Date(startedAt).toISOString(), workflowId },
    stepgate: {
      runId,
      workflowId,
      identity: trigger.user as unknown as JsonValue,
      ...(typeof trigger.by === 'string' ? { by: trigger.by } : {}),
      functions: { ...functions },
    },
  } as Record<string, JsonValue>;
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

const runError = z.object({ code: z.string(), message: z.string(), step: z.string().nullable() });
const runEndBody = z.object({
  runId: z.string().min(1),
  outcome: z.object({
    status: z.enum(['completed', 'failed', 'timed_out']),
    error: runError.nullable(),
    vars: z.record(z.string(), z.unknown()),
  }),
});

/** A run-end body that does not hold, naming the field. */
export class RunEndBodyError extends Error {
  override name = 'RunEndBodyError';
}

export class GcpWorkflowsHost implements DurableHost {
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: GcpWorkflowsHostOptions) {
    this.clock = options.clock ?? Date;
  }

  async startRun(start: Omit<RunStart, 'runId'> & { runId?: string }): Promise<string> {
    const run: RunStart = { ...start, runId: start.runId ?? randomUUID() };
    const deployed = await this.options.deployments.deployed(run.workflowId, run.version);
    if (deployed === undefined)
      throw new Error(
        `workflow '${run.workflowId}'${run.version === undefined ? '' : ` version ${run.version}`} has no GCP workflow: save (deploy) it first`,
      );
    const at = this.clock.now();
    await this.options.records.create(run, at, { version: deployed.version, executionName: null });
    let started: string | undefined;
    try {
      if (run.ir.timeoutMs !== null) await this.options.timeouts.schedule(run.runId, at + run.ir.timeoutMs);
      const [execution] = await this.options.executions.createExecution({
        parent: deployed.workflowName,
        execution: {
          argument: JSON.stringify(gcpExecutionArgument(run, at, this.options.functions)),
          labels: runLabels(run.runId),
        },
      });
      if (typeof execution.name !== 'string') throw new Error('Workflows answered no execution name');
      started = execution.name;
      await this.options.records.attachExecution(run.runId, started);
    } catch (error) {
      // An execution its record does not name would run unseen: it is stopped with the run.
      if (started !== undefined) await this.cancelExecution({ executionName: started });
      const message = `the execution did not start: ${error instanceof Error ? error.message : String(error)}`;
      const failure: RunError = { code: 'Stepgate.StartFailed', message, step: null };
      await this.options.records.end(
        run.runId,
        { status: 'failed', error: failure, vars: {} },
        this.clock.now(),
        [{ type: 'run.finished', data: { status: 'failed', error: failure } }],
      );
      throw error;
    }
    return run.runId;
  }

  async raiseEvent(runId: string, name: string, _payload: unknown): Promise<void> {
    throw new Error(
      `run ${runId}: a Workflows execution waits on no named event ('${name}'); an approval level is answered on its callback URL`,
    );
  }

  async cancelRun(runId: string, by: string): Promise<void> {
    const run = await this.running(runId);
    await this.cancelExecution(run);
    await this.options.records.end(runId, { status: 'cancelled', error: null, vars: {} }, this.clock.now(), [
      { type: 'run.cancelled', data: { by } },
      { type: 'run.finished', data: { status: 'cancelled', error: null } },
    ]);
  }

  /**
   * The whole-run timeout (the timeout task): cancels the execution and ends the run timed out; false when
   * the run had ended already (nothing is done).
   */
  async timeOut(runId: string): Promise<boolean> {
    const run = await this.options.records.get(runId);
    if (run === undefined || run.status !== 'running') return false;
    await this.cancelExecution(run);
    const timeoutMs = (await this.irOf(run))?.timeoutMs ?? null;
    const error: RunError = { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null };
    return this.options.records.end(runId, { status: 'timed_out', error, vars: {} }, this.clock.now(), [
      { type: 'run.timed-out', data: { timeoutMs } },
      { type: 'run.finished', data: { status: 'timed_out', error } },
    ]);
  }

  /**
   * The run-end function's body (GcpRunEndBody): ends the run as its workflow did, once; answers the run's
   * status after. Throws RunEndBodyError naming the field of a body that does not hold.
   */
  async recordEnd(body: unknown): Promise<RunStatus> {
    const parsed = runEndBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RunEndBodyError(
        `run-end body: ${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const { runId, outcome } = parsed.data as GcpRunEndBody & { outcome: RunOutcome };
    const run = await this.options.records.get(runId);
    if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
    if (run.status !== 'running') return run.status;
    const path = outcome.status === 'completed' ? await this.pathOutcomeOf(run) : undefined;
    const entries: AuditEntry[] = [
      { type: 'run.finished', data: { status: outcome.status, error: outcome.error } },
    ];
    await this.options.records.end(runId, outcome, this.clock.now(), entries, path);
    return (await this.options.records.get(runId))?.status ?? outcome.status;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = await this.options.records.get(runId);
    return run === undefined ? undefined : recordOf(run);
  }

  async listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return (await this.options.records.list(filter)).map(recordOf);
  }

  async audit(runId: string): Promise<AuditRecord[]> {
    const [trail, run] = await Promise.all([this.options.trail.list(runId), this.options.records.get(runId)]);
    return run === undefined ? trail : this.withSteps(run, trail);
  }

  async idle(): Promise<void> {}

  async waitForRun(runId: string): Promise<FinalStatus> {
    for (;;) {
      const run = await this.options.records.get(runId);
      if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
      if (run.status !== 'running') return run.status;
      if (run.executionName !== null && (await this.reconcile(run))) continue;
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 1_000));
    }
  }

  async close(): Promise<void> {}

  /** Records the end of a run whose execution has ended without its report arriving; true when it had. */
  private async reconcile(run: StoredGcpRun): Promise<boolean> {
    const [execution] = await this.options.executions.getExecution({ name: run.executionName ?? '' });
    const state = String(execution.state);
    if (state === 'SUCCEEDED' || state === 'FAILED') {
      const text = state === 'SUCCEEDED' ? execution.result : execution.error?.payload;
      await this.recordEnd({ runId: run.id, outcome: outcomeOf(text) });
      return true;
    }
    if (state === 'CANCELLED') {
      await this.options.records.end(
        run.id,
        { status: 'cancelled', error: null, vars: {} },
        this.clock.now(),
        [
          { type: 'run.cancelled', data: { by: null } },
          { type: 'run.finished', data: { status: 'cancelled', error: null } },
        ],
      );
      return true;
    }
    return false;
  }

  private async running(runId: string): Promise<StoredGcpRun> {
    const run = await this.options.records.get(runId);
    if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
    if (run.status !== 'running') throw new Error(`run ${runId} is not running (${run.status})`);
    return run;
  }

  /** Cancels the run's execution; one that ended meanwhile (or never started) is left as it is. */
  private async cancelExecution(run: Pick<StoredGcpRun, 'executionName'>): Promise<void> {
    if (run.executionName === null) return;
    try {
      await this.options.executions.cancelExecution({ name: run.executionName });
    } catch (error) {
      const status = googleStatus(error);
      if (status !== 'NOT_FOUND' && status !== 'FAILED_PRECONDITION') throw error;
    }
  }

  private async irOf(run: StoredGcpRun) {
    return (await this.options.workflows.history(run.workflowId)).find((w) => w.version === run.version)?.ir;
  }

  /** What decided a completed run's path, from its whole trail; null: nothing did. */
  private async pathOutcomeOf(run: StoredGcpRun): Promise<RunOutcomeView | null> {
    return runOutcome('completed', await this.withSteps(run, await this.options.trail.list(run.id))) ?? null;
  }

  /** The run's trail merged with the audit entries of its execution's step entries, in time order. */
  private async withSteps(run: StoredGcpRun, trail: AuditRecord[]): Promise<AuditRecord[]> {
    const ir = await this.irOf(run);
    const steps =
      ir === undefined || run.executionName === null
        ? []
        : stepEntryAudit(run.id, ir, await this.stepEntries(run.executionName), run.status !== 'running');
    const rank = (entry: AuditEntry): number =>
      entry.type === 'run.started' ? 0 : entry.type.startsWith('run.') ? 3 : 1;
    const merged = [
      ...trail.map((r, i) => ({ at: r.at, entry: entryOf(r), order: i })),
      ...steps.map((s, i) => ({ ...s, order: trail.length + i })),
    ].sort((a, b) => a.at - b.at || rank(a.entry) - rank(b.entry) || a.order - b.order);
    return merged.map((m, i) => auditRecord(m.entry, i + 1, m.at));
  }

  /** Every step entry of an execution, page after page (none when Workflows does not know it). */
  private async stepEntries(executionName: string): Promise<GcpStepEntry[]> {
    const base = this.options.executionsEndpoint ?? 'https://workflowexecutions.googleapis.com';
    const entries: GcpStepEntry[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const { data } = await this.options.auth.request<{
          stepEntries?: GcpStepEntry[];
          nextPageToken?: string;
        }>({
          url: `${base}/v1/${executionName}/stepEntries`,
          method: 'GET',
          params: { pageSize: '100', ...(pageToken === undefined ? {} : { pageToken }) },
        });
        entries.push(...(data.stepEntries ?? []));
        pageToken = data.nextPageToken || undefined;
      } while (pageToken !== undefined);
    } catch (error) {
      if (googleStatus(error) !== 'NOT_FOUND') throw error;
    }
    return entries;
  }
}

/** The port's record: without where the run executes. */
function recordOf(run: StoredGcpRun): RunRecord {
  const { version: _version, executionName: _name, ...record } = run;
  return record;
}

function entryOf(record: AuditRecord): AuditEntry {
  return { type: record.type, step: record.step ?? undefined, data: record.data } as AuditEntry;
}

/** The outcome an ended execution returned or raised (JSON), or a failed one when it holds none. */
function outcomeOf(text: string | null | undefined): RunOutcome {
  try {
    const value = JSON.parse(text ?? '') as Partial<RunOutcome>;
    if (typeof value?.status === 'string' && ['completed', 'failed', 'timed_out'].includes(value.status))
      return { status: value.status, error: value.error ?? null, vars: value.vars ?? {} };
  } catch {
    // not JSON: reported below
  }
  return {
    status: 'failed',
    error: {
      code: 'Stepgate.EngineError',
      message: String(text ?? 'the execution ended without an outcome'),
      step: null,
    },
    vars: {},
  };
}

/** A label value: at most 63 lowercase letters, digits, '-' and '_' (GCP's rule for labels). */
const LABEL_VALUE = /^[a-z0-9_-]{1,63}$/;

/** The execution's labels: the run id, when it can be a label value. */
export function runLabels(runId: string): Record<string, string> {
  return LABEL_VALUE.test(runId) ? { 'stepgate-run': runId } : {};
}
