// The gcloud Firestore emulator (preinstalled on these machines, runs on Java 17) on a free loopback port:
// Firestore's real wire protocol, transactions and preconditions included, for the GCP adapters' tests.
// Missing, it fails the suite loudly; it is never skipped. One emulator serves a whole test file; each
// store a test makes lives in a project of its own (`freshProject`), so tests never see each other's data.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
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

/** Starts the emulator and waits (up to 60 s) until it answers; throws when gcloud or Java is missing. */
export async function startFirestoreEmulator(): Promise<FirestoreEmulator> {
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
      stdio: ['ignore', 'pipe', 'pipe'],
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
  const clients: Firestore[] = [];
  return {
    host,
    freshProject: () => `stepgate-test-${process.pid}-${++projects}`,
    client(projectId) {
      const db = new Firestore({
        projectId: projectId ?? `stepgate-test-${process.pid}-${++projects}`,
        host,
        ssl: false,
        customHeaders: { Authorization: 'Bearer owner' },
      });
      clients.push(db);
      return db;
    },
    stop: async () => {
      await Promise.allSettled(clients.map((db) => db.terminate()));
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        stopGroup(child);
      });
    },
  };
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
