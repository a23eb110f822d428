// The definitions whose validation results test/validator-results-unchanged.test.ts pins: the corpus
// fixtures (valid and invalid) and deterministic damage to a generated 60-step definition (each third
// line removed in turn, ids and templates broken), so that a speed-up of the validator can be shown to
// leave every diagnostic and every IR as it was.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateYaml } from '../../bench/generate.js';

export interface ValidatorInput {
  name: string;
  format: 'yaml' | 'json';
  text: string;
}

/** What a validation is compared by: the diagnostics in full, the IR by digest. */
export interface ValidatorOutcome {
  name: string;
  valid: boolean;
  diagnostics: unknown[];
  ir?: string;
}

const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

export function validatorInputs(): ValidatorInput[] {
  const inputs: ValidatorInput[] = [];
  for (const dir of ['invalid', 'valid']) {
    for (const file of readdirSync(join(FIXTURES, dir)).sort()) {
      if (!/\.(ya?ml|json)$/.test(file)) continue;
      const text = readFileSync(join(FIXTURES, dir, file), 'utf8');
      inputs.push({ name: `${dir}/${file}`, format: file.endsWith('.json') ? 'json' : 'yaml', text });
    }
  }
  const base = generateYaml(60);
  inputs.push({ name: 'generated-60', format: 'yaml', text: base });
  const lines = base.split('\n');
  for (let i = 0; i < lines.length; i += 3) {
    const text = [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n');
    inputs.push({ name: `generated-60 without line ${i + 1}`, format: 'yaml', text });
  }
  const damage: Array<[string, string]> = [
    ['then: s2', 'then: s2x'],
    ['{{amount}}', '{{amounts}}'],
    ['{{trigger.user.email}}', '{{trigger.user.mail}}'],
    ['id: s7', 'id: s6'],
    ['type: tool', 'type: tol'],
    ['{{s0.ok}}', '{{s6.ok}}'],
    ['else: s8', 'else: s10'],
    ['failed: {{run.id}}', 'failed: {{error.message}}'],
    ['{{s2.approved}}', '{{s3_b1.value}}'],
  ];
  for (const [from, to] of damage) {
    inputs.push({ name: `generated-60 with ${to}`, format: 'yaml', text: base.replace(from, to) });
  }
  return inputs;
}

export function outcomeOf(
  name: string,
  result: { valid: boolean; diagnostics: unknown[]; ir?: unknown },
): ValidatorOutcome {
  const ir =
    result.ir === undefined
      ? undefined
      : createHash('sha256').update(JSON.stringify(result.ir)).digest('hex');
  return { name, valid: result.valid, diagnostics: result.diagnostics, ...(ir ? { ir } : {}) };
}
