// The GCP Workflows deployer (adapters/gcp/workflows-deployer.ts) against the Workflows stand-in
// (test/support/workflows-emulator.ts: the exact requests the WorkflowsClient sends, the source checked
// against the official schema) with its records on the gcloud Firestore emulator: what create, update and
// delete send, the revision recorded per Stepgate version, names GCP accepts, configuration GCP would
// refuse refused first by name, and the WorkflowStore that deploys before it saves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { WorkflowsClient } from '@google-cloud/workflows';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { COLLECTIONS } from '../../adapters/gcp/collections.js';
import {
  GcpWorkflowNameError,
  GcpWorkflowStore,
  GcpWorkflowsDeployer,
  type GcpWorkflowsDeployerOptions,
} from '../../adapters/gcp/workflows-deployer.js';
import { openDatabase } from '../../adapters/local/database.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { FAKE_TOKEN } from '../support/google-fake.js';
import { startWorkflowsEmulator, type WorkflowsEmulator } from '../support/workflows-emulator.js';

// No metadata server here: the clients get their credentials from the test.
process.env.METADATA_SERVER_DETECTION = 'none';

const PARENT = 'projects/stepgate-test/locations/europe-west1';
const RUNNER = 'stepgate-workflows@stepgate-test.iam.gserviceaccount.com';

let firestoreEmulator: FirestoreEmulator | undefined;
let stand: WorkflowsEmulator | undefined;

beforeAll(async () => {
  firestoreEmulator = await startFirestoreEmulator();
  stand = await startWorkflowsEmulator();
}, 120_000);
afterAll(async () => {
  await stand?.close();
  await firestoreEmulator?.stop();
});

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const EXPENSE = irOf(
  readFileSync(join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'), 'utf8'),
);
/** Another definition of the workflow (the compiled header states the whole-run timeout). */
const CHANGED: IrWorkflow = { ...EXPENSE, timeoutMs: 3_600_000 };

interface World {
  firestore: Firestore;
  workflows: WorkflowsClient;
  deployer: GcpWorkflowsDeployer;
  options: GcpWorkflowsDeployerOptions;
  emulator: WorkflowsEmulator;
}

function world(overrides: Partial<GcpWorkflowsDeployerOptions> = {}): World {
  if (firestoreEmulator === undefined || stand === undefined)
    throw new Error('the emulators are not running');
  const firestore = firestoreEmulator.client(firestoreEmulator.freshProject());
  const workflows = new WorkflowsClient(stand.clientOptions());
  onTestFinished(async () => {
    await workflows.close();
    await firestore.terminate();
  });
  const options: GcpWorkflowsDeployerOptions = {
    workflows,
    firestore,
    parent: PARENT,
    serviceAccount: RUNNER,
    namePrefix: `t${Math.random().toString(36).slice(2, 8)}-`,
    labels: { app: 'stepgate' },
    clock: { now: () => 1_780_000_000_000 },
    ...overrides,
  };
  return { firestore, workflows, deployer: new GcpWorkflowsDeployer(options), options, emulator: stand };
}

/** The requests the stand-in received from `from` on, as `METHOD path`. */
function sent(emulator: WorkflowsEmulator, from: number): string[] {
  return emulator.requests.slice(from).map((r) => `${r.method} ${r.path}`);
}

describe('GcpWorkflowsDeployer', () => {
  it('creates the workflow of a version: the exact request, the operation polled, the revision recorded', async () => {
    const { deployer, emulator, firestore, options } = world();
    const from = emulator.requests.length;
    const deployed = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const definition = deployer.definition(EXPENSE);
    const id = deployer.workflowId(EXPENSE.id, definition);
    expect(id).toMatch(new RegExp(`^${options.namePrefix}expense-approval-[0-9a-f]{10}$`));
    expect(deployed).toEqual({
      workflowId: EXPENSE.id,
      version: 1,
      workflowName: `${PARENT}/workflows/${id}`,
      revisionId: expect.stringMatching(/^000001-/),
      deployedAt: 1_780_000_000_000,
    });
    expect(sent(emulator, from)).toEqual([
      `POST /v1/${PARENT}/workflows`,
      expect.stringMatching(new RegExp(`^GET /v1/${PARENT}/operations/operation-`)),
    ]);
    const create = emulator.requests[from];
    expect(create?.query.workflowId).toBe(id);
    expect(create?.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    expect(create?.body).toEqual({
      description: 'Stepgate workflow expense-approval',
      sourceContents: definition,
      serviceAccount: RUNNER,
      labels: { app: 'stepgate', 'stepgate-workflow': 'expense-approval' },
      userEnvVars: {},
      tags: {},
    });
    // The deployed source is the compiled workflow with its run-end report.
    expect(definition).toContain('# Run end: main runs sg_run');
    expect(emulator.workflow(deployed.workflowName)?.sourceContents).toBe(definition);
    const record = await firestore
      .collection(COLLECTIONS.workflowRevisions.name)
      .doc('expense-approval~0000000001')
      .get();
    expect(record.data()).toEqual(deployed);
    expect(await deployer.deployed(EXPENSE.id, 1)).toEqual(deployed);
    expect(await deployer.deployed(EXPENSE.id, 2)).toBeUndefined();
  });

  it('gives a changed definition a workflow of its own, and updates the one an unchanged definition has', async () => {
    const { deployer, emulator, options } = world();
    const v1 = await deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE });
    const v2 = await deployer.deploy({ id: EXPENSE.id, version: 2, ir: CHANGED });
    expect(v2.workflowName).not.toBe(v1.workflowName);
    const from = emulator.requests.length;
    // Version 3 is version 1 again, now run by another service account: the same workflow, a new revision.
    const moved = new GcpWorkflowsDeployer({
      ...options,
      serviceAccount: 'other@stepgate-test.iam.gserviceaccount.com',
    });
    const v3 = await moved.deploy({ id: EXPENSE.id, version: 3, ir: EXPENSE });
    expect(v3.workflowName).toBe(v1.workflowName);
    expect(v3.revisionId).toMatch(/^000002-/);
    expect(sent(emulator, from)).toEqual([
      `POST /v1/${PARENT}/workflows`,
      `PATCH /v1/${v1.workflowName}`,
      expect.stringMatching(/\/operations\/operation-/),
    ]);
    const update = emulator.requests[from + 1];
    expect(update?.query.updateMask).toBe('description,source_contents,service_account,labels');
    expect(update?.body).toMatchObject({
      sourceContents: deployer.definition(EXPENSE),
      serviceAccount: 'other@stepgate-test.iam.gserviceaccount.com',
    });
    expect(emulator.requests[from]?.body).toMatchObject({ sourceContents: deployer.definition(EXPENSE) });
    expect((await deployer.deployed(EXPENSE.id))?.version).toBe(3);
    expect((await deployer.deployed(EXPENSE.id, 2))?.workflowName).toBe(v2.workflowName);
  });

  it('names workflows as GCP requires: a letter first, letters, digits, - and _, 64 characters at most', () => {
    const { deployer, options } = world();
    const long = deployer.workflowId(`a${'b'.repeat(90)}`, 'x');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
    const dotted = deployer.workflowId('a.b', 'definition of a.b');
    expect(dotted).toMatch(new RegExp(`^${options.namePrefix}a-b-[0-9a-f]{10}$`));
    expect(deployer.workflowId('a-b', 'definition of a-b')).not.toBe(dotted);
    expect(() => deployer.workflowId('', 'x')).toThrow(/workflow id is empty/);
  });

  it('refuses a configuration GCP would refuse, naming it, before anything is sent', () => {
    expect(() => world({ namePrefix: '9lives-' })).toThrow(GcpWorkflowNameError);
    expect(() => world({ namePrefix: 'step gate' })).toThrow(/namePrefix 'step gate'/);
    expect(() => world({ namePrefix: 'x'.repeat(60) })).toThrow(/namePrefix/);
    expect(() => world({ labels: { App: 'x' } })).toThrow(/label 'App'/);
    expect(() => world({ labels: { app: 'Not Valid' } })).toThrow(/label 'app'/);
    expect(() => world({ parent: 'projects/p' })).toThrow(/parent 'projects\/p'/);
  });

  it('surfaces what Workflows refuses: an id the API does not take is never recorded', async () => {
    const { deployer, emulator } = world();
    emulator.failNext(/^POST .*\/workflows$/, {
      status: 403,
      body: { error: { code: 403, message: 'denied', status: 'PERMISSION_DENIED' } },
    });
    await expect(deployer.deploy({ id: EXPENSE.id, version: 1, ir: EXPENSE })).rejects.toThrow(/denied/);
    expect(await deployer.deployed(EXPENSE.id)).toBeUndefined();
  });
});

describe('GcpWorkflowStore', () => {
  it('deploys each saved version before saving it, and deletes the workflows with it', async () => {
    const { deployer, emulator } = world();
    const db = openDatabase(':memory:');
    onTestFinished(() => {
      db.close();
    });
    const store = new GcpWorkflowStore(new SqliteWorkflowStore(db), deployer);
    const save = (ir: IrWorkflow) =>
      store.save({ ir, source: 'x', format: 'yaml', by: 'alice@example.com', at: 5 });
    expect(await save(EXPENSE)).toMatchObject({ id: EXPENSE.id, version: 1 });
    expect(await save(CHANGED)).toMatchObject({ id: EXPENSE.id, version: 2 });
    const [v1, v2] = [await deployer.deployed(EXPENSE.id, 1), await deployer.deployed(EXPENSE.id, 2)];
    expect(v2).toMatchObject({ version: 2, deployedAt: 5 });
    expect(emulator.workflow(v1?.workflowName ?? '')?.sourceContents).toBe(deployer.definition(EXPENSE));
    expect(emulator.workflow(v2?.workflowName ?? '')?.sourceContents).toBe(deployer.definition(CHANGED));
    const from = emulator.requests.length;
    expect(await store.delete(EXPENSE.id)).toBe(true);
    expect(
      sent(emulator, from)
        .filter((r) => r.startsWith('DELETE'))
        .sort(),
    ).toEqual([`DELETE /v1/${v1?.workflowName}`, `DELETE /v1/${v2?.workflowName}`].sort());
    expect(emulator.workflow(v1?.workflowName ?? '')).toBeUndefined();
    expect(await deployer.deployed(EXPENSE.id)).toBeUndefined();
  });

  it('saves nothing when the deploy fails', async () => {
    const { deployer, emulator } = world();
    const db = openDatabase(':memory:');
    onTestFinished(() => {
      db.close();
    });
    const inner = new SqliteWorkflowStore(db);
    const store = new GcpWorkflowStore(inner, deployer);
    emulator.failNext(/^POST .*\/workflows$/, {
      status: 400,
      body: { error: { code: 400, message: 'bad source', status: 'INVALID_ARGUMENT' } },
    });
    await expect(
      store.save({ ir: EXPENSE, source: 'x', format: 'yaml', by: 'alice@example.com', at: 5 }),
    ).rejects.toThrow(/bad source/);
    expect(await inner.history(EXPENSE.id)).toEqual([]);
  });
});
