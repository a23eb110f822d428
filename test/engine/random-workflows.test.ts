// 200 random valid workflows (every step kind, nested parallels, retries, escalations, random mocks and
// decisions) on the embedded engine: each is valid, ends in one of the four final statuses, and runs
// identically twice — the engine is deterministic under virtual time, whatever the shape.
import { describe, expect, it } from 'vitest';
import { runCaseLocal } from '../../testing/run-local.js';
import { validateWorkflow } from '../../translator/validate.js';
import { randomWorkflow } from '../support/random-workflow.js';

const SEEDS = Array.from({ length: 200 }, (_, i) => 1_000 + i);

describe('random workflows on the local engine', () => {
  it.each(SEEDS)('seed %i: is valid, ends, and runs the same twice', async (seed) => {
    const generated = randomWorkflow(seed);
    const validated = validateWorkflow(generated.yaml);
    expect(validated.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const ir = validated.ir;
    const c = generated.scenario.cases[0];
    if (ir === undefined || c === undefined) throw new Error('no IR');
    const first = await runCaseLocal(ir, generated.scenario, c);
    const second = await runCaseLocal(ir, generated.scenario, c);
    expect(['completed', 'failed', 'cancelled', 'timed_out']).toContain(first.status);
    expect(second).toEqual(first);
  });

  it('covers every step kind and every final status across the seeds', async () => {
    const kinds = new Set<string>();
    const statuses = new Set<string>();
    for (const seed of SEEDS) {
      const generated = randomWorkflow(seed);
      for (const match of generated.yaml.matchAll(/- id: \w+\n\s+type: (\w+)/g)) kinds.add(match[1] ?? '');
      const ir = validateWorkflow(generated.yaml).ir;
      const c = generated.scenario.cases[0];
      if (ir && c) statuses.add((await runCaseLocal(ir, generated.scenario, c)).status);
    }
    expect([...kinds].sort()).toEqual(['approval', 'condition', 'delay', 'notify', 'parallel', 'tool']);
    expect([...statuses].sort()).toEqual(['cancelled', 'completed', 'failed', 'timed_out']);
  });
});
