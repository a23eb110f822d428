// Runs a scenario case on the Azure Durable Functions target: the compiled plan (emitAzurePlan) runs in
// the shared orchestrator under durable-functions' own replay machinery (testing/azure-replay.ts), its
// activities are the Azure activity handlers (functions/azure/activities.ts) over the case's mocks and the
// same ApprovalService as the embedded engine, and approvers decide at the case's virtual times.
//
// The stores the run writes through (approvals, large tool results, the audit trail, the run's record) come
// from a factory, `AzureCaseStoresFactory`: SQLite in memory by default (`sqliteCaseStores`: no trail, no
// record, only what the case observes), or a deployment's — the Azure Table and Blob adapters over Azurite
// (test/support/azure-case-stores.ts) — given as `runCaseAzure(ir, scenario, c, { stores })`, one fresh set
// per case, handed the case's virtual clock, closed when the case ends. Given `runs`, the run's record is
// kept as the app keeps it: created (with its `run.started`) before the orchestration starts, as
// AzureDurableHost.startRun does, the tool stages and the run's end written by the activities. Every store
// call may be a network round trip: each is made inside an activity or a decision, whose promise the
// virtual clock waits for (DfReplayHost.pending, ApprovalService.pending) before it moves, so a slow store
// never lets time pass under a write in flight; the observation is what the store committed, seen as the
// audit append resolves.
//
// A result store other than SQLite names its results otherwise (`sqlite:tool_results/...` is in the
// observation when a template interpolates a large result's uri): compare such a case knowing it.
import { SqliteApprovalStore } from '../adapters/local/approval-store.js';
import { VirtualClock } from '../adapters/local/clock.js';
import { openDatabase } from '../adapters/local/database.js';
import { SqliteResultStore } from '../adapters/local/result-store.js';
import {
  type AzureActivityPorts,
  createActivityHandlers,
  type RecordBatch,
  type RecordedEntry,
} from '../functions/azure/activities.js';
import { stepgateOrchestrator } from '../functions/azure/durable-context.js';
import { ApprovalService } from '../functions/core/approvals.js';
import type { AuditEntry } from '../functions/core/audit.js';
import type { RunStart } from '../functions/core/orchestrator.js';
import type { ApprovalStore, Clock, ResultStore } from '../functions/core/ports.js';
import { CANCEL_EVENT, type RunOutcome } from '../functions/core/protocol.js';
import { emitAzurePlan } from '../translator/emit/azure-durable.js';
import { ERROR_CODE } from '../translator/error-codes.js';
import type { IrWorkflow } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import { DfReplayHost } from './azure-replay.js';
import type { Observation } from './observation.js';
import {
  approvalOutputs,
  caseInput,
  identityFor,
  scenarioMocks,
  scheduleDecisions,
  slug,
  TIMER_LIMIT,
  VIRTUAL_TIME_LIMIT_MS,
} from './run-local.js';
import { durationMs, type Scenario, type ScenarioCase } from './scenario.js';

/** The stores one case's run writes through (see the header). */
export interface AzureCaseStores {
  /**
   * The approval store; `recordAudit` hears the entry a decision writes with its update, once the store
   * has it (the store keeps it in the run's trail, atomically with the update).
   */
  approvals(recordAudit: (runId: string, entry: AuditEntry) => void): ApprovalStore;
  /** Where the tool-call activity puts results too large for the orchestration's state. */
  results: ResultStore;
  audit: {
    /** The `record` activity's batch: the orchestrator's entries, each `seq` applied once. */
    append(batch: RecordBatch): Promise<void>;
    /** An entry the approval service records beside them (a refused decision); not kept when absent. */
    record?(runId: string, entry: AuditEntry): Promise<void>;
  };
  /** The run's record (see the header); not kept when absent. */
  runs?: AzureCaseRuns;
  /** Called once the case ended and no store call is in flight. */
  close(): void | Promise<void>;
}

/** The run's record and what the activities write about the run beside the batches. */
export type AzureCaseRuns = AzureActivityPorts['runs'] & {
  /** Creates the running record and its `run.started` entry, before the orchestration starts. */
  create(start: RunStart): Promise<void>;
};

/** Makes a fresh set of stores for one case, on the case's (virtual) clock. */
export type AzureCaseStoresFactory = (
  clock: Pick<Clock, 'now'>,
) => AzureCaseStores | Promise<AzureCaseStores>;

export interface AzureCaseOptions {
  /** Where the run's stores come from; SQLite in memory when not given. */
  stores?: AzureCaseStoresFactory;
}

/** The default stores: one SQLite database in memory; the audit trail is only what the case observes. */
export function sqliteCaseStores(): AzureCaseStores {
  const db = openDatabase(':memory:');
  return {
    approvals: (recordAudit) => new SqliteApprovalStore(db, { recordAudit }),
    results: new SqliteResultStore(db),
    audit: { append: async () => {} },
    close: () => void db.close(),
  };
}

/** Without a store for them, the run's record is not kept: its end and the tool stages are not observed. */
const UNKEPT_RUNS: AzureActivityPorts['runs'] = { stages: async () => {}, end: async () => true };

export async function runCaseAzure(
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
  options: AzureCaseOptions = {},
): Promise<Observation> {
  const user = identityFor(scenario, c.as);
  const input = caseInput(ir, c);
  const clock = new VirtualClock();
  const { directory, tools: mocked, notifier, toolCalls, notifications } = scenarioMocks(scenario, c, clock);
  const runId = `run-${slug(c.name)}`;
  const stores = await (options.stores ?? sqliteCaseStores)(clock);
  const audit: RecordedEntry[] = [];
  /** The approval entries the decision handler writes beside the orchestrator's trail. */
  const decisions: AuditEntry[] = [];
  const seen = new Set<number>();
  let host: DfReplayHost | undefined;
  const approvals = new ApprovalService({
    store: stores.approvals((_id, entry) => void decisions.push(entry)),
    directory,
    clock,
    notifier: { requested: async () => {} },
    raiseEvent: (id, name, payload) =>
      id === runId && host ? host.raiseEvent(name, payload) : Promise.resolve(),
    recordAudit: async (id, entry) => {
      await stores.audit.record?.(id, entry);
      decisions.push(entry);
    },
    runActive: async (id) => id === runId && host?.running === true,
  });
  const onEntry = (entry: RecordedEntry): void => {
    if (entry.type !== 'step.entered' || entry.step === undefined || entry.data?.visit !== 1) return;
    const stepId = entry.step;
    scheduleDecisions(c, clock, approvals, runId, stepId, entry.at);
  };
  // The tool-call handler stores large results and passes a reference on, as every deployment's does.
  const activities = createActivityHandlers({
    tools: mocked,
    results: stores.results,
    notifier,
    approvals,
    audit: {
      append: async (batch) => {
        // Observed once the trail has it, as a deployment's run history would show it.
        await stores.audit.append(batch);
        for (const entry of batch.entries) {
          if (seen.has(entry.seq)) continue;
          seen.add(entry.seq);
          audit.push(entry);
          onEntry(entry);
        }
      },
    },
    // The run's record is not part of an observation; the stores may keep it.
    runs: stores.runs ?? UNKEPT_RUNS,
  });
  const start: RunStart = {
    runId,
    workflowId: ir.id,
    ir: emitAzurePlan(ir).plan as unknown as IrWorkflow,
    input,
    trigger: { type: c.trigger ?? 'manual', user },
  };
  host = new DfReplayHost({
    instanceId: runId,
    input: start,
    orchestrator: stepgateOrchestrator,
    activities,
    clock,
  });
  const running = host;
  try {
    await stores.runs?.create(start);
    await running.start();
    if (c.cancel !== undefined) {
      const by = c.cancel.by ?? user.email;
      clock.setTimer(clock.now() + durationMs(c.cancel.after), () => {
        void running.raiseEvent(CANCEL_EVENT, { by }).catch(() => undefined);
      });
    }
    // Decisions being written hand the orchestration events too: the clock waits for them as for it.
    const busy = { pending: () => running.pending() + approvals.pending() };
    await clock.run(busy, clock.now() + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
    const outcome = outcomeOf(running);
    const result: Record<string, JsonValue> = {};
    for (const [step, output] of approvalOutputs(ir)) {
      const value = outcome?.vars[output];
      if (value !== undefined) result[step] = value;
    }
    return {
      status: outcome?.status ?? (running.status === 'pending' ? 'unknown' : running.status),
      path: [...audit]
        .sort((a, b) => a.seq - b.seq)
        .filter((e) => e.type === 'step.entered' && e.step !== undefined)
        .map((e) => e.step as string),
      toolCalls,
      approvals: result,
      notifications,
      vars: outcome?.vars ?? {},
      error: outcome?.error ?? null,
    };
  } finally {
    running.close();
    // A decision still writing as the orchestration ended: the stores close once none is.
    while (approvals.pending() > 0) await new Promise((resolve) => setImmediate(resolve));
    await stores.close();
  }
}

/** The run's outcome: the orchestrator's output, or an engine failure as the embedded engine reports it. */
function outcomeOf(host: DfReplayHost): RunOutcome | null {
  if (host.status === 'completed') return host.output as RunOutcome;
  if (host.status === 'failed')
    return {
      status: 'failed',
      error: {
        code: ERROR_CODE.engineError,
        message: host.failure ?? 'the orchestration failed',
        step: null,
      },
      vars: {},
    };
  return null;
}
