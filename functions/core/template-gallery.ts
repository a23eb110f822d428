// The template gallery: the workflow definitions shipped in templates/ beside the code, read and validated,
// and the install of each one not published yet, as the system's. Written once for the local server (on
// every start) and the AWS deployment (its setup step), which had a copy each. What is installed here is
// the template itself, under its own id and with its chat aliases; a copy beside an installed one is the
// install route's (functions/core/http/template-routes.ts), and has no aliases until the user gives some.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatOf, validateWorkflow } from '../../translator/validate.js';
import { SYSTEM_PUBLISHER } from './delegation.js';
import type { TemplateEntry } from './http/template-routes.js';
import type { Clock, WorkflowStore } from './ports.js';

/** The first of `folders` that holds the gallery (it has expense-approval.yaml), or undefined. */
export function galleryFolder(folders: readonly string[]): string | undefined {
  return folders.find((dir) => existsSync(join(dir, 'expense-approval.yaml')));
}

/**
 * The gallery a cloud function reads: beside its bundle (`<dir>/templates`, copied there by the bundling
 * script), or, run from the sources (tests), the repository's, two levels up from the function's folder.
 * Missing, an error naming where it looked.
 */
export function bundledGallery(dir: string): TemplateEntry[] {
  const folders = [resolve(dir, 'templates'), resolve(dir, '..', '..', 'templates')];
  const folder = galleryFolder(folders);
  if (folder === undefined)
    throw new Error(`the template gallery is missing (looked in ${folders.join(', ')})`);
  return readGallery(folder);
}

/** The gallery's templates in `folder`, read and validated (an invalid one is an error: it shipped broken). */
export function readGallery(folder: string): TemplateEntry[] {
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

/** Saves every template not published yet as the system's; answers the ids installed. */
export async function installMissing(
  templates: TemplateEntry[],
  workflows: Pick<WorkflowStore, 'get' | 'save'>,
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
