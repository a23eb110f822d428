// Proves that an approval decision survives a crash: when the process is killed right after an approver
// submitted a decision, before the engine committed it to the run, the run still gets its decision after
// a restart and finishes (whether recovery redelivers it or the approver, who never got an answer,
// submits it again). This is an interleaving the kill test (durability.test.ts) hits by chance, made exact.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { APPROVE, openSingleApprovalEngine, RUN_ID } from './fixtures/durability-single-approval.js';

const ROOT = join(import.meta.dirname, '../..');
const DECIDE_CRASH = join(import.meta.dirname, 'fixtures/durability-decide-crash.ts');

/** Runs a fixture script to its end; resolves with the signal that ended it or its exit code and stderr. */
function runChild(script: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}: ${stderr.trim()}`)),
  );
}

describe('an approval decision submitted just before the process is killed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-decide-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('still reaches its run after a restart', async () => {
    const file = join(dir, 'engine.sqlite');
    expect(await runChild(DECIDE_CRASH, [file])).toBe('SIGKILL');

    const engine = openSingleApprovalEngine(file);
    try {
      await engine.recover();
      // The approver's click was never answered, so the approver submits it again.
      await engine.approvals.decide(APPROVE);
      const status = await Promise.race([engine.host.waitForRun(RUN_ID), sleep(2_000).then(() => 'running')]);
      expect(status).toBe('completed');
    } finally {
      await engine.host.close();
      engine.db.close();
    }
  }, 15_000);
});
