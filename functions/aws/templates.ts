// The template gallery on AWS. The bundles of the functions that need it (api) carry the repository's
// templates/ folder beside index.mjs (the CDK's bundling hook and scripts/bundle-lambdas.ts copy it); run
// from the sources (tests), the repository's own folder is read. Installing a template saves it through the
// API's workflow store, which deploys its state machine first: the stack's setup step installs them at
// deploy time, and an API container installs any that is missing (a template added by an upgrade).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatOf, validateWorkflow } from '../../translator/validate.js';
import { SYSTEM_PUBLISHER } from '../core/delegation.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { Clock, WorkflowStore } from '../core/ports.js';

/** Beside the bundle, or the repository's folder two levels up from the sources. */
const FOLDERS = [
  resolve(import.meta.dirname, 'templates'),
  resolve(import.meta.dirname, '..', '..', 'templates'),
];

/** The gallery's templates, read and validated (an invalid one is an error: it shipped broken). */
export function galleryTemplates(): TemplateEntry[] {
  const folder = FOLDERS.find((dir) => existsSync(join(dir, 'expense-approval.yaml')));
  if (folder === undefined)
    throw new Error(`the template gallery is missing (looked in ${FOLDERS.join(', ')})`);
  const entries: TemplateEntry[] = [];
  for (const file of readdirSync(folder).sort()) {
    if (!/\.(ya?ml|json)$/.test(file) || file.includes('.test.')) continue;
    const source = readFileSync(join(folder, file), 'utf8');
    const format = formatOf(file);
    const { ir, diagnostics } = validateWorkflow(source, format);
    if (ir === undefined)
      throw new Error(`template ${file} is invalid: ${diagnostics.map((d) => d.message).join('; ')}`);
    entries.push({ id: ir.id, name: ir.name, source, format });
  }
  return entries;
}

/** Saves (and so deploys) every template not installed yet, as the system's; answers the ids installed. */
export async function installTemplates(
  templates: TemplateEntry[],
  workflows: WorkflowStore,
  clock: Pick<Clock, 'now'>,
): Promise<string[]> {
  const installed: string[] = [];
  for (const template of templates) {
    if ((await workflows.get(template.id)) !== undefined) continue;
    const { ir } = validateWorkflow(template.source, template.format);
    if (ir === undefined) continue;
    await workflows.save({
      ir,
      source: template.source,
      format: template.format,
      by: SYSTEM_PUBLISHER,
      at: clock.now(),
    });
    installed.push(template.id);
  }
  return installed;
}
