// Approval requests in Firestore: one document per (run, step, visit, level) in the collection
// `approvals` (id from adapters/gcp/documents.ts). `create` is a `create()` (fails if the document
// exists: exactly once); `update` is compare-and-set on `version` inside a transaction (read, check,
// write; a racer that committed first aborts the others, which re-read and find the version moved on),
// and with an audit entry the `recordAudit` hook appends it in the SAME transaction: both or neither.
// Requests are found across runs through the field `listing`, as DynamoDB's sparse `gsi1`: `open` while
// open, `undelivered` while decided but not delivered, absent otherwise; `pendingFor` also matches the
// approver with `array-contains` on `approvers` (stored normalised), so it reads only that approver's
// open requests rather than filtering them all. Queries are strongly consistent in Firestore.
// JSON-shaped fields (`context`, `decisions`) are stored as JSON text: Firestore refuses arrays directly
// inside arrays and `undefined` values, which JSON values and optional fields may hold. The callback
// handle is sealed as in adapters/local/approval-store.ts (AES-256-GCM, bound to the request's run,
// step, visit and level) and stored as bytes.
import {
  type DocumentData,
  type DocumentReference,
  FieldValue,
  type Firestore,
  type Transaction,
} from '@google-cloud/firestore';
import type { AuditEntry } from '../../functions/core/audit.js';
import { normalizeEmail } from '../../functions/core/identity.js';
import type { ApprovalRecord, ApprovalStore } from '../../functions/core/ports.js';
import { CallbackSeal } from '../local/callback-seal.js';
import { COLLECTIONS } from './collections.js';
import { alreadyExists, docId, TRANSACTION_ATTEMPTS } from './documents.js';

const APPROVALS = COLLECTIONS.approvals.name;
const OPEN = 'open';
const UNDELIVERED = 'undelivered';

type Key = Pick<ApprovalRecord, 'runId' | 'stepId' | 'visit' | 'level'>;

/**
 * Appends `entry` to the run's audit trail inside `tx` (adapters/gcp/audit.ts provides it). Called after
 * the store's own reads and before its writes, so it may read (Firestore transactions read before they
 * write) and then write; it may run more than once when the transaction is retried.
 */
export type RecordAuditIn = (tx: Transaction, runId: string, entry: AuditEntry) => Promise<void>;

export interface FirestoreApprovalStoreOptions {
  /** 32 bytes (see `approvalCallbackKey`); without it, storing a callback handle is refused. */
  callbackKey?: Uint8Array;
  /** Writes `update`'s audit entry in its transaction; without it, an update with one is refused. */
  recordAudit?: RecordAuditIn;
}

export class FirestoreApprovalStore implements ApprovalStore {
  private readonly callbacks: CallbackSeal;
  private readonly recordAudit: RecordAuditIn | undefined;

  constructor(
    private readonly db: Firestore,
    options: FirestoreApprovalStoreOptions = {},
  ) {
    this.callbacks = new CallbackSeal(options.callbackKey);
    this.recordAudit = options.recordAudit;
  }

  async create(r: ApprovalRecord): Promise<boolean> {
    const listing = listingOf(r);
    const document: DocumentData = {
      runId: r.runId,
      workflowId: r.workflowId,
      stepId: r.stepId,
      visit: r.visit,
      level: r.level,
      eventName: r.eventName,
      approvers: r.approvers,
      require: r.require,
      message: r.message,
      context: r.context === undefined ? null : JSON.stringify(r.context),
      requestedBy: r.requestedBy,
      requesters: r.requesters,
      allowSelfApproval: r.allowSelfApproval,
      deadline: r.deadline,
      ...this.mutableFields(r),
      createdAt: r.createdAt,
      version: 1,
      ...(listing === undefined ? {} : { listing }),
    };
    try {
      await this.ref(r).create(document);
      return true;
    } catch (error) {
      if (alreadyExists(error)) return false;
      throw error;
    }
  }

  async get(
    runId: string,
    stepId: string,
    visit: number,
    level: number,
  ): Promise<ApprovalRecord | undefined> {
    const found = await this.ref({ runId, stepId, visit, level }).get();
    const data = found.data();
    return data && this.toRecord(data);
  }

  async openFor(runId: string, stepId: string): Promise<ApprovalRecord | undefined> {
    const found = await this.db
      .collection(APPROVALS)
      .where('runId', '==', runId)
      .where('stepId', '==', stepId)
      .where('listing', '==', OPEN)
      .orderBy('visit', 'desc')
      .orderBy('level', 'desc')
      .limit(1)
      .get();
    const first = found.docs[0];
    return first && this.toRecord(first.data());
  }

  async pendingFor(email: string): Promise<ApprovalRecord[]> {
    const who = normalizeEmail(email);
    const found = await this.db
      .collection(APPROVALS)
      .where('approvers', 'array-contains', who)
      .where('listing', '==', OPEN)
      .orderBy('createdAt')
      .get();
    return found.docs
      .map((doc) => this.toRecord(doc.data()))
      .filter((r) => !r.decisions.some((d) => d.by === who));
  }

  async undelivered(): Promise<ApprovalRecord[]> {
    const found = await this.db
      .collection(APPROVALS)
      .where('listing', '==', UNDELIVERED)
      .orderBy('createdAt')
      .get();
    return found.docs.map((doc) => this.toRecord(doc.data()));
  }

  async update(r: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined> {
    const recordAudit = this.recordAudit;
    if (audit !== undefined && recordAudit === undefined)
      throw new Error(
        `approval ${r.runId}/${r.stepId} level ${r.level}: an update carries an audit entry, but this store was given no audit trail to write it to`,
      );
    const ref = this.ref(r);
    const changes = this.updateFields(r);
    const written = await this.db.runTransaction(
      async (tx) => {
        const stored = await tx.get(ref);
        if (stored.get('version') !== r.version) return false;
        if (audit !== undefined) await recordAudit?.(tx, r.runId, audit);
        tx.update(ref, changes);
        return true;
      },
      { maxAttempts: TRANSACTION_ATTEMPTS },
    );
    return written ? { ...r, version: r.version + 1 } : undefined;
  }

  /** What `update` writes: the mutable fields, the next version and the listing the request is now in. */
  private updateFields(r: ApprovalRecord): DocumentData {
    return {
      ...this.mutableFields(r),
      version: r.version + 1,
      listing: listingOf(r) ?? FieldValue.delete(),
    };
  }

  /** The fields an update may change, as stored (the callback sealed). */
  private mutableFields(r: ApprovalRecord): DocumentData {
    return {
      status: r.status,
      decisions: JSON.stringify(r.decisions),
      delivered: r.delivered,
      callback: this.callbacks.seal(r),
    };
  }

  private ref(key: Key): DocumentReference {
    return this.db.collection(APPROVALS).doc(docId(key.runId, key.stepId, key.visit, key.level));
  }

  private toRecord(data: DocumentData): ApprovalRecord {
    const key: Key = { runId: data.runId, stepId: data.stepId, visit: data.visit, level: data.level };
    const callback = data.callback instanceof Uint8Array ? data.callback : null;
    return {
      ...key,
      workflowId: data.workflowId,
      eventName: data.eventName,
      approvers: data.approvers,
      require: data.require,
      message: data.message,
      ...(typeof data.context === 'string' ? { context: JSON.parse(data.context) } : {}),
      requestedBy: data.requestedBy,
      requesters: data.requesters,
      allowSelfApproval: data.allowSelfApproval,
      deadline: data.deadline ?? null,
      status: data.status,
      decisions: JSON.parse(String(data.decisions)),
      createdAt: data.createdAt,
      delivered: data.delivered,
      callback: this.callbacks.open(key, callback),
      version: data.version,
    };
  }
}

/** Which cross-run listing a request is in, if any. */
function listingOf(r: Pick<ApprovalRecord, 'status' | 'delivered'>): string | undefined {
  if (r.status === 'open') return OPEN;
  if ((r.status === 'approved' || r.status === 'rejected') && !r.delivered) return UNDELIVERED;
  return undefined;
}
