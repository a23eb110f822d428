// What the Azure app's tests run it on: AzureDeps (functions/azure/deps.ts) composed over the local
// adapters — the SQLite stores on the embedded engine's database and the embedded engine as the
// DurableHost — in ONE function, testAzureDeps, which the integrator switches to the Azure adapters on
// Azurite once they are merged. Mail goes through a real SMTP conversation to the development inbox.
//
// The embedded engine runs the workflows with its own activities, so the approval emails its requests send
// are made here as the Azure activities make them (functions/azure/services.ts azureApprovals): signed links
// with the key the platform secret derives, spent nonces in the same link store, so the API's link pages
// (the functions under test) verify them. The host records every durable client it is given (the one
// Durable Functions builds from the invocation's `durableClient` input), so a test sees the binding used.
import { randomBytes } from 'node:crypto';
import type { DurableClient } from 'durable-functions';
import { SqliteApprovalLinkStore } from '../../adapters/local/approval-link-store.js';
import { SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { SystemClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteResultStore } from '../../adapters/local/result-store.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { type AzureConfig, ENV, loadAzureConfig } from '../../functions/azure/config.js';
import type { AzureDeps } from '../../functions/azure/deps.js';
import { ApprovalLinks, linkNotifier } from '../../functions/core/approval-links.js';
import type { ApprovalNotifier } from '../../functions/core/approvals.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import type { TemplateEntry } from '../../functions/core/http/template-routes.js';
import { ChannelNotifier } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard } from '../../functions/core/notify/ssrf.js';
import { lazy } from '../../functions/core/per-instance.js';
import { approvalKeys } from '../../functions/core/platform-keys.js';
import type { ScheduleStore } from '../../functions/core/ports.js';

export const PUBLIC_URL = 'https://stepgate.example.net';

/** The app settings as the infrastructure sets them (names of Key Vault secrets, never values), `extra` on top. */
export function testAzureConfig(extra: Record<string, string> = {}): AzureConfig {
  return loadAzureConfig({
    [ENV.tablesEndpoint]: 'https://stepgatetest.table.core.windows.net',
    [ENV.blobEndpoint]: 'https://stepgatetest.blob.core.windows.net',
    [ENV.keyVaultUrl]: 'https://stepgate-test.vault.azure.net',
    [ENV.vaultKey]: 'vault-key',
    [ENV.platformSecret]: 'platform-secret',
    [ENV.emailTransport]: 'smtp',
    [ENV.smtpRelaySecret]: 'smtp-relay',
    [ENV.emailFrom]: 'stepgate@example.net',
    [ENV.publicUrl]: PUBLIC_URL,
    [ENV.adminEmail]: 'root@example.net',
    [ENV.adminPasswordSecret]: 'admin-password',
    ...extra,
  });
}

/** A clock whose time a test may set (`at`); the system's otherwise. */
export class SettableClock extends SystemClock {
  at: number | undefined;
  override now(): number {
    return this.at ?? Date.now();
  }
}

export interface AzureTestWorld {
  engine: EmbeddedEngine;
  inbox: SmtpInbox;
  config: AzureConfig;
  clock: SettableClock;
  /** Key Vault secrets by name (the `secrets` port reads them), and the names read, in order. */
  secrets: Map<string, string>;
  secretReads: string[];
  /** The durable clients the hosts were made from, in order. */
  clients: DurableClient[];
  /**
   * One instance's deps: each call makes new port objects over the same database (another instance).
   * `schedules` may wrap the instance's schedule store (a race test holds its reads at a barrier).
   */
  instance(wrap?: { schedules?(store: ScheduleStore): ScheduleStore }): AzureDeps;
  close(): Promise<void>;
}

/** The Azure app's deps over the local adapters (see the top): the ONE place the tests compose them. */
export async function testAzureDeps(
  options: { templates?: TemplateEntry[]; config?: AzureConfig } = {},
): Promise<AzureTestWorld> {
  const config = options.config ?? testAzureConfig();
  const clock = new SettableClock();
  const platformSecret = randomBytes(32);
  const inboxDb = openDatabase(':memory:');
  const inbox = await startSmtpInbox({ db: inboxDb });
  const late: { approvalNotifier?: ApprovalNotifier; notifier?: ChannelNotifier } = {};
  const engine = createEmbeddedEngine({
    file: ':memory:',
    clock,
    directory: {
      user: (email) => new SqliteDirectory(engine.db).user(email),
      resolve: (spec) => new SqliteDirectory(engine.db).resolve(spec),
    },
    tools: {
      call: async () => {
        throw new Error('the Azure app tests run workflows without tool steps');
      },
    },
    notifier: { send: (request) => (late.notifier as ChannelNotifier).send(request) },
    approvalNotifier: {
      requested: (record) => (late.approvalNotifier as ApprovalNotifier).requested(record),
    },
  });
  const { db } = engine;
  const recordAudit = async (runId: string, entry: AuditEntry) => engine.host.recordAudit(runId, entry);
  const vaultKey = randomBytes(32);
  const directory = new SqliteDirectory(db);
  const notifier = new ChannelNotifier({
    vault: new SqliteVault(db, vaultKey),
    config: { email: { defaultUrl: inbox.url, from: config.emailFrom } },
    ssrf: createSsrfGuard(),
    clock,
  });
  late.notifier = notifier;
  late.approvalNotifier = linkNotifier({
    links: new ApprovalLinks({
      secret: approvalKeys(platformSecret).linkSecret,
      store: new SqliteApprovalLinkStore(db),
      approvals: engine.approvals,
      approvalStore: engine.store,
      recordAudit,
      clock,
      baseUrl: config.publicUrl,
    }),
    notifier,
    directory,
    recordAudit,
  });
  const secrets = new Map<string, string>();
  const secretReads: string[] = [];
  const clients: DurableClient[] = [];
  const instance = (wrap: { schedules?(store: ScheduleStore): ScheduleStore } = {}): AzureDeps => ({
    config,
    clock,
    workflows: lazy(() => new SqliteWorkflowStore(db)),
    sessions: lazy(() => new SqliteSessionStore(db)),
    tokens: lazy(() => new SqliteApiTokenStore(db)),
    directory: lazy(() => new SqliteDirectory(db)),
    deliveries: lazy(() => new SqliteWebhookDeliveryStore(db, clock)),
    limiter: lazy(() => new SqliteRateLimiter(db)),
    approvalStore: (callbackKey) => new SqliteApprovalStore(db, { callbackKey, recordAudit }),
    linkStore: lazy(() => new SqliteApprovalLinkStore(db)),
    schedules: lazy(() => {
      const store = new SqliteScheduleStore(db);
      return wrap.schedules?.(store) ?? store;
    }),
    vault: lazy(() => new SqliteVault(db, vaultKey)),
    results: lazy(() => new SqliteResultStore(db)),
    notifier: () => notifier,
    trail: () => ({
      append: recordAudit,
      appendBatch: async (batch) => {
        for (const { seq: _seq, at: _at, ...entry } of batch.entries) await recordAudit(batch.runId, entry);
      },
    }),
    host: (client) => {
      clients.push(client);
      return engine.host;
    },
    platformSecret: async () => platformSecret,
    secrets: () => ({
      read: async (name) => {
        secretReads.push(name);
        const value = secrets.get(name);
        if (value === undefined) throw new Error(`Key Vault secret ${name} not found`);
        return value;
      },
    }),
    templates: options.templates ?? [],
  });
  return {
    engine,
    inbox,
    config,
    clock,
    secrets,
    secretReads,
    clients,
    instance,
    close: async () => {
      await engine.host.close();
      await inbox.close();
      inboxDb.close();
      engine.db.close();
    },
  };
}
