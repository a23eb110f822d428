// The GCP deployment's setup, run by the `api` function before it serves its instance's first request (GCP
// has no deploy-time hook as the AWS stack's Trigger is): the gallery's templates that are not installed
// yet, each saved through the deploying workflow store so its GCP workflow is created first
// (functions/core/template-gallery.ts, as locally and on AWS); the first admin (STEPGATE_ADMIN_EMAIL) with
// the password held in Secret Manager (STEPGATE_ADMIN_PASSWORD_SECRET) when the directory has no enabled
// admin; then SyncedScheduleStore.resync(), so the Cloud Scheduler jobs match the stored schedules (a
// redeploy may move schedule-fire's URL or the scheduler's service account). Running it again changes
// nothing that exists.
//
// The first admin is made as functions/core/first-admin.ts decides (an existing admin never touched, the
// secret read before anything is written). The setup runs once per instance before the first request
// (setupOnFirstRequest, functions/core/per-instance.ts): every instance runs it (Cloud Run has no "first
// instance"): the steps are idempotent, and two instances racing over one template save it twice at worst
// (two versions of the same definition, which share their GCP workflow).
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { platformSecretText } from '../../adapters/gcp/platform-secrets.js';
import { ensureFirstAdmin } from '../core/first-admin.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { AdminDirectory } from '../core/ports.js';
import { installMissing } from '../core/template-gallery.js';
import { ENV, type GcpConfig, required } from './config.js';
import type { GcpPorts } from './ports.js';
import type { GcpRuns } from './runs.js';

export interface GcpSetupResult {
  /** The templates installed (deployed) by this run. */
  templates: string[];
  /** The admin made by this run, or null. */
  admin: string | null;
  /** The schedules whose Cloud Scheduler job was missing and was created. */
  schedules: string[];
}

export interface GcpSetupParts {
  ports: GcpPorts;
  runs: Pick<GcpRuns, 'deployingWorkflows' | 'scheduleStore' | 'secrets'>;
  templates: TemplateEntry[];
}

/** Installs the missing templates, makes the first admin when there is none, resyncs the schedules' jobs. */
export async function setUp(parts: GcpSetupParts): Promise<GcpSetupResult> {
  const { ports, runs } = parts;
  const templates = await installMissing(parts.templates, runs.deployingWorkflows(), ports.clock);
  const admin = await firstAdmin(ports.directory(), ports.config, runs.secrets());
  const schedules = await runs.scheduleStore().resync();
  return { templates, admin, schedules };
}

/** The first admin, its password from Secret Manager (see the top). */
function firstAdmin(
  directory: AdminDirectory,
  config: GcpConfig,
  secrets: SecretManagerServiceClient,
): Promise<string | null> {
  const what = `the first admin's password (${ENV.adminPasswordSecret})`;
  return ensureFirstAdmin(directory, {
    email: config.adminEmail,
    emailSetting: ENV.adminEmail,
    passwordName: `${what} (secret ${config.adminPasswordSecret})`,
    password: () => platformSecretText(secrets, required(config, 'adminPasswordSecret'), what),
  });
}
