// Vitest's global setup: a folder for the emulators the test files share (test/support/firestore-emulator.ts
// starts the Firestore emulator there on first use), and, once every file has run, the emulators stopped and
// the folder removed. The folder reaches the worker processes through STEPGATE_SHARED_EMULATORS.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED_EMULATORS } from './firestore-emulator.js';

export default function setup(): () => void {
  const folder = mkdtempSync(join(tmpdir(), 'stepgate-emulators-'));
  process.env[SHARED_EMULATORS] = folder;
  return () => {
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.pgid'))) {
      const pgid = Number(readFileSync(join(folder, file), 'utf8'));
      try {
        // The emulator's whole process group: gcloud and the JVM it started.
        process.kill(-pgid, 'SIGTERM');
      } catch {
        // gone already
      }
    }
    rmSync(folder, { recursive: true, force: true });
  };
}
