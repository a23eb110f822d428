// The deployed composition of the Azure Functions app (functions/azure/index.ts): the settings from the
// app settings (functions/azure/config.ts), and every port of AzureDeps on the Azure adapters — the tables
// (adapters/azure/*: AzureTables over STEPGATE_TABLES_ENDPOINT with the managed identity), the vault and
// the platform secrets (Key Vault), the result store (Blob Storage), the notifier (Communication Services
// or the SMTP relay), the DurableHost over the durable client, and the gallery beside the bundle.
//
// NOT COMPOSED YET: the Azure adapters are being written alongside this app; `azureDeps` is where the
// integrator plugs them in (the one place the app is composed). Until then it throws, and the app's
// invocations fail with that message in their log; the tests compose the same interfaces over the local
// adapters (test/support/azure-app.ts testAzureDeps).
import type { TokenCredential } from '@azure/core-auth';
import type { AzureConfig } from './config.js';
import type { AzureDeps } from './deps.js';

/** What a test may give the composition instead of what it makes from the config. */
export interface AzureSeams {
  /** The credential of every Azure client; absent: the managed identity (DefaultAzureCredential). */
  credential?: TokenCredential;
  /** Where the template gallery is (its `templates/` folder); absent: beside the bundle. */
  galleryDir?: string;
}

/** The app's deps over the Azure adapters (see the top: not composed yet). */
export function azureDeps(config: AzureConfig, _seams: AzureSeams = {}): AzureDeps {
  throw new Error(
    `the Azure composition is not composed yet (functions/azure/deployment.ts azureDeps): its adapters are being merged; tables at ${config.tablesEndpoint}`,
  );
}
