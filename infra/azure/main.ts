// Writes the Azure template (infra/azure/stack.ts) as ARM JSON: `npx tsx infra/azure/main.ts --out <dir>`
// (`npm run synth:azure` writes infra/azure/out/azuredeploy.json). Same source, same bytes. Then
// `az deployment group create --resource-group <group> --template-file <dir>/azuredeploy.json --parameters ...`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { azureTemplate } from './stack.js';

export const TEMPLATE_FILE = 'azuredeploy.json';

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (values.out === undefined) throw new Error('usage: tsx infra/azure/main.ts --out <directory>');
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, TEMPLATE_FILE), azureTemplate().text());
  console.log(`wrote ${join(out, TEMPLATE_FILE)}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
