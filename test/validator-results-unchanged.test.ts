// The validator's results pinned: test/fixtures/validator-results.json holds what the validator as of
// commit 76a6044 (before the issue-18 speed-ups) reported for each input of test/support/validator-inputs.ts
// — every diagnostic in full, each IR by digest. A faster validator must report exactly the same.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { validateWorkflow } from '../translator/validate.js';
import { outcomeOf, type ValidatorOutcome, validatorInputs } from './support/validator-inputs.js';

const PINNED = fileURLToPath(new URL('./fixtures/validator-results.json', import.meta.url));

test('every pinned definition gives the diagnostics and IR it gave before', () => {
  const pinned = JSON.parse(readFileSync(PINNED, 'utf8')) as ValidatorOutcome[];
  const inputs = validatorInputs();
  expect(inputs.map((i) => i.name)).toEqual(pinned.map((p) => p.name));
  const now = inputs.map((i) => outcomeOf(i.name, validateWorkflow(i.text, i.format)));
  for (const [i, outcome] of now.entries()) expect(outcome, outcome.name).toEqual(pinned[i]);
  // The set is varied enough to mean something: errors and warnings of many kinds, and valid ones.
  const codes = new Set(pinned.flatMap((p) => p.diagnostics.map((d) => (d as { code: string }).code)));
  expect(codes.size).toBeGreaterThan(20);
  expect(pinned.filter((p) => p.valid).length).toBeGreaterThan(10);
});
