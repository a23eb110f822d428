// Proves that an approval decision survives a crash: when the process is killed right after an approver
// submitted a decision, before the engine committed it to the run, recovery redelivers that very decision
// and the run finishes with it. Nobody submits anything after the restart but an approver trying again,
// who is refused as the request is decided already. This is an interleaving the kill test
// (durability.test.ts) hits by chance, made exact.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('reaches its run after a restart without being submitted again', async () => {
    const file = join(dir, 'engine.sqlite');
    expect(await runChild(DECIDE_CRASH, [file])).toBe('SIGKILL');

    const engine = openSingleApprovalEngine(file);
    try {
      const recovered = await engine.recover();
      expect(recovered.approvals).toBe(1);
      // Bounded by the test's timeout: the redelivered decision is the only thing that can end the run.
      expect(await engine.host.waitForRun(RUN_ID)).toBe('completed');

      expect((await engine.host.getRun(RUN_ID))?.outcome?.vars.sign_off).toMatchObject({
        approved: true,
        decidedBy: APPROVE.by,
        comment: 'decided before the crash',
      });
      const retried = await engine.approvals.decide({ ...APPROVE, decision: 'reject', comment: 'again' });
      expect(retried).toMatchObject({ accepted: false, reason: 'no-open-request' });
      expect((await engine.store.get(RUN_ID, 'sign_off', 1, 1))?.decisions).toEqual([
        expect.objectContaining({ by: APPROVE.by, decision: 'approve', comment: 'decided before the crash' }),
      ]);
      expect((await engine.host.getRun(RUN_ID))?.status).toBe('completed');
    } finally {
      await engine.host.close();
      engine.db.close();
    }
  }, 15_000);
});
