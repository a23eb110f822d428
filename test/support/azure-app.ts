// What the Azure app's tests run it on: the deployed composition itself (functions/azure/deployment.ts
// azureDeps) over the stand-ins of what it reaches — Azurite for the tables and blobs (real wire protocol,
// ETags, transactions), the Key Vault fake (the vault's wrapping key, the platform secret, the first admin's
// password and the SMTP relay's URL, over checked TLS), a real SMTP inbox as the relay, and the Durable
// Functions extension's stand-in (test/support/durable-extension.ts) running each started orchestration
// with durable-functions' own replay and the app's real activities (functions/azure/services.ts
// activityPorts over the same deps). Each `instance()` is another function instance: new clients and
// ports over the same tables and vault.
import { randomBytes } from 'node:crypto';
import { ContainerClient } from '@azure/storage-blob';
import type { DurableClient } from 'durable-functions';
import { AzureTables } from '../../adapters/azure/tables.js';
import { openDatabase } from '../../adapters/local/database.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { createActivityHandlers } from '../../functions/azure/activities.js';
import { type AzureConfig, ENV, loadAzureConfig } from '../../functions/azure/config.js';
import { azureDeps } from '../../functions/azure/deployment.js';
import type { AzureDeps } from '../../functions/azure/deps.js';
import { activityPorts } from '../../functions/azure/services.js';
import type { TemplateEntry } from '../../functions/core/http/template-routes.js';
import type { Clock, DurableHost, ScheduleStore, TimerHandle } from '../../functions/core/ports.js';
import { type Azurite, startAzurite } from './azurite.js';
import { DurableExtension } from './durable-extension.js';
import { type KeyVaultFake, startKeyVaultFake } from './key-vault-fake.js';

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

/** The system's clock, whose time a test may set (`at`). */
export class SettableClock implements Clock {
  at: number | undefined;
  now(): number {
    return this.at ?? Date.now();
  }
  setTimer(at: number, fire: () => void): TimerHandle {
    return setTimeout(fire, Math.max(0, at - this.now())) as unknown as TimerHandle;
  }
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  }
}

export interface AzureTestWorld {
  azurite: Azurite;
  keyVault: KeyVaultFake;
  extension: DurableExtension;
  inbox: SmtpInbox;
  config: AzureConfig;
  clock: SettableClock;
  /** Key Vault secrets by name: `set` stores a new version in the fake. */
  secrets: { set(name: string, value: string): void };
  /** The Key Vault secrets read so far (`name`'s only, when given), in order. */
  secretReads(name?: string): string[];
  /** The durable clients the hosts were made from, in order. */
  clients: DurableClient[];
  /** The durable client binding's data the extension hands a function. */
  clientData(): Record<string, unknown>;
  /** A run host over the extension, as the API function makes it. */
  host(): DurableHost;
  /** Resolves once no orchestration has work in flight. */
  settle(): Promise<void>;
  /**
   * One instance's deps: each call makes new clients and ports over the same tables and vault (another
   * instance). `schedules` may wrap the instance's schedule store (a race test holds its reads at a barrier).
   */
  instance(wrap?: { schedules?(store: ScheduleStore): ScheduleStore }): AzureDeps;
  close(): Promise<void>;
}

let worlds = 0;

/** The Azure app's deps as deployed, over the stand-ins (see the top): the ONE place the tests compose them. */
export async function testAzureDeps(
  options: { templates?: TemplateEntry[]; extra?: Record<string, string> } = {},
): Promise<AzureTestWorld> {
  const azurite = await startAzurite();
  // A vault of its own per world: the platform secrets are cached per vault URL in a process.
  const keyVault = await startKeyVaultFake(`sg-test-${process.pid}-${++worlds}`);
  const inboxDb = openDatabase(':memory:');
  const inbox = await startSmtpInbox({ db: inboxDb });
  const prefix = azurite.freshPrefix();
  const config = testAzureConfig({
    [ENV.tablesEndpoint]: azurite.tableEndpoint,
    [ENV.tablePrefix]: prefix,
    [ENV.blobEndpoint]: azurite.blobEndpoint,
    [ENV.storageAuth]: 'development',
    [ENV.keyVaultUrl]: keyVault.vaultUrl,
    ...options.extra,
  });
  await new AzureTables({
    endpoint: azurite.tableEndpoint,
    credential: azurite.credential,
    prefix,
    allowInsecureConnection: true,
  }).createAll();
  await new ContainerClient(
    `${azurite.blobEndpoint}/${config.resultsContainer}`,
    azurite.blobCredential,
  ).createIfNotExists();
  keyVault.createKey(config.vaultKey);
  keyVault.setSecret(config.platformSecret, randomBytes(32).toString('base64'));
  keyVault.setSecret(config.smtpRelaySecret ?? 'smtp-relay', inbox.url);
  const clock = new SettableClock();
  const clients: DurableClient[] = [];
  const seams = {
    credential: keyVault.credential,
    keyVaultKeys: keyVault.clientOptions(),
    keyVaultSecrets: keyVault.clientOptions(),
    clock,
    galleryDir: process.cwd(),
  };
  const instance = (wrap: { schedules?(store: ScheduleStore): ScheduleStore } = {}): AzureDeps => {
    const deps = azureDeps(config, seams);
    const schedules = wrap.schedules;
    return {
      ...deps,
      templates: options.templates ?? [],
      host: (client) => {
        clients.push(client);
        return deps.host(client);
      },
      ...(schedules === undefined ? {} : { schedules: () => schedules(deps.schedules()) }),
    };
  };
  const workers = instance();
  const extension = await DurableExtension.start({
    activities: createActivityHandlers(activityPorts(async () => workers)),
  });
  return {
    azurite,
    keyVault,
    extension,
    inbox,
    config,
    clock,
    secrets: { set: (name, value) => keyVault.setSecret(name, value) },
    secretReads: (name) =>
      keyVault.requests
        // The authorised reads: a client's first try of each request is refused with the challenge.
        .filter((r) => r.method === 'GET' && r.headers.authorization !== undefined)
        .map((r) => /^\/secrets\/([^/]+)/.exec(r.path)?.[1])
        .filter((read): read is string => read !== undefined && (name === undefined || read === name)),
    clients,
    clientData: () => extension.binding(),
    host: () => workers.host(extension.client()),
    settle: () => extension.settle(),
    instance,
    close: async () => {
      await extension.close();
      await inbox.close();
      inboxDb.close();
      await keyVault.close();
      await azurite.stop();
    },
  };
}
