// Published workflow definitions in Firestore, as DynamoWorkflowStore keeps them on DynamoDB: every version a
// document of its own, never changed once written (`workflows/<id>/workflowVersions/<version, 10 digits>`:
// name, format, source, the IR as JSON text, createdAt, createdBy), and one head per workflow
// (`workflows/<id>`: id, its latest version, whether it was deleted), so `list` is one query (and one
// batched read) and `get` two reads. The IR is kept as JSON text: Firestore stores no arrays of arrays and no undefined.
//
// A save creates the new version and moves the head in ONE batch, the version a `create()` and the head
// conditioned on the update time it was read at (or created, for a first save): of concurrent saves, one
// takes each number; the others lost the race, read the head again and take the next. Each version is
// parsed once per instance (the latest read of each workflow is kept), so listings re-read only what changed.
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { COLLECTIONS } from './collections.js';
import { docId, retryRaces } from './documents.js';

interface Head {
  id: string;
  version: number;
  deleted: boolean;
}

export class FirestoreWorkflowStore implements WorkflowStore {
  /** Parsed once per version: callers get the same IR object, so what is cached per IR stays cached. */
  private readonly parsed = new Map<string, StoredWorkflowView>();

  constructor(private readonly db: Firestore) {}

  /** Saves a new version (one after the latest kept, deleted or not); returns it. */
  async save(input: {
    ir: IrWorkflow;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): Promise<StoredWorkflowView> {
    const id = input.ir.id;
    return retryRaces(`saving workflow ${id}`, async () => {
      const head = await this.headRef(id).get();
      const previous = head.exists ? Number((head.data() as Head).version) : 0;
      const saved: StoredWorkflowView = {
        id,
        version: previous + 1,
        name: input.ir.name,
        format: input.format,
        source: input.source,
        ir: input.ir,
        createdAt: input.at,
        createdBy: input.by,
      };
      const batch = this.db.batch();
      batch.create(this.versionRef(id, saved.version), { ...saved, ir: JSON.stringify(saved.ir) });
      const next: Head = { id, version: saved.version, deleted: false };
      if (head.updateTime === undefined) batch.create(this.headRef(id), next);
      else batch.update(this.headRef(id), { ...next }, { lastUpdateTime: head.updateTime });
      await batch.commit();
      return saved;
    });
  }

  async get(id: string): Promise<StoredWorkflowView | undefined> {
    const head = await this.headRef(id).get();
    const found = head.data() as Head | undefined;
    return found === undefined || found.deleted ? undefined : this.load(id, found.version);
  }

  /** The latest versions in one query of the heads and one batched read of the versions not cached. */
  async list(): Promise<StoredWorkflowView[]> {
    const found = await this.db.collection(COLLECTIONS.workflows.name).where('deleted', '==', false).get();
    const heads = found.docs.map((doc) => doc.data() as Head);
    const missing = heads.filter((head) => this.parsed.get(head.id)?.version !== head.version);
    if (missing.length > 0) {
      const versions = await this.db.getAll(...missing.map((head) => this.versionRef(head.id, head.version)));
      for (const version of versions) {
        const data = version.data();
        if (data !== undefined) this.parsed.set(String(data.id), toWorkflow(data));
      }
    }
    return heads
      .flatMap((head) => {
        const workflow = this.parsed.get(head.id);
        return workflow?.version === head.version ? [workflow] : [];
      })
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async history(id: string): Promise<StoredWorkflowView[]> {
    const versions = await this.headRef(id)
      .collection(COLLECTIONS.workflowVersions.name)
      .orderBy('version')
      .get();
    return versions.docs.map((doc) => toWorkflow(doc.data()));
  }

  /** False when there was no such workflow (or it was deleted already). Versions are kept. */
  async delete(id: string): Promise<boolean> {
    return retryRaces(`deleting workflow ${id}`, async () => {
      const head = await this.headRef(id).get();
      if (head.updateTime === undefined || (head.data() as Head).deleted) return false;
      await this.headRef(id).update({ deleted: true }, { lastUpdateTime: head.updateTime });
      return true;
    });
  }

  /** A version of a workflow, parsed once (the cache keeps each workflow's latest read). */
  private async load(id: string, version: number): Promise<StoredWorkflowView | undefined> {
    const cached = this.parsed.get(id);
    if (cached !== undefined && cached.version === version) return cached;
    const found = await this.versionRef(id, version).get();
    const data = found.data();
    if (data === undefined) return undefined;
    const workflow = toWorkflow(data);
    this.parsed.set(id, workflow);
    return workflow;
  }

  private headRef(id: string): DocumentReference {
    return this.db.collection(COLLECTIONS.workflows.name).doc(docId(id));
  }

  private versionRef(id: string, version: number): DocumentReference {
    return this.headRef(id)
      .collection(COLLECTIONS.workflowVersions.name)
      .doc(String(version).padStart(10, '0'));
  }
}

function toWorkflow(data: Record<string, unknown>): StoredWorkflowView {
  const w = data as Omit<StoredWorkflowView, 'ir'> & { ir: string };
  return {
    id: w.id,
    version: w.version,
    name: w.name,
    format: w.format,
    source: w.source,
    ir: JSON.parse(w.ir) as IrWorkflow,
    createdAt: w.createdAt,
    createdBy: w.createdBy,
  };
}
