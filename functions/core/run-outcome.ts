// What decided a completed run's path (approved, rejected, timed out, error handled), read from its audit
// trail. Every DurableHost computes it once, when the run ends, and keeps it in the run's record
// (RunRecord.pathOutcome), so the run list shows it without reading any trail; the run view reads it from
// the trail it has anyway. Written once here for every host.

import type { AuditRecord, AuditType } from './audit.js';
import type { RunStatus } from './protocol.js';

/**
 * What decided a completed run's path, from its trail: the last approval decision that decided its step, an
 * approval that timed out at its last level, or an error a step's `onError` handled — whichever came last.
 */
export interface RunOutcomeView {
  kind: 'approved' | 'rejected' | 'timed-out' | 'error-handled';
  step: string;
  /** Who decided (approved, rejected). */
  by?: string;
}

/** The only trail entries `runOutcome` looks at: a host may read just these (a filtered query). */
export const OUTCOME_ENTRY_TYPES: readonly AuditType[] = [
  'approval.decision',
  'approval.timed-out',
  'step.error-handled',
];

/**
 * What decided the path of a run that completed (RunOutcomeView); undefined for a run that did not complete
 * (its status says how it ended) or whose path nothing decided. `audit` is the run's trail in order, whole
 * or only its entries of OUTCOME_ENTRY_TYPES.
 */
export function runOutcome(status: RunStatus, audit: readonly AuditRecord[]): RunOutcomeView | undefined {
  if (status !== 'completed') return undefined;
  let outcome: RunOutcomeView | undefined;
  for (const entry of audit) {
    if (entry.step === null) continue;
    if (entry.type === 'approval.decision' && entry.data.decides) {
      const kind = entry.data.decision === 'approve' ? 'approved' : 'rejected';
      outcome = { kind, step: entry.step, by: entry.data.by };
    } else if (entry.type === 'approval.timed-out' && entry.data.escalatesTo === null)
      outcome = { kind: 'timed-out', step: entry.step };
    else if (entry.type === 'step.error-handled') outcome = { kind: 'error-handled', step: entry.step };
  }
  return outcome;
}
