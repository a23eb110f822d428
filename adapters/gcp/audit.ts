// A run's audit trail in Firestore: one document per entry, `runTrails/<runId>/trailEntries/<seq>` (the
// seq zero-padded to 12 digits, so the id orders the trail), and the run's counter, the document
// `runTrails/<runId>` itself, holding the last seq. An append is ONE transaction that reads the counter and
// writes it moved on with the entry (`create`: never over an existing entry): Firestore aborts a
// transaction whose read another commit changed, and the client runs it again on the new value, so of
// concurrent appends one takes each number and the trail stays gapless and ordered.
//
// `entryWrites`/`entriesWrites` put the same writes into another store's transaction (the run store's
// start and end), after that transaction read the counter with `lastSeq(runId, tx)`; `appendIn` does both
// for one entry (an approval decision written with its entry). Firestore wants every read of a transaction
// before its first write, and the read is what makes a racing append abort it. Entry data is kept as JSON text: Firestore refuses arrays of arrays, which JSON allows.
import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import type { Clock } from '../../functions/core/ports.js';
import { COLLECTIONS } from './collections.js';

/**
 * How many times a transaction on a run's trail or record runs before giving up: the emulator (and
 * Firestore under contention) aborts all but one of the transactions racing on one counter each round.
 */
export const MAX_TRANSACTION_ATTEMPTS = 50;

/**
 * A run id as a document id: Firestore refuses `/`, `.` and `..` and ids of the form `__…__`, so those
 * characters are percent-encoded (as is `%`); any other id is kept as it is, readable in the console.
 */
export function runDocId(runId: string): string {
  if (runId.length === 0) throw new Error('runId is empty');
  const id = runId.replace(/[%/]/g, encodeURIComponent);
  if (id === '.' || id === '..' || /^__.*__$/.test(id)) return id.replace(/[._]/g, (c) => `%${hex(c)}`);
  return id;
}

function hex(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase();
}

export class FirestoreRunAudit {
  constructor(
    private readonly db: Firestore,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** The last seq of a run's trail (0 when it has none); read in `tx` when given (see the header). */
  async lastSeq(runId: string, tx?: Transaction): Promise<number> {
    const ref = this.counterRef(runId);
    const counter = tx === undefined ? await ref.get() : await tx.get(ref);
    const seq = counter.get('seq') as unknown;
    return typeof seq === 'number' ? seq : 0;
  }

  /**
   * Writes into `tx` the append of `entry` after `lastSeq` (which `tx` read with `lastSeq(runId, tx)`): the
   * counter moved on and the entry's document. Answers the record it stores.
   */
  entryWrites(tx: Transaction, runId: string, entry: AuditEntry, lastSeq: number): { record: AuditRecord } {
    const { records } = this.entriesWrites(tx, runId, [entry], lastSeq);
    return { record: records[0] as AuditRecord };
  }

  /** Writes into `tx` the append of `entries`, in order, after `lastSeq` (one counter write). */
  entriesWrites(
    tx: Transaction,
    runId: string,
    entries: AuditEntry[],
    lastSeq: number,
  ): { records: AuditRecord[] } {
    const at = this.clock.now();
    const records = entries.map((entry, i) => auditRecord(entry, lastSeq + 1 + i, at));
    tx.set(this.counterRef(runId), { seq: lastSeq + entries.length });
    for (const record of records) {
      tx.create(this.entryRef(runId, record.seq), {
        seq: record.seq,
        at: record.at,
        type: record.type,
        step: record.step,
        data: JSON.stringify(record.data),
      });
    }
    return { records };
  }

  /**
   * Appends `entry` within another store's transaction `tx` (the approval store's `recordAudit`): reads the
   * counter in `tx`, then writes. Call it before `tx`'s first write (Firestore's rule for transactions).
   */
  async appendIn(tx: Transaction, runId: string, entry: AuditEntry): Promise<AuditRecord> {
    return this.entryWrites(tx, runId, entry, await this.lastSeq(runId, tx)).record;
  }

  /** Appends `entry` to the run's trail under the next seq (see the header for concurrent appends). */
  append(runId: string, entry: AuditEntry): Promise<AuditRecord> {
    return this.db.runTransaction((tx) => this.appendIn(tx, runId, entry), {
      maxAttempts: MAX_TRANSACTION_ATTEMPTS,
    });
  }

  /** The run's trail, in order. */
  async list(runId: string): Promise<AuditRecord[]> {
    const entries = await this.counterRef(runId)
      .collection(COLLECTIONS.trailEntries.name)
      .orderBy('seq')
      .get();
    return entries.docs.map((doc) => {
      const entry = {
        type: doc.get('type'),
        step: doc.get('step') ?? undefined,
        data: JSON.parse(doc.get('data')),
      };
      return auditRecord(entry as AuditEntry, Number(doc.get('seq')), Number(doc.get('at')));
    });
  }

  private counterRef(runId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.runTrails.name).doc(runDocId(runId));
  }

  private entryRef(runId: string, seq: number): DocumentReference {
    return this.counterRef(runId)
      .collection(COLLECTIONS.trailEntries.name)
      .doc(String(seq).padStart(12, '0'));
  }
}
