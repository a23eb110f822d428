// The GCP deployment's setup (functions/gcp/setup.ts) over the API's composition on the Firestore
// emulator, the Workflows stand-in and the recording fake for Secret Manager and Cloud Scheduler
// (test/support/gcp-composition.ts): every gallery template deployed and installed once (a second run
// deploys nothing), the first admin made once with the secret's password, an existing admin never touched,
// a missing secret named, the stored schedules' jobs resynced; and the once-per-instance runner that the
// api function awaits (a failure logged, never thrown, retried after its delay).
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { forgetPlatformSecrets } from '../../adapters/gcp/platform-secrets.js';
import { setupOnFirstRequest } from '../../functions/core/per-instance.js';
import { bundledGallery } from '../../functions/core/template-gallery.js';
import { ENV } from '../../functions/gcp/config.js';
import { setUp } from '../../functions/gcp/setup.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import {
  ADMIN_EMAIL,
  type Composition,
  composeOn,
  type GoogleServices,
  LOCATION,
  PROJECT,
  startGoogleServices,
} from '../support/gcp-composition.js';
import { startWorkflowsEmulator, type WorkflowsEmulator } from '../support/workflows-emulator.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const PASSWORD = 'a long enough first password';
const SECRET = `projects/${PROJECT}/secrets/admin-password`;
const GALLERY = bundledGallery(`${import.meta.dirname}/../../functions/gcp`);

let firestore: FirestoreEmulator;
let workflows: WorkflowsEmulator;
let google: GoogleServices;

beforeAll(async () => {
  firestore = await startFirestoreEmulator();
  workflows = await startWorkflowsEmulator();
  google = await startGoogleServices();
}, 120_000);
afterAll(async () => {
  await google?.fake.close();
  await workflows?.close();
  await firestore?.stop();
});
beforeEach(() => {
  forgetPlatformSecrets();
  google.secrets.clear();
  google.secrets.set(SECRET, [Buffer.from(`${PASSWORD}\n`)]);
  google.fake.requests.length = 0;
});

function compose(): Composition {
  const made = composeOn({ firestore, workflows, google });
  onTestFinished(() => made.close());
  return made;
}

const run = (made: Composition) => setUp({ ports: made.ports, runs: made.runs, templates: GALLERY });

/** The createWorkflow requests the stand-in received for this composition's workflows. */
const creates = (made: Composition) =>
  workflows.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path === `/v1/projects/${PROJECT}/locations/${LOCATION}/workflows` &&
      String(r.query.workflowId).startsWith(made.config.namePrefix),
  );

const secretReads = () => google.fake.requests.filter((r) => r.path.endsWith('/versions/latest:access'));

describe('the setup', () => {
  it('deploys and installs every gallery template once; a second run deploys nothing new', async () => {
    const made = compose();
    expect(GALLERY.length).toBeGreaterThanOrEqual(4);

    const first = await run(made);

    const ids = GALLERY.map((t) => t.id).sort();
    expect([...first.templates].sort()).toEqual(ids);
    expect(creates(made)).toHaveLength(ids.length);
    const installed = await made.ports.workflows().list();
    expect(installed.map((w) => w.id).sort()).toEqual(ids);
    for (const id of ids) {
      const [deployed, stored] = await Promise.all([
        made.runs.deployer().deployed(id, 1),
        made.ports.workflows().get(id),
      ]);
      if (deployed === undefined || stored === undefined) throw new Error(`template ${id} was not deployed`);
      expect(workflows.workflow(deployed.workflowName)?.sourceContents).toBe(
        made.runs.deployer().definition(stored.ir),
      );
    }

    const second = await run(made);

    expect(second.templates).toEqual([]);
    expect(creates(made)).toHaveLength(ids.length);
    expect((await made.ports.workflows().history(ids[0] ?? '')).length).toBe(1);
  });

  it('creates the first admin once, with the password held in Secret Manager', async () => {
    const made = compose();

    expect((await run(made)).admin).toBe(ADMIN_EMAIL);
    expect(secretReads().map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/${SECRET}/versions/latest:access`,
    ]);
    const directory = made.ports.directory();
    expect((await directory.verifyPassword(ADMIN_EMAIL, PASSWORD))?.role).toBe('admin');

    forgetPlatformSecrets();
    google.secrets.set(SECRET, [Buffer.from('another password, rotated')]);
    expect((await run(made)).admin).toBeNull();
    expect(secretReads()).toHaveLength(1);
    expect(await directory.verifyPassword(ADMIN_EMAIL, PASSWORD)).not.toBeNull();
  });

  it('never touches an existing admin, nor reads the secret', async () => {
    const made = compose();
    const directory = made.ports.directory();
    await directory.upsertUser({ email: 'ada@example.com', role: 'admin' });
    await directory.setPassword('ada@example.com', 'ada has her own password');

    expect((await run(made)).admin).toBeNull();

    expect(secretReads()).toEqual([]);
    expect(await directory.getUser(ADMIN_EMAIL)).toBeUndefined();
    expect((await directory.verifyPassword('ada@example.com', 'ada has her own password'))?.role).toBe(
      'admin',
    );
  });

  it('makes the named user an admin when there is none, keeping the password it has', async () => {
    const made = compose();
    const directory = made.ports.directory();
    await directory.upsertUser({ email: ADMIN_EMAIL, name: 'Root', role: 'member', groups: ['ops'] });
    await directory.setPassword(ADMIN_EMAIL, 'the password root chose');

    expect((await run(made)).admin).toBe(ADMIN_EMAIL);

    expect(secretReads()).toEqual([]);
    expect(await directory.getUser(ADMIN_EMAIL)).toMatchObject({
      role: 'admin',
      name: 'Root',
      groups: ['ops'],
    });
    expect(await directory.verifyPassword(ADMIN_EMAIL, 'the password root chose')).not.toBeNull();
    expect(await directory.verifyPassword(ADMIN_EMAIL, PASSWORD)).toBeNull();
  });

  it('names a missing secret and its variable, and makes no admin', async () => {
    const made = compose();
    google.secrets.clear();

    const failure = run(made);

    await expect(failure).rejects.toThrow(SECRET);
    await expect(failure).rejects.toThrow(ENV.adminPasswordSecret);
    await expect(failure).rejects.toThrow('NOT_FOUND');
    expect(await made.ports.directory().listUsers()).toEqual([]);
  });

  it('refuses a password shorter than 12 characters without saying it', async () => {
    const made = compose();
    google.secrets.set(SECRET, [Buffer.from('short-pw')]);

    const failure = run(made);

    await expect(failure).rejects.toThrow(/shorter than 12 characters/);
    await expect(failure).rejects.not.toThrow('short-pw');
    expect(await made.ports.directory().listUsers()).toEqual([]);
  });

  it('creates the missing Cloud Scheduler job of a stored schedule, exactly as it is stored', async () => {
    const made = compose();
    await made.ports.schedules().insert({
      id: 'nightly',
      workflowId: 'expense-approval',
      cron: '0 2 * * *',
      timezone: 'UTC',
      scope: 'user',
      scopeRef: ADMIN_EMAIL,
      createdBy: ADMIN_EMAIL,
      input: {},
      enabled: false,
      nextFireAt: null,
      lastFiredAt: null,
      createdAt: 1,
    });
    google.fake.requests.length = 0;

    expect((await run(made)).schedules).toEqual(['nightly']);

    const job = `projects/${PROJECT}/locations/${LOCATION}/jobs/${made.config.namePrefix}nightly`;
    expect(
      google.fake.requests.filter((r) => r.path.includes('/jobs')).map((r) => `${r.method} ${r.path}`),
    ).toEqual([
      `PATCH /v1/${job}`,
      `POST /v1/projects/${PROJECT}/locations/${LOCATION}/jobs`,
      `POST /v1/${job}:pause`,
    ]);
    expect(google.jobs.get(`${made.config.namePrefix}nightly`)).toMatchObject({
      name: job,
      schedule: '0 2 * * *',
      state: 'PAUSED',
    });
  });
});

describe('the setup run on the first request', () => {
  const clock = { at: 0, now: () => clock.at };

  it('runs once, concurrent requests waiting on the same run', async () => {
    let runs = 0;
    let release = () => {};
    const setup = setupOnFirstRequest(
      () =>
        new Promise<void>((resolve) => {
          runs++;
          release = resolve;
        }),
      { clock },
    );
    const waiting = [setup(), setup()];
    release();
    await Promise.all(waiting);
    await setup();
    expect(runs).toBe(1);
  });

  it('logs a failure, never throws it, and tries again only after its delay', async () => {
    const logged: string[] = [];
    let attempts = 0;
    const setup = setupOnFirstRequest(
      async () => {
        attempts++;
        if (attempts === 1) throw new Error(`the secret ${SECRET} could not be read`);
      },
      { clock, retryMs: 60_000, log: (message) => logged.push(message) },
    );

    await expect(setup()).resolves.toBeUndefined();
    expect(logged).toEqual([
      `setup failed (tried again on a later request): the secret ${SECRET} could not be read`,
    ]);
    clock.at += 59_999;
    await setup();
    expect(attempts).toBe(1);
    clock.at += 1;
    await setup();
    expect(attempts).toBe(2);
    await setup();
    expect(attempts).toBe(2);
  });
});
