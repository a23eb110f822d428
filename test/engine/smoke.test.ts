import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine } from '../../adapters/local/engine.js';
import { validateWorkflow } from '../../translator/validate.js';

const ir = validateWorkflow(
  readFileSync(join(import.meta.dirname, '../../templates/expense-approval.yaml'), 'utf8'),
).ir;

describe('smoke', () => {
  it('runs the expense template with an approval after escalation', async () => {
    if (!ir) throw new Error('invalid');
    const clock = new VirtualClock();
    const alice = { email: 'alice@example.com', role: 'member', groups: ['eng'], manager: 'bob@example.com' };
    const directory = new InMemoryDirectory([
      alice,
      { email: 'bob@example.com', role: 'manager', groups: ['eng'], manager: 'carol@example.com' },
      { email: 'carol@example.com', role: 'director', groups: [], manager: null },
    ]);
    const calls: string[] = [];
    const engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory,
      tools: {
        call: async (r) => {
          calls.push(r.tool);
          return r.tool === 'payments-charge' ? { id: 'ch_1' } : { ok: true };
        },
      },
      notifier: { send: async () => ({}) },
      approvalNotifier: {
        requested: async (rec) => {
          if (rec.level === 2)
            clock.setTimer(
              clock.now() + 3_600_000,
              () =>
                void engine.approvals.decide({
                  runId: rec.runId,
                  stepId: rec.stepId,
                  by: 'carol@example.com',
                  decision: 'approve',
                  comment: 'ok',
                  channel: 'test',
                }),
            );
        },
      },
    });
    const runId = await engine.host.startRun({
      workflowId: 'expense-approval',
      ir,
      input: { amount: 900, description: 'Laptop' },
      trigger: { type: 'manual', user: alice },
    });
    await clock.run(engine.host);
    const run = await engine.host.getRun(runId);
    console.log(JSON.stringify(run?.outcome, null, 1));
    console.log((await engine.host.audit(runId)).map((a) => `${a.type} ${a.step ?? ''}`).join('\n'));
    expect(run?.status).toBe('completed');
    expect(calls).toEqual(['expenses-validate', 'payments-charge']);
  });
});
