// The template gallery on AWS. The bundles of the functions that need it (api) carry the repository's
// templates/ folder beside index.mjs (the CDK's bundling hook and scripts/bundle-lambdas.ts copy it); run
// from the sources (tests), the repository's own folder is read. Installing a template saves it through the
// API's workflow store, which deploys its state machine first: the stack's setup step installs them at
// deploy time, and an API container installs any that is missing (a template added by an upgrade). Reading
// and installing are functions/core/template-gallery.ts's, as for the local server.
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { Clock, WorkflowStore } from '../core/ports.js';
import { bundledGallery, installMissing } from '../core/template-gallery.js';

/** The gallery's templates, read and validated (an invalid one is an error: it shipped broken). */
export function galleryTemplates(): TemplateEntry[] {
  return bundledGallery(import.meta.dirname);
}

/** Saves (and so deploys) every template not installed yet, as the system's; answers the ids installed. */
export function installTemplates(
  templates: TemplateEntry[],
  workflows: WorkflowStore,
  clock: Pick<Clock, 'now'>,
): Promise<string[]> {
  return installMissing(templates, workflows, clock);
}
