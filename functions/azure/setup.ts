// The Azure deployment's setup, run by the HTTP catch-all before it serves its instance's first request
// (a Functions app has no deploy-time hook as the AWS stack's Trigger is): the gallery's templates that are
// not installed yet (functions/core/template-gallery.ts, as everywhere), and the first admin
// (STEPGATE_ADMIN_EMAIL) with the password held in the Key Vault secret STEPGATE_ADMIN_PASSWORD_SECRET names,
// when the directory has no enabled admin (functions/core/first-admin.ts decides how). Running it again
// changes nothing that exists.
//
// Once per instance, awaited by concurrent first requests alike, a failure logged and retried a minute
// later (setupOnFirstRequest, functions/core/per-instance.ts). Every instance runs it (a Functions app has
// no "first instance"): the steps are idempotent, and two instances racing over one template save it twice
// at worst (two versions of the same definition); of two racing over the first admin, the directory's
// writes are upserts of the same user.
import { ensureFirstAdmin } from '../core/first-admin.js';
import { installMissing } from '../core/template-gallery.js';
import { ENV } from './config.js';
import type { AzureDeps } from './deps.js';

export interface AzureSetupResult {
  /** The templates installed by this run. */
  templates: string[];
  /** The admin made by this run, or null. */
  admin: string | null;
}

/** Installs the missing templates and makes the first admin when there is none. */
export async function setUp(deps: AzureDeps): Promise<AzureSetupResult> {
  const templates = await installMissing(deps.templates, deps.workflows(), deps.clock);
  const { config } = deps;
  const secret = config.adminPasswordSecret;
  const admin = await ensureFirstAdmin(deps.directory(), {
    email: config.adminEmail,
    emailSetting: ENV.adminEmail,
    passwordName: `the first admin's password (${ENV.adminPasswordSecret}, Key Vault secret ${secret})`,
    password: async () => {
      // loadAzureConfig refuses the email without the secret: this is for a hand-made config.
      if (secret === undefined) throw new Error(`${ENV.adminPasswordSecret} is not set`);
      return deps.secrets().read(secret);
    },
  });
  return { templates, admin };
}
