// Writes the GCP stack (infra/gcp/stack.ts) as Terraform JSON: `npx tsx infra/gcp/main.ts --out <dir>`
// (`npm run synth:gcp` writes infra/gcp/out) — `variables.tf.json` with the inputs, `main.tf.json` with
// everything else. Same source, same bytes. Then `terraform -chdir=<dir> init` and `apply`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gcpStack } from './stack.js';
import type { Body } from './terraform.js';

/** The files of the stack, by name: its variables apart from the rest. */
export function synthFiles(document: Body): Record<string, string> {
  const { variable, ...main } = document;
  const text = (body: Body) => `${JSON.stringify(body, null, 2)}\n`;
  return { 'main.tf.json': text(main), 'variables.tf.json': text({ variable: variable ?? {} }) };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (values.out === undefined) throw new Error('usage: tsx infra/gcp/main.ts --out <directory>');
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(synthFiles(gcpStack().toJSON()))) {
    writeFileSync(join(out, name), text);
    console.log(`wrote ${join(out, name)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
