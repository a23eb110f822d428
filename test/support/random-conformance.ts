// The random-workflow conformance suite, one per compile target: 200 random valid workflows
// (test/support/random-workflow.ts: every step kind, retries, escalations, nested parallels with quorums,
// cancellations and timeouts, answers per step) must observe on the target exactly what they observe on
// the embedded engine — compared as conformanceView does (per lane inside parallels, as scenarios are).
// A workflow a target cannot take must be refused with the TranslateError `refusal` names, never
// compiled wrong.
import { describe, expect, it } from 'vitest';
import { conformanceView, type Observation } from '../../testing/observation.js';
import { runCaseLocal } from '../../testing/run-local.js';
import type { Scenario, ScenarioCase } from '../../testing/scenario.js';
import { TranslateError } from '../../translator/emit/errors.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';
import { randomWorkflow } from './random-workflow.js';

export const RANDOM_SEEDS = Array.from({ length: 200 }, (_, i) => 1_000 + i);

export function randomConformance(
  target: string,
  run: (ir: IrWorkflow, scenario: Scenario, c: ScenarioCase) => Promise<Observation>,
  options: {
    compile?: (ir: IrWorkflow) => unknown;
    refusal?: string;
    /** Runs the seeds a few at a time (vitest's maxConcurrency): for a target whose cases wait on a network. */
    concurrent?: boolean;
  } = {},
): void {
  const refused: number[] = [];
  const each = options.concurrent === true ? it.concurrent.for(RANDOM_SEEDS) : it.for(RANDOM_SEEDS);
  describe(`random workflows on the ${target} target`, () => {
    // The test's own expect: concurrent seeds each report to theirs.
    each('seed %i: the same observation as local', async (seed, { expect }) => {
      const generated = randomWorkflow(seed);
      const ir = validateWorkflow(generated.yaml).ir;
      const c = generated.scenario.cases[0];
      if (ir === undefined || c === undefined) throw new Error('no IR');
      try {
        options.compile?.(ir);
      } catch (error) {
        expect(error).toBeInstanceOf(TranslateError);
        expect((error as TranslateError).code).toBe(options.refusal);
        refused.push(seed);
        return;
      }
      const local = await runCaseLocal(ir, generated.scenario, c);
      const seen = await run(ir, generated.scenario, c);
      expect(conformanceView(seen, ir)).toEqual(conformanceView(local, ir));
    });

    it('compares most of them', () => {
      expect(refused.length).toBeLessThan(RANDOM_SEEDS.length / 4);
    });
  });
}
