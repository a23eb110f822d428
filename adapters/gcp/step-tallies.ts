// The counters a workflow's activity functions keep beside a run in Firestore (ids from
// adapters/gcp/documents.ts). Visits by entered time: a counter per (run, step) in `stepVisitCounts`
// (the count so far) and one document per (run, step, entered time) in `stepVisitEntries` (the visit that
// time took), both written in one transaction that read them first: a racer that committed first aborts
// the others, which retry and either take the next number or find their time numbered. A quorum
// parallel's finished branches: one document per (run, step) in `quorumTallies` holding the finishes in
// the order they were recorded (each as JSON text: a result overlay may hold arrays in arrays, which
// Firestore refuses), appended in a transaction. A quorum's finishes share one
// document of at most 1 MiB: the branches' result overlays together must stay below that.
import type { Firestore } from '@google-cloud/firestore';
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import { COLLECTIONS } from './collections.js';
import { docId, TRANSACTION_ATTEMPTS } from './documents.js';

const STEP_VISIT_COUNTS = COLLECTIONS.stepVisitCounts.name;
const STEP_VISIT_ENTRIES = COLLECTIONS.stepVisitEntries.name;
const QUORUM_TALLIES = COLLECTIONS.quorumTallies.name;

export class FirestoreStepVisits implements StepVisits {
  constructor(private readonly db: Firestore) {}

  async latest(runId: string, stepId: string): Promise<number> {
    const counter = await this.db.collection(STEP_VISIT_COUNTS).doc(docId(runId, stepId)).get();
    return (counter.get('count') as number | undefined) ?? 0;
  }

  visitAt(runId: string, stepId: string, enteredTime: string): Promise<number> {
    const counter = this.db.collection(STEP_VISIT_COUNTS).doc(docId(runId, stepId));
    const entry = this.db.collection(STEP_VISIT_ENTRIES).doc(docId(runId, stepId, enteredTime));
    return this.db.runTransaction(
      async (tx) => {
        const [seen, count] = await tx.getAll(entry, counter);
        if (seen?.exists) return seen.get('visit') as number;
        const visit = ((count?.get('count') as number | undefined) ?? 0) + 1;
        tx.create(entry, { runId, stepId, enteredTime, visit });
        tx.set(counter, { runId, stepId, count: visit });
        return visit;
      },
      { maxAttempts: TRANSACTION_ATTEMPTS },
    );
  }
}

export class FirestoreQuorumTallies implements QuorumTallies {
  constructor(private readonly db: Firestore) {}

  add(runId: string, stepId: string, finish: BranchFinish): Promise<BranchFinish[]> {
    const ref = this.db.collection(QUORUM_TALLIES).doc(docId(runId, stepId));
    return this.db.runTransaction(
      async (tx) => {
        const stored = await tx.get(ref);
        const finishes = ((stored.get('finishes') as string[] | undefined) ?? []).map(
          (text) => JSON.parse(text) as BranchFinish,
        );
        // Recorded before: its first finish keeps its place, and the answer is what came up to it.
        const place = finishes.findIndex((f) => f.branch === finish.branch);
        if (place >= 0) return finishes.slice(0, place + 1);
        const now = [...finishes, finish];
        tx.set(ref, {
          runId,
          stepId,
          finishes: now.map((f) => JSON.stringify(f)),
        });
        return now;
      },
      { maxAttempts: TRANSACTION_ATTEMPTS },
    );
  }
}
