// The deployed composition of the Azure Functions app (functions/azure/index.ts): the settings from the
// app settings (functions/azure/config.ts), and every port of AzureDeps on the Azure adapters — the tables
// (adapters/azure/*: AzureTables over STEPGATE_TABLES_ENDPOINT, a storage account's or a Cosmos DB for
// Table account's), the vault and the platform secrets (Key Vault), the result store (Blob Storage), the
// notifier (Communication Services or the SMTP relay), the DurableHost over the durable client, and the
// gallery beside the bundle.
//
// Decisions:
// - Every Azure client authenticates as the app's managed identity (DefaultAzureCredential, which reads
//   AZURE_CLIENT_ID for the user-assigned identity); STEPGATE_STORAGE_AUTH=development is Azurite's
//   published account key for the tables and blobs instead (a local run; never in a deployment: the
//   template sets managed-identity).
// - Each port is made on first use and kept for the instance; the approval store once per callback key.
//   A decision and its audit entry are one transaction in the run's partition (AzureApprovalStore's trail).
// - The notifier is made on the first send: with the smtp transport it reads the relay's URL from Key Vault.
import type { EmailClientOptions } from '@azure/communication-email';
import type { TokenCredential } from '@azure/core-auth';
import { AzureNamedKeyCredential } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { KeyClient, type KeyClientOptions } from '@azure/keyvault-keys';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AzureApprovalLinkStore } from '../../adapters/azure/approval-link-store.js';
import { AzureApprovalStore } from '../../adapters/azure/approval-store.js';
import { AzureRunAudit } from '../../adapters/azure/audit.js';
import { AzureDirectory } from '../../adapters/azure/directory.js';
import { type AzureDurableClient, AzureDurableHost } from '../../adapters/azure/durable-host.js';
import {
  currentSecretText,
  platformSecret,
  platformSecretText,
} from '../../adapters/azure/platform-secrets.js';
import { AzureRateLimiter } from '../../adapters/azure/rate-limiter.js';
import { BlobResultStore } from '../../adapters/azure/result-store.js';
import { AzureRunStore } from '../../adapters/azure/run-store.js';
import { AzureScheduleStore } from '../../adapters/azure/schedule-store.js';
import { AzureApiTokenStore, AzureSessionStore } from '../../adapters/azure/session-store.js';
import { AzureTables } from '../../adapters/azure/tables.js';
import { KeyVaultVault } from '../../adapters/azure/vault.js';
import { AzureWebhookDeliveryStore } from '../../adapters/azure/webhook-store.js';
import { AzureWorkflowStore } from '../../adapters/azure/workflow-store.js';
import { ChannelNotifier } from '../core/notify/notifier.js';
import { createSsrfGuard } from '../core/notify/ssrf.js';
import { INSTANCE_CLOCK, lazy, perInstance } from '../core/per-instance.js';
import type { Clock } from '../core/ports.js';
import { bundledGallery } from '../core/template-gallery.js';
import type { AzureConfig } from './config.js';
import type { AzureDeps } from './deps.js';
import { azureEmail } from './mailer.js';

/** Azurite's one account and its key, published by Microsoft for the emulator (not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** What a test may give the composition instead of what it makes from the config. */
export interface AzureSeams {
  /** The credential of every Azure client; absent: the managed identity (DefaultAzureCredential). */
  credential?: TokenCredential;
  /** Where the template gallery is (its `templates/` folder); absent: beside the bundle. */
  galleryDir?: string;
  /** Pipeline options of the Key Vault and ACS clients (a test's fake: its certificate, no retries). */
  keyVaultKeys?: KeyClientOptions;
  keyVaultSecrets?: SecretClientOptions;
  acs?: EmailClientOptions;
  clock?: Clock;
}

/** The table and blob clients' credentials: the identity, or Azurite's key (see the top). */
function storageCredentials(config: AzureConfig, identity: () => TokenCredential) {
  if (config.storageAuth === 'development')
    return {
      tables: new AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      blobs: new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      insecure: new URL(config.tablesEndpoint).protocol === 'http:',
    };
  return { tables: identity(), blobs: identity(), insecure: false };
}

/** The app's deps over the Azure adapters (see the top). */
export function azureDeps(config: AzureConfig, seams: AzureSeams = {}): AzureDeps {
  const clock = seams.clock ?? INSTANCE_CLOCK;
  const identity = lazy(() => seams.credential ?? new DefaultAzureCredential());
  const storage = lazy(() => storageCredentials(config, identity));
  const tables = lazy(
    () =>
      new AzureTables({
        endpoint: config.tablesEndpoint,
        credential: storage().tables,
        prefix: config.tablePrefix,
        allowInsecureConnection: storage().insecure,
      }),
  );
  const secretClient = lazy(() => new SecretClient(config.keyVaultUrl, identity(), seams.keyVaultSecrets));
  const trail = lazy(() => new AzureRunAudit(tables()));
  const records = lazy(() => new AzureRunStore(tables(), trail()));
  const vault = lazy(
    () =>
      new KeyVaultVault(
        tables(),
        new KeyClient(config.keyVaultUrl, identity(), seams.keyVaultKeys),
        config.vaultKey,
      ),
  );
  const notifier = perInstance(async () => {
    const relayUrl =
      config.emailTransport === 'smtp' && config.smtpRelaySecret !== undefined
        ? await platformSecretText(secretClient(), config.smtpRelaySecret, 'the SMTP relay URL')
        : undefined;
    const email = azureEmail(config, {
      credential: identity(),
      ...(relayUrl === undefined ? {} : { relayUrl }),
      ...(seams.acs === undefined ? {} : { acsClientOptions: seams.acs }),
    });
    return new ChannelNotifier({
      vault: vault(),
      ssrf: createSsrfGuard(),
      clock,
      config: { email: email.email },
      ...email.deps,
    });
  });
  const deliveries = lazy(() => new AzureWebhookDeliveryStore(tables(), clock));
  const limiter = lazy(() => new AzureRateLimiter(tables()));
  const sessions = lazy(() => new AzureSessionStore(tables(), { now: () => clock.now() }));
  const linkStore = lazy(() => new AzureApprovalLinkStore(tables()));
  const approvalStores = new Map<string, AzureApprovalStore>();
  const hosts = new Map<AzureDurableClient, AzureDurableHost>();
  return {
    config,
    clock,
    workflows: lazy(() => new AzureWorkflowStore(tables())),
    sessions,
    tokens: lazy(() => new AzureApiTokenStore(tables(), { now: () => clock.now() })),
    directory: lazy(() => new AzureDirectory(tables())),
    deliveries,
    limiter,
    approvalStore: (callbackKey) => {
      const id = Buffer.from(callbackKey).toString('hex');
      const made =
        approvalStores.get(id) ?? new AzureApprovalStore(tables(), { callbackKey, trail: trail(), clock });
      approvalStores.set(id, made);
      return made;
    },
    linkStore,
    schedules: lazy(() => new AzureScheduleStore(tables())),
    vault,
    results: lazy(
      () =>
        new BlobResultStore(
          new ContainerClient(`${config.blobEndpoint}/${config.resultsContainer}`, storage().blobs),
        ),
    ),
    notifier: () => ({ send: async (request) => (await notifier()).send(request) }),
    records,
    trail,
    housekeeping: () => ({
      deliveries: deliveries(),
      limiter: limiter(),
      links: linkStore(),
      sessions: sessions(),
    }),
    host: (client) => {
      const made =
        hosts.get(client) ?? new AzureDurableHost({ client, records: records(), trail: trail(), clock });
      hosts.set(client, made);
      return made;
    },
    platformSecret: () => platformSecret(secretClient(), config.platformSecret),
    secrets: () => ({
      read: (name) => currentSecretText(secretClient(), name, 'a named secret'),
    }),
    templates: bundledGallery(seams.galleryDir ?? import.meta.dirname),
  };
}
