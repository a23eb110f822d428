// Schedules and their fires in Firestore (ids from adapters/gcp/documents.ts). A schedule is one document
// in `schedules`; `list` filters by equality (served by Firestore merging single-field indexes, no
// composite one) and sorts here by creation — fine at the scale of one organisation's schedules. A fire
// is one document per (schedule, scheduled time) in `scheduleFires`; `fires` reads one schedule's newest
// first and `unfinishedFires` those still `claimed` (Firestore's queries are strongly consistent, so no
// marker document is needed as on DynamoDB). `claimFire` is one transaction: it reads the schedule and
// the fire, and creates the fire and advances the schedule only while the schedule is enabled and due at
// the fire's time and the fire is new — a racer that committed first aborts the others, which retry and
// find it done: of any number of claims, exactly one succeeds, and a refused claim changes nothing.
// A schedule's `input` is stored as JSON text (Firestore refuses arrays in arrays, which JSON may hold).
import type { DocumentData, Firestore, Query } from '@google-cloud/firestore';
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleStore,
} from '../../functions/core/ports.js';
import { COLLECTIONS } from './collections.js';
import { alreadyExists, docId, notFound, TRANSACTION_ATTEMPTS } from './documents.js';

const SCHEDULES = COLLECTIONS.schedules.name;
const SCHEDULE_FIRES = COLLECTIONS.scheduleFires.name;
/** Deletes per batch when a schedule's fires go (Firestore's limit for one batch is 500 writes). */
const DELETE_BATCH = 400;

export class FirestoreScheduleStore implements ScheduleStore {
  constructor(private readonly db: Firestore) {}

  async insert(record: ScheduleRecord): Promise<void> {
    try {
      await this.schedule(record.id).create({ ...record, input: JSON.stringify(record.input) });
    } catch (error) {
      if (alreadyExists(error)) throw new Error(`schedule ${record.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const data = (await this.schedule(id).get()).data();
    return data && toRecord(data);
  }

  async list(filter: ScheduleFilter = {}): Promise<ScheduleRecord[]> {
    let query: Query = this.db.collection(SCHEDULES);
    if (filter.workflowId !== undefined) query = query.where('workflowId', '==', filter.workflowId);
    if (filter.enabled !== undefined) query = query.where('enabled', '==', filter.enabled);
    if (filter.createdBy !== undefined) query = query.where('createdBy', '==', filter.createdBy);
    const found = await query.get();
    return found.docs
      .map((doc) => toRecord(doc.data()))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    try {
      await this.schedule(id).update({ enabled, nextFireAt });
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    const ref = this.schedule(id);
    const existed = await this.db.runTransaction(async (tx) => {
      if (!(await tx.get(ref)).exists) return false;
      tx.delete(ref);
      return true;
    });
    if (!existed) return false;
    for (;;) {
      const fires = await this.firesOf(id).limit(DELETE_BATCH).get();
      if (fires.empty) return true;
      const batch = this.db.batch();
      for (const doc of fires.docs) batch.delete(doc.ref);
      await batch.commit();
    }
  }

  claimFire(
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ): Promise<boolean> {
    const scheduleRef = this.schedule(fire.scheduleId);
    const fireRef = this.fire(fire.scheduleId, fire.scheduledTime);
    const record: ScheduleFireRecord = { ...fire, status: 'claimed', reason: null };
    return this.db.runTransaction(
      async (tx) => {
        const [schedule, recorded] = await tx.getAll(scheduleRef, fireRef);
        const due = schedule?.get('enabled') === true && schedule.get('nextFireAt') === fire.scheduledTime;
        if (!due || recorded?.exists !== false) return false;
        tx.create(fireRef, record);
        tx.update(scheduleRef, { nextFireAt, lastFiredAt: fire.firedAt });
        return true;
      },
      { maxAttempts: TRANSACTION_ATTEMPTS },
    );
  }

  async finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void> {
    try {
      await this.fire(scheduleId, scheduledTime).update({ status, reason });
    } catch (error) {
      // No such fire: nothing to finish (as an UPDATE of no row).
      if (!notFound(error)) throw error;
    }
  }

  async fires(scheduleId: string, limit = 100): Promise<ScheduleFireRecord[]> {
    const found = await this.firesOf(scheduleId).orderBy('scheduledTime', 'desc').limit(limit).get();
    return found.docs.map((doc) => toFire(doc.data()));
  }

  async unfinishedFires(): Promise<ScheduleFireRecord[]> {
    const found = await this.db
      .collection(SCHEDULE_FIRES)
      .where('status', '==', 'claimed')
      .orderBy('scheduledTime')
      .get();
    return found.docs.map((doc) => toFire(doc.data()));
  }

  private schedule(id: string) {
    return this.db.collection(SCHEDULES).doc(docId(id));
  }

  private fire(scheduleId: string, scheduledTime: number) {
    return this.db.collection(SCHEDULE_FIRES).doc(docId(scheduleId, scheduledTime));
  }

  private firesOf(scheduleId: string): Query {
    return this.db.collection(SCHEDULE_FIRES).where('scheduleId', '==', scheduleId);
  }
}

function toRecord(data: DocumentData): ScheduleRecord {
  return {
    id: data.id,
    workflowId: data.workflowId,
    cron: data.cron,
    timezone: data.timezone,
    scope: data.scope,
    scopeRef: data.scopeRef ?? null,
    createdBy: data.createdBy,
    input: typeof data.input === 'string' ? JSON.parse(data.input) : {},
    enabled: data.enabled === true,
    nextFireAt: data.nextFireAt ?? null,
    lastFiredAt: data.lastFiredAt ?? null,
    createdAt: data.createdAt,
  };
}

function toFire(data: DocumentData): ScheduleFireRecord {
  return {
    scheduleId: data.scheduleId,
    scheduledTime: data.scheduledTime,
    firedAt: data.firedAt,
    status: data.status,
    runId: data.runId,
    reason: data.reason ?? null,
  };
}
