// The GCP deployment's setup, run by the `api` function before it serves its instance's first request (GCP
// has no deploy-time hook as the AWS stack's Trigger is): the gallery's templates that are not installed
// yet, each saved through the deploying workflow store so its GCP workflow is created first
// (functions/core/template-gallery.ts, as locally and on AWS); the first admin (STEPGATE_ADMIN_EMAIL) with
// the password held in Secret Manager (STEPGATE_ADMIN_PASSWORD_SECRET) when the directory has no enabled
// admin; then SyncedScheduleStore.resync(), so the Cloud Scheduler jobs match the stored schedules (a
// redeploy may move schedule-fire's URL or the scheduler's service account). Running it again changes
// nothing that exists.
//
// Decisions:
// - An existing admin is never touched. When there is none and the named email is already a user, it is
//   made an admin (its name, groups and manager kept, enabled) and its own password kept; the secret's
//   password is set only on a user that has none. The secret is read before anything is written: an
//   unreadable or short password makes no admin.
// - Once per instance, and never a 500 forever: setupOnFirstRequest runs it before the first request,
//   concurrent requests wait on the same run, and a failure is logged (the error names the secret or the
//   setting; never a secret's value) and the request served anyway. It is tried again on a request at least
//   RETRY_MS after the failure: a persistent failure costs one attempt a minute per instance, not one per
//   request. Every instance runs it (Cloud Run has no "first instance"): the steps are idempotent, and two
//   instances racing over one template save it twice at worst (two versions of the same definition, which
//   share their GCP workflow).
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { platformSecretText } from '../../adapters/gcp/platform-secrets.js';
import { errorMessage } from '../../translator/util.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { AdminDirectory, Clock } from '../core/ports.js';
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

/** The shortest first-admin password the secret may hold. */
export const MIN_ADMIN_PASSWORD = 12;

/** Installs the missing templates, makes the first admin when there is none, resyncs the schedules' jobs. */
export async function setUp(parts: GcpSetupParts): Promise<GcpSetupResult> {
  const { ports, runs } = parts;
  const templates = await installMissing(parts.templates, runs.deployingWorkflows(), ports.clock);
  const admin = await firstAdmin(ports.directory(), ports.config, runs.secrets());
  const schedules = await runs.scheduleStore().resync();
  return { templates, admin, schedules };
}

/** Makes STEPGATE_ADMIN_EMAIL an admin when the directory has no enabled admin (see the top). */
async function firstAdmin(
  directory: AdminDirectory,
  config: GcpConfig,
  secrets: SecretManagerServiceClient,
): Promise<string | null> {
  const email = config.adminEmail;
  if (email === undefined) return null;
  const users = await directory.listUsers();
  if (users.some((user) => user.role === 'admin' && !user.disabled)) return null;
  const existing = users.find((user) => user.email.toLowerCase() === email.toLowerCase());
  if (existing?.service === true)
    throw new Error(`${ENV.adminEmail} names ${existing.email}, a service account: nobody can log in as it`);
  const password = existing?.hasPassword ? undefined : await adminPassword(config, secrets);
  await directory.upsertUser({
    email: existing?.email ?? email,
    name: existing?.name ?? 'Administrator',
    role: 'admin',
    groups: existing?.groups ?? [],
    manager: existing?.manager ?? null,
    disabled: false,
  });
  if (password !== undefined) await directory.setPassword(existing?.email ?? email, password);
  return existing?.email ?? email;
}

/** The first admin's password from Secret Manager; errors name the secret and its variable, never the value. */
async function adminPassword(config: GcpConfig, secrets: SecretManagerServiceClient): Promise<string> {
  const secret = required(config, 'adminPasswordSecret');
  const what = `the first admin's password (${ENV.adminPasswordSecret})`;
  const password = await platformSecretText(secrets, secret, what);
  if (password.length < MIN_ADMIN_PASSWORD)
    throw new Error(
      `${what} (secret ${secret}) is shorter than ${MIN_ADMIN_PASSWORD} characters: add a longer version`,
    );
  return password;
}

/** How long after a failed setup the next request tries again. */
export const RETRY_MS = 60_000;

/**
 * `run` once per instance, awaited before a request is served (see the top): resolves when it is done,
 * when it failed (logged), or at once while a failure is younger than `retryMs`. Never rejects.
 */
export function setupOnFirstRequest(
  run: () => Promise<unknown>,
  options: { clock: Pick<Clock, 'now'>; retryMs?: number; log?: (message: string) => void },
): () => Promise<void> {
  const log = options.log ?? ((message: string) => console.error(message));
  let done = false;
  let running: Promise<void> | undefined;
  let failedAt: number | undefined;
  return () => {
    if (done) return Promise.resolve();
    if (running !== undefined) return running;
    if (failedAt !== undefined && options.clock.now() - failedAt < (options.retryMs ?? RETRY_MS))
      return Promise.resolve();
    running = run().then(
      () => {
        done = true;
        running = undefined;
      },
      (error: unknown) => {
        failedAt = options.clock.now();
        running = undefined;
        log(`setup failed (tried again on a later request): ${errorMessage(error)}`);
      },
    );
    return running;
  };
}
