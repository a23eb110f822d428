// Conformance beyond the templates: 200 random valid workflows (every step kind, retries, escalations,
// parallels, cancellations and timeouts; test/support/random-workflow.ts) observe the same on GCP Workflows
// as on the embedded engine. Workflows GCP cannot take (a parallel nested in a branch) must be refused with
// a TranslateError, never compiled wrong.
import { describe, expect, it } from 'vitest';
import { runCaseGcp } from '../../testing/run-gcp.js';
import { runCaseLocal } from '../../testing/run-local.js';
import { TranslateError } from '../../translator/emit/errors.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { validateWorkflow } from '../../translator/validate.js';
import { randomWorkflow } from '../support/random-workflow.js';

const SEEDS = Array.from({ length: 200 }, (_, i) => 1_000 + i);
const refused: number[] = [];

describe('random workflows on the gcp target', () => {
  it.each(SEEDS)('seed %i: the same observation as local, or a TranslateError', async (seed) => {
    const generated = randomWorkflow(seed);
    const ir = validateWorkflow(generated.yaml).ir;
    const c = generated.scenario.cases[0];
    if (ir === undefined || c === undefined) throw new Error('no IR');
    try {
      emitGcpWorkflows(ir);
    } catch (error) {
      expect(error).toBeInstanceOf(TranslateError);
      expect((error as TranslateError).code).toBe('gcp.parallel-depth');
      refused.push(seed);
      return;
    }
    const local = await runCaseLocal(ir, generated.scenario, c);
    expect(await runCaseGcp(ir, generated.scenario, c)).toEqual(local);
  });

  it('compares most of them', () => {
    expect(refused.length).toBeLessThan(SEEDS.length / 4);
  });
});
