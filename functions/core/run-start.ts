// The record of a run that has just started, as the cloud run stores (DynamoDB, Firestore) create it in one
// transaction with the trail's first entry (audit.ts runStartedEntry, which the orchestrator records too).
import type { RunRecord } from './ports.js';

/** The record of a run that has just started (status running, no end, no outcome). */
export function runningRecord(
  start: { runId: string } & Pick<RunRecord, 'workflowId' | 'trigger' | 'input'>,
  at: number,
): RunRecord {
  return {
    id: start.runId,
    workflowId: start.workflowId,
    status: 'running',
    trigger: start.trigger,
    input: start.input,
    createdAt: at,
    endedAt: null,
    outcome: null,
  };
}
