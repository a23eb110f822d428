// Workflows as Google Cloud Workflows: a saved Stepgate version is compiled with the run-end report
// (emitGcpWorkflows(ir, { reportEnd: true })), deployed with the WorkflowsClient (createWorkflow /
// updateWorkflow, long-running operations: `sourceContents`, the service account the executions run as,
// labels naming the Stepgate workflow), and its revision recorded per (workflow id, Stepgate version) in
// Firestore (COLLECTIONS.workflowRevisions), where the host finds what a run starts on
// (adapters/gcp/workflows-host.ts).
//
// How a run gets its version — the decision: the Executions API cannot start an execution on a revision
// (it always runs the workflow's latest), so one GCP workflow holds ONE definition: its id is the prefix,
// the Stepgate id and a hash of the compiled definition (`stepgate-expense-approval-3f9a0c12d4`). A run of
// version N starts the GCP workflow recorded for N, whose every revision has N's definition: exact by
// construction, with no race between a save moving "latest" and a run starting (the alternative, one GCP
// workflow updated per save plus a check of the execution's revision, would start, then have to cancel, a
// run that raced a save, and could never run an older version). Versions with the same definition share
// their GCP workflow, as Step Functions answers an unchanged definition with its version. The revision id
// is recorded as well (it is what the execution reports, `workflowRevisionId`). An update happens when the
// GCP workflow exists already: a redeploy with another service account or labels makes its new revision.
// Deleting a Stepgate workflow deletes every GCP workflow recorded for it, then the records. Idle GCP
// workflows cost nothing; they count against the per-region workflow quota.
//
// Names: GCP workflow ids are letters, digits, `-` and `_`, at most 64 characters, starting with a letter.
// The prefix (default `stepgate-`) must start with a letter and hold only those characters (refused
// otherwise, naming `namePrefix`); the id's other characters become `-`, and the whole is cut to leave room
// for the hash (the hash keeps ids that clean alike apart: the definition names its id).
//
// GcpWorkflowStore decorates a WorkflowStore as StateMachineWorkflowStore does: it deploys BEFORE it saves,
// so a definition that does not deploy is never saved; the record is written under the number the save
// actually took (a content-named GCP workflow cannot be taken over by a concurrent save); a save that fails
// after its deploy leaves a GCP workflow that no run starts on.
import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import type { WorkflowsClient } from '@google-cloud/workflows';
import type { Clock, StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { COLLECTIONS } from './collections.js';
import { googleStatus } from './google-errors.js';

/** GCP's longest workflow id. */
const MAX_ID = 64;
const HASH = 10;
const PREFIX = /^[A-Za-z][A-Za-z0-9_-]*$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

export interface GcpWorkflowsDeployerOptions {
  workflows: WorkflowsClient;
  firestore: Firestore;
  /** Where the workflows live: `projects/<project>/locations/<region>`. */
  parent: string;
  /** The service account the executions run as (it may invoke the functions and send callbacks). */
  serviceAccount: string;
  /** Put before every workflow id (default `stepgate-`). */
  namePrefix?: string;
  /** Labels every deployed workflow carries besides `stepgate-workflow`. */
  labels?: Record<string, string>;
  clock?: Pick<Clock, 'now'>;
}

/** A Stepgate version of a workflow as deployed. */
export interface DeployedWorkflow {
  workflowId: string;
  version: number;
  /** The GCP workflow's resource name, `projects/…/locations/…/workflows/<id>`: what its runs execute. */
  workflowName: string;
  revisionId: string;
  deployedAt: number;
}

/** A configuration or name GCP would refuse, named before anything is sent. */
export class GcpWorkflowNameError extends Error {
  override name = 'GcpWorkflowNameError';
}

export class GcpWorkflowsDeployer {
  private readonly clock: Pick<Clock, 'now'>;
  private readonly prefix: string;

  constructor(private readonly options: GcpWorkflowsDeployerOptions) {
    this.clock = options.clock ?? Date;
    this.prefix = options.namePrefix ?? 'stepgate-';
    if (!PREFIX.test(this.prefix) || this.prefix.length > MAX_ID - HASH - 2)
      throw new GcpWorkflowNameError(
        `namePrefix '${this.prefix}' cannot start a GCP workflow id: it must start with a letter, hold only letters, digits, '-' and '_', and be at most ${MAX_ID - HASH - 2} characters`,
      );
    if (!/^projects\/[^/]+\/locations\/[^/]+$/.test(options.parent))
      throw new GcpWorkflowNameError(
        `parent '${options.parent}' is not projects/<project>/locations/<region>`,
      );
    for (const [key, value] of Object.entries(options.labels ?? {}))
      if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value))
        throw new GcpWorkflowNameError(
          `label '${key}' is not a GCP label (keys: lower-case letters first, then lower-case letters, digits, '-' and '_'; values the same, up to 63 characters)`,
        );
  }

  /** The compiled definition of `ir`, with the run-end report. */
  definition(ir: IrWorkflow): string {
    return emitGcpWorkflows(ir, { reportEnd: true });
  }

  /** The GCP workflow id of a definition of workflow `workflowId` (see the header). */
  workflowId(workflowId: string, definition: string): string {
    if (workflowId === '') throw new GcpWorkflowNameError('the workflow id is empty');
    const hash = createHash('sha256').update(definition).digest('hex').slice(0, HASH);
    const base = `${this.prefix}${workflowId}`.replace(/[^A-Za-z0-9_-]/g, '-');
    return `${base.slice(0, MAX_ID - HASH - 1)}-${hash}`;
  }

  /** Creates the GCP workflow of `ir`'s definition, or updates it when it exists; answers it as deployed. */
  async publish(ir: IrWorkflow): Promise<{ workflowName: string; revisionId: string }> {
    const sourceContents = this.definition(ir);
    const id = this.workflowId(ir.id, sourceContents);
    const workflowName = `${this.options.parent}/workflows/${id}`;
    const workflow = {
      description: `Stepgate workflow ${ir.id}`,
      sourceContents,
      serviceAccount: this.options.serviceAccount,
      labels: { ...this.options.labels, 'stepgate-workflow': labelValue(ir.id) },
    };
    let done: { revisionId?: string | null; name?: string | null };
    try {
      const [operation] = await this.options.workflows.createWorkflow({
        parent: this.options.parent,
        workflowId: id,
        workflow,
      });
      [done] = await operation.promise();
    } catch (error) {
      if (googleStatus(error) !== 'ALREADY_EXISTS') throw error;
      const [operation] = await this.options.workflows.updateWorkflow({
        workflow: { ...workflow, name: workflowName },
        updateMask: { paths: ['description', 'source_contents', 'service_account', 'labels'] },
      });
      [done] = await operation.promise();
    }
    if (typeof done.revisionId !== 'string' || done.revisionId === '')
      throw new Error(`Workflows answered no revision for the workflow of '${ir.id}'`);
    return { workflowName, revisionId: done.revisionId };
  }

  /** Records which GCP workflow (and revision) a Stepgate version's runs start on. */
  async record(deployed: DeployedWorkflow): Promise<void> {
    await this.collection().doc(recordId(deployed.workflowId, deployed.version)).set(deployed);
  }

  /** Publishes and records one Stepgate version (templates at deploy time, tests). */
  async deploy(workflow: Pick<StoredWorkflowView, 'id' | 'version' | 'ir'>): Promise<DeployedWorkflow> {
    const published = await this.publish(workflow.ir);
    const deployed: DeployedWorkflow = {
      workflowId: workflow.id,
      version: workflow.version,
      ...published,
      deployedAt: this.clock.now(),
    };
    await this.record(deployed);
    return deployed;
  }

  /** The deployment of a Stepgate version, or of the latest deployed version when none is named. */
  deployed(workflowId: string, version?: number): Promise<DeployedWorkflow | undefined> {
    return deployedWorkflow(this.options.firestore, workflowId, version);
  }

  /** Deletes every GCP workflow recorded for the Stepgate workflow, then the records. */
  async remove(workflowId: string): Promise<void> {
    const records = await this.collection().where('workflowId', '==', workflowId).get();
    const names = new Set(records.docs.map((d) => String(d.get('workflowName'))));
    for (const name of names) {
      try {
        const [operation] = await this.options.workflows.deleteWorkflow({ name });
        await operation.promise();
      } catch (error) {
        if (googleStatus(error) !== 'NOT_FOUND') throw error;
      }
    }
    const batch = this.options.firestore.batch();
    for (const doc of records.docs) batch.delete(doc.ref);
    await batch.commit();
  }

  private collection() {
    return this.options.firestore.collection(COLLECTIONS.workflowRevisions.name);
  }
}

/**
 * The deployment of a Stepgate version, or of the latest deployed version when none is named: what a
 * function that only starts runs (schedule fire) needs, without the deployer's client and options.
 */
export async function deployedWorkflow(
  firestore: Firestore,
  workflowId: string,
  version?: number,
): Promise<DeployedWorkflow | undefined> {
  const collection = firestore.collection(COLLECTIONS.workflowRevisions.name);
  if (version !== undefined) {
    const doc = await collection.doc(recordId(workflowId, version)).get();
    return doc.exists ? toDeployed(doc.data() ?? {}) : undefined;
  }
  const latest = await collection
    .where('workflowId', '==', workflowId)
    .orderBy('version', 'desc')
    .limit(1)
    .get();
  const first = latest.docs[0];
  return first === undefined ? undefined : toDeployed(first.data());
}

/**
 * A WorkflowStore that deploys each version before saving it and deletes the GCP workflows with the
 * workflow (see the header).
 */
export class GcpWorkflowStore implements WorkflowStore {
  constructor(
    private readonly inner: WorkflowStore,
    private readonly deployer: GcpWorkflowsDeployer,
  ) {}

  async save(input: Parameters<WorkflowStore['save']>[0]): Promise<{ id: string; version: number }> {
    const published = await this.deployer.publish(input.ir);
    const saved = await this.inner.save(input);
    await this.deployer.record({
      workflowId: saved.id,
      version: saved.version,
      ...published,
      deployedAt: input.at,
    });
    return saved;
  }

  get(id: string): ReturnType<WorkflowStore['get']> {
    return this.inner.get(id);
  }

  list(): ReturnType<WorkflowStore['list']> {
    return this.inner.list();
  }

  history(id: string): ReturnType<WorkflowStore['history']> {
    return this.inner.history(id);
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await this.inner.delete(id);
    if (deleted) await this.deployer.remove(id);
    return deleted;
  }
}

/** The record's document id: the workflow id (encoded: ids may hold `/`) and the version, 10 digits. */
function recordId(workflowId: string, version: number): string {
  return `${encodeURIComponent(workflowId)}~${String(version).padStart(10, '0')}`;
}

/** A GCP label value naming a Stepgate id (lower case; other characters `-`; 63 at most). */
function labelValue(id: string): string {
  return id
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 63);
}

function toDeployed(data: Record<string, unknown>): DeployedWorkflow {
  return {
    workflowId: String(data.workflowId),
    version: Number(data.version),
    workflowName: String(data.workflowName),
    revisionId: String(data.revisionId),
    deployedAt: Number(data.deployedAt),
  };
}
