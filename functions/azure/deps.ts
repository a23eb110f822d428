// What Stepgate's Azure Functions app runs on, by the core's interfaces (functions/core/ports.ts): the
// stores (Table Storage or Cosmos DB for Table in a deployment: adapters/azure/*), the vault and the
// platform secrets (Key Vault), large tool results (Blob Storage), the notifier (Communication Services or
// an SMTP relay), and the DurableHost over Durable Functions' client. The functions depend on these
// interfaces only: a test composes them over the local SQLite adapters and the embedded engine
// (test/support/azure-app.ts testAzureDeps), the deployment over the Azure adapters (deployment.ts
// azureDeps). Each port is made on first use and kept for the instance (functions/core/per-instance.ts):
// a function that never touches Blob Storage needs no container, and a missing setting is named when a
// function needs it.
//
// The DurableHost is made from a durable client, which Durable Functions hands to a function invocation
// whose registration asks for it (`df.input.durableClient()`): the HTTP catch-all and the schedules' timer
// do. The client's data (the task hub, the extension's local endpoints) is the host process's, the same
// for every invocation of an instance, so a host made from the first invocation's client serves them all.
import type { DurableClient } from 'durable-functions';
import type { AzureRunRecords, AzureRunTrail } from '../../adapters/azure/run-records.js';
import type { ApprovalLinkStore } from '../core/approval-links.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { AttemptCounter } from '../core/login-throttle.js';
import type {
  AdminDirectory,
  ApiTokenStore,
  ApprovalStore,
  Clock,
  Directory,
  DurableHost,
  Notifier,
  RateLimiter,
  ResultStore,
  ScheduleStore,
  SessionStore,
  ToolInvoker,
  Vault,
  WebhookDeliveryStore,
  WorkflowStore,
} from '../core/ports.js';
import type { AzureConfig } from './config.js';

/** A store that deletes what expired before `before`, at most `limit` entities a call; how many. */
export interface Prunable {
  prune(before: number, limit?: number): Promise<number> | number;
}

/**
 * The stores the housekeeping timer prunes (functions/azure/housekeeping.ts): Table Storage has no TTL, so
 * what expires is deleted by the app (AzureWebhookDeliveryStore, AzureRateLimiter, AzureApprovalLinkStore,
 * AzureSessionStore).
 */
export interface HousekeepingStores {
  deliveries?: Prunable;
  limiter?: Prunable;
  links?: Prunable;
  sessions?: Prunable;
}

/** Named secrets of the deployment (Key Vault secrets): the first admin's password. */
export interface AzureSecrets {
  /** The secret's current value; errors name the secret, never a value. */
  read(name: string): Promise<string>;
}

/** Everything the app's functions use, each part made once per instance on first use. */
export interface AzureDeps {
  readonly config: AzureConfig;
  readonly clock: Clock;
  workflows(): WorkflowStore;
  sessions(): SessionStore;
  tokens(): ApiTokenStore;
  directory(): Directory & AdminDirectory;
  deliveries(): WebhookDeliveryStore;
  limiter(): RateLimiter & AttemptCounter;
  /** The approval store, each level's callback handle sealed with `callbackKey`. */
  approvalStore(callbackKey: Uint8Array): ApprovalStore;
  linkStore(): ApprovalLinkStore;
  schedules(): ScheduleStore;
  vault(): Vault;
  results(): ResultStore;
  notifier(): Notifier;
  /** The runs' records (AzureRunStore) and their audit trails (AzureRunAudit). */
  records(): AzureRunRecords;
  trail(): AzureRunTrail;
  /** The stores whose expired entities the housekeeping timer deletes. */
  housekeeping(): HousekeepingStores;
  /** The run host over Durable Functions' client (see the top). */
  host(client: DurableClient): DurableHost;
  /** The 32-byte platform secret (Key Vault) the approval and chat keys derive from. */
  platformSecret(): Promise<Uint8Array>;
  secrets(): AzureSecrets;
  /** The template gallery the setup installs and the template routes list. */
  templates: TemplateEntry[];
  /**
   * The tool invoker when a test substitutes it; absent, the activities call the MCP pipeline made from
   * the config's servers, the vault and the rate limiter.
   */
  tools?(): ToolInvoker;
}
