// The gcloud Firestore emulator (preinstalled on these machines, runs on Java 17) on a free loopback port:
// Firestore's real wire protocol, transactions and preconditions included, for the GCP adapters' tests.
// Missing, it fails the suite loudly; it is never skipped. Each store a test makes lives in a project of its
// own (`freshProject`), so tests never see each other's data — which lets one emulator serve every test file
// of a run: under `vitest` (test/support/global-setup.ts names a folder in STEPGATE_SHARED_EMULATORS) the
// first file that asks starts it, detached, and writes its address there; the others connect to it (a lock
// directory orders them), and the global teardown stops it. One JVM warmed up once instead of one per file.
// Without that folder (a file run on its own by another runner) each file starts its own.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { freePort } from './moto.js';

export interface FirestoreEmulator {
  /** `127.0.0.1:<port>`, what FIRESTORE_EMULATOR_HOST would hold. */
  host: string;
  /** A Firestore client of a project nobody else uses: a fresh, empty database. */
  client(projectId?: string): Firestore;
  /** A project id not used before in this process. */
  freshProject(): string;
  stop(): Promise<void>;
}

let projects = 0;
/** Distinct per loaded module: a reused worker process loads this module again for each file. */
const run = randomBytes(3).toString('hex');

/** The environment variable naming the run's shared-emulator folder (set by test/support/global-setup.ts). */
export const SHARED_EMULATORS = 'STEPGATE_SHARED_EMULATORS';

/**
 * The emulator of this test run (started by the first caller, see the header), or one of this file's own
 * when no shared folder is set; throws when gcloud or Java is missing.
 */
export async function startFirestoreEmulator(): Promise<FirestoreEmulator> {
  const folder = process.env[SHARED_EMULATORS];
  if (folder === undefined || folder === '') {
    const { host, child } = await launch();
    return connect(host, () => stopProcess(child));
  }
  return connect(await sharedHost(folder), async () => {});
}

/** The shared emulator's address: read from the folder, or the emulator started and recorded there. */
async function sharedHost(folder: string): Promise<string> {
  const lock = join(folder, 'firestore.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`the shared Firestore emulator's lock ${lock} was never freed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    const recorded = join(folder, 'firestore.host');
    try {
      return readFileSync(recorded, 'utf8');
    } catch {
      const { host, child } = await launch(join(folder, 'firestore.log'));
      // The global teardown stops the whole process group (gcloud and the JVM it starts).
      writeFileSync(join(folder, 'firestore.pgid'), String(child.pid));
      writeFileSync(recorded, host);
      child.unref();
      return host;
    }
  } finally {
    rmdirSync(lock);
  }
}

/**
 * Starts an emulator and waits (up to 60 s) until it answers. With `logFile` it is shared: it outlives this
 * process and writes there (pipes would close with the worker that started it).
 */
async function launch(logFile?: string): Promise<{ host: string; child: ChildProcess }> {
  const check = spawnSync('gcloud', ['--version'], { encoding: 'utf8' });
  if (check.error !== undefined || check.status !== 0)
    throw new Error(
      'gcloud is not installed: the GCP adapters are tested against its Firestore emulator ' +
        `(gcloud emulators firestore start, needs Java 17); running it failed: ${check.error?.message ?? check.stderr}`,
    );
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error !== undefined || java.status !== 0)
    throw new Error(
      `java is not installed: the Firestore emulator runs on it (${java.error?.message ?? java.stderr})`,
    );
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'gcloud',
    ['emulators', 'firestore', 'start', `--host-port=${host}`, '--quiet'],
    {
      stdio:
        logFile === undefined
          ? ['ignore', 'pipe', 'pipe']
          : ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
      detached: true,
    },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 60_000;
  if (logFile !== undefined) output = `(its output is in ${logFile})`;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the Firestore emulator exited (${child.exitCode}): ${output}`);
    try {
      const answer = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1_000) });
      if (answer.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      stopGroup(child);
      throw new Error(`the Firestore emulator did not answer on ${host} within 60 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { host, child };
}

/** The handle a test file uses; `stopEmulator` runs after its clients are closed. */
function connect(host: string, stopEmulator: () => Promise<void>): FirestoreEmulator {
  const clients: Firestore[] = [];
  return {
    host,
    freshProject: () => `stepgate-test-${process.pid}-${run}-${++projects}`,
    client(projectId) {
      const db = new Firestore({
        projectId: projectId ?? `stepgate-test-${process.pid}-${run}-${++projects}`,
        host,
        ssl: false,
        customHeaders: { Authorization: 'Bearer owner' },
      });
      clients.push(db);
      return db;
    },
    stop: async () => {
      await Promise.allSettled(clients.map((db) => db.terminate()));
      await stopEmulator();
    },
  };
}

/** Stops a file's own emulator (its whole process group) and waits for it to exit. */
function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    stopGroup(child);
  });
}

/** gcloud starts the emulator's JVM as a child of its own: the whole process group is stopped. */
function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}
