// The `setup` Lambda, run once per deployment by the stack (a CDK Trigger, after everything it needs
// exists): installs the gallery's templates that are not installed yet — each saved through the deploying
// workflow store, so its state machine is created, validated and published — and, when the directory has
// no user yet and the stack names one (STEPGATE_ADMIN_EMAIL), the first admin with the password the stack
// generated in Secrets Manager (STEPGATE_ADMIN_PASSWORD_ARN; read it with `aws secretsmanager
// get-secret-value`); and records what decided the path of runs that completed before run records kept it
// (StepFunctionsHost.recordPathOutcomes: the run list reads no trail). Running it again changes nothing
// that exists.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { ENV, loadAwsConfig, required } from './config.js';
import { AwsPorts } from './ports.js';
import { AwsRuns } from './runs.js';
import { galleryTemplates, installTemplates } from './templates.js';

export interface SetupResult {
  templates: string[];
  admin: string | null;
  /** How many earlier completed runs got what decided their path recorded. */
  pathOutcomes: number;
}

/**
 * Installs the missing templates and, into an empty directory, the first admin; records the earlier runs'
 * path outcomes.
 */
export async function setUp(ports: AwsPorts, runs = new AwsRuns(ports)): Promise<SetupResult> {
  const templates = await installTemplates(galleryTemplates(), runs.workflows(), ports.clock);
  const admin = await firstAdmin(ports);
  return { templates, admin, pathOutcomes: await earlierOutcomes(runs) };
}

/** Creates the first admin in an empty directory when the stack names one; answers its email, or null. */
async function firstAdmin(ports: AwsPorts): Promise<string | null> {
  const directory = ports.directory();
  const email = ports.config.adminEmail;
  if (email === undefined || (await directory.listUsers()).length > 0) return null;
  const secret = await ports
    .secrets()
    .send(new GetSecretValueCommand({ SecretId: required(ports.config, 'adminPasswordArn') }));
  if (secret.SecretString === undefined || secret.SecretString.length < 12)
    throw new Error(
      `the first admin's password secret (${ENV.adminPasswordArn}) holds no password of 12 characters or more`,
    );
  await directory.upsertUser({ email, name: 'Administrator', role: 'admin' });
  await directory.setPassword(email, secret.SecretString);
  return email;
}

/**
 * Records the path outcomes of runs completed before run records kept them. Last, and never failing the
 * deploy: a run it could not read (a throttled GetExecutionHistory) lists without its outcome until the
 * next deploy records it.
 */
async function earlierOutcomes(runs: AwsRuns): Promise<number> {
  try {
    return await runs.host().recordPathOutcomes();
  } catch (error) {
    console.warn(`setup: the earlier runs' outcomes were not all recorded: ${(error as Error).message}`);
    return 0;
  }
}

export const handler = middy(async () => setUp(new AwsPorts(loadAwsConfig(process.env, 'setup'))));
