// Azure Durable Functions as Stepgate's durable host on Azure, as adapters/gcp/workflows-host.ts is on Google
// Cloud: a run is an orchestration instance of the `stepgate` orchestrator (functions/azure/durable-context.ts,
// the shared orchestrator under durable-functions), driven through the durable client (durable-functions v3
// DurableClient: `df.getClient(context)` in a function with the durable client input binding — the binding's
// URLs are the app's, the same for every invocation, so one client serves the instance). Its records and trail
// are the Azure Table ports (adapters/azure/run-records.ts); the activities write to them (AzureRunRecorder).
//
// - startRun writes the run record and its `run.started` entry first (one start per run id: the records'
//   create refuses a second, RunExistsError, so of racing starts exactly one reaches Durable Functions), then
//   `startNew('stepgate', { instanceId: runId, input: RunStart })`: the run id IS the instance id, so the
//   record names its instance without being written twice. A start that fails ends the record failed
//   (`Stepgate.StartFailed`) and rethrows: no run stays running without an instance. A run id that cannot be
//   an instance id (DF refuses `/ \ # ?`, control characters, a leading `@`, more than 256 characters) is
//   refused naming it; ids are percent-encoded into the client's URLs (the extension decodes its paths).
// - The run's end is recorded by the `run-end` activity the orchestrator calls once it returned (the record's
//   end applied once). waitForRun polls the record; while it is running it reads the instance's status, and
//   an instance that ended without its run-end landing (a failed activity, an orchestrator that threw, a
//   terminated instance) ends the record as the instance did.
// - raiseEvent raises the event on the instance (approval decisions, the cancel event), after checking that
//   the record is running: the extension answers 410 Gone for an ended instance, which the client swallows.
//   cancelRun raises CANCEL_EVENT: the orchestrator ends itself cancelled, recording `run.cancelled`.
// - terminate(runId, reason) is for a stuck run: it terminates the instance and ends the record failed
//   (`Stepgate.EngineError`, "terminated: <reason>") with its `run.finished` entry.
// - audit(runId) is the trail in the order things happened (timeOrdered): a tool attempt's stage entries may
//   be appended before the batch that recorded the attempt's start.
// - idle() resolves at once; close() has nothing to close (the client belongs to the caller).
import { randomUUID } from 'node:crypto';
import type { DurableClient, DurableOrchestrationStatus } from 'durable-functions';
import type { AuditEntry, AuditRecord } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { Clock, DurableHost, RunFilter, RunRecord } from '../../functions/core/ports.js';
import {
  CANCEL_EVENT,
  type FinalStatus,
  type RunError,
  type RunOutcome,
} from '../../functions/core/protocol.js';
import { AZURE_ORCHESTRATOR } from '../../translator/emit/azure-durable.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { errorMessage } from '../../translator/util.js';
import {
  AzureRunRecorder,
  type AzureRunRecords,
  type AzureRunTrail,
  type StoredAzureRun,
  timeOrdered,
} from './run-records.js';

export type { AzureRunRecords, AzureRunTrail, StoredAzureRun } from './run-records.js';

/** The part of durable-functions' DurableClient the host calls. */
export type AzureDurableClient = Pick<DurableClient, 'startNew' | 'raiseEvent' | 'terminate' | 'getStatus'>;

export interface AzureDurableHostOptions {
  client: AzureDurableClient;
  records: AzureRunRecords;
  trail: AzureRunTrail;
  clock?: Pick<Clock, 'now'>;
  /** How often waitForRun looks again (default 1000 ms). */
  pollMs?: number;
}

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
}

export class RunNotActiveError extends Error {
  override name = 'RunNotActiveError';
}

/** Durable Functions' rule for instance ids (its HTTP API takes them in URL paths). */
const INSTANCE_ID = /^[^@/\\#?\p{Cc}][^/\\#?\p{Cc}]{0,255}$/u;

/** Refuses a run id Durable Functions cannot take as an instance id, naming it. */
export function checkInstanceId(runId: string): string {
  if (!INSTANCE_ID.test(runId))
    throw new Error(
      `runId ${JSON.stringify(runId)}: an Azure run id is its Durable Functions instance id — 1 to 256 characters, no leading '@', none of / \\ # ? or control characters`,
    );
  return runId;
}

/** The id as it goes into the client's URL paths (the extension URL-decodes them). */
const inPath = (id: string): string => encodeURIComponent(id);

export class AzureDurableHost implements DurableHost {
  private readonly clock: Pick<Clock, 'now'>;
  /** The same writes the run-end activity makes: a reconciled or terminated run ends as a run-end ends it. */
  private readonly recorder: AzureRunRecorder;

  constructor(private readonly options: AzureDurableHostOptions) {
    this.clock = options.clock ?? Date;
    this.recorder = new AzureRunRecorder({
      records: options.records,
      trail: options.trail,
      clock: this.clock,
    });
  }

  async startRun(start: Omit<RunStart, 'runId'> & { runId?: string }): Promise<string> {
    const run: RunStart = { ...start, runId: checkInstanceId(start.runId ?? randomUUID()) };
    await this.options.records.create(run, this.clock.now(), { version: run.version ?? null });
    try {
      await this.options.client.startNew(AZURE_ORCHESTRATOR, { instanceId: inPath(run.runId), input: run });
    } catch (error) {
      const message = `the orchestration did not start: ${errorMessage(error)}`;
      const failure: RunError = { code: 'Stepgate.StartFailed', message, step: null };
      await this.recorder.end(run.runId, { status: 'failed', error: failure, vars: {} }, [
        { type: 'run.finished', data: { status: 'failed', error: failure } },
      ]);
      throw error;
    }
    return run.runId;
  }

  async raiseEvent(runId: string, name: string, payload: unknown): Promise<void> {
    await this.running(runId);
    await this.options.client.raiseEvent(inPath(runId), encodeURIComponent(name), payload ?? null);
  }

  async cancelRun(runId: string, by: string): Promise<void> {
    await this.raiseEvent(runId, CANCEL_EVENT, { by });
  }

  /**
   * Ends a stuck run: terminates its instance and ends its record failed with `reason`; false when the record
   * had ended already (the instance is terminated all the same, if it still ran).
   */
  async terminate(runId: string, reason: string): Promise<boolean> {
    if ((await this.options.records.get(runId)) === undefined)
      throw new RunNotFoundError(`run ${runId} is not known`);
    await this.options.client.terminate(inPath(runId), encodeURIComponent(reason));
    return this.endAs(runId, `terminated: ${reason}`);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const run = await this.options.records.get(runId);
    return run === undefined ? undefined : recordOf(run);
  }

  async listRuns(filter?: RunFilter): Promise<RunRecord[]> {
    return (await this.options.records.list(filter)).map(recordOf);
  }

  async audit(runId: string): Promise<AuditRecord[]> {
    return timeOrdered(await this.options.trail.list(runId));
  }

  async idle(): Promise<void> {}

  async waitForRun(runId: string): Promise<FinalStatus> {
    for (;;) {
      const run = await this.options.records.get(runId);
      if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
      if (run.status !== 'running') return run.status;
      if (await this.reconcile(runId)) continue;
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 1_000));
    }
  }

  async close(): Promise<void> {}

  /** Ends the record of a run whose instance has ended without its run-end landing; true when it had ended. */
  private async reconcile(runId: string): Promise<boolean> {
    let status: DurableOrchestrationStatus;
    try {
      status = await this.options.client.getStatus(inPath(runId));
    } catch {
      return false; // not known to the extension (yet): the record decides
    }
    switch (status.runtimeStatus) {
      case 'Completed':
        await this.recorder.end(runId, outcomeOf(status.output));
        return true;
      case 'Failed':
        await this.endAs(runId, `the orchestration failed: ${String(status.output ?? '')}`);
        return true;
      case 'Terminated':
      case 'Canceled':
        await this.endAs(runId, `terminated: ${String(status.output ?? '')}`);
        return true;
      default:
        return false;
    }
  }

  /** Ends the run failed with an engine error: the instance stopped without the orchestrator's outcome. */
  private endAs(runId: string, message: string): Promise<boolean> {
    const error: RunError = { code: ERROR_CODE.engineError, message, step: null };
    const entries: AuditEntry[] = [{ type: 'run.finished', data: { status: 'failed', error } }];
    return this.recorder.end(runId, { status: 'failed', error, vars: {} }, entries);
  }

  private async running(runId: string): Promise<StoredAzureRun> {
    const run = await this.options.records.get(runId);
    if (run === undefined) throw new RunNotFoundError(`run ${runId} is not known`);
    if (run.status !== 'running') throw new RunNotActiveError(`run ${runId} is not running (${run.status})`);
    return run;
  }
}

/** The port's record: without the version the run started on. */
function recordOf(run: StoredAzureRun): RunRecord {
  const { version: _version, ...record } = run;
  return record;
}

const FINAL: readonly string[] = ['completed', 'failed', 'cancelled', 'timed_out'];

/** The outcome a completed instance returned, or a failed one when it holds none. */
function outcomeOf(output: unknown): RunOutcome {
  const value = output as Partial<RunOutcome> | null;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof value.status === 'string' &&
    FINAL.includes(value.status)
  )
    return { status: value.status as FinalStatus, error: value.error ?? null, vars: value.vars ?? {} };
  const message = 'the orchestration completed without an outcome';
  return { status: 'failed', error: { code: ERROR_CODE.engineError, message, step: null }, vars: {} };
}
