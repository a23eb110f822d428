// The parts of the Azure template (infra/azure/stack.ts) its other modules share: the names the app settings
// give, one API version per resource type, the template's inputs (its parameters) and resources, and the
// table service the settings and outputs point at. A module of its own so that stack.ts, settings.ts and
// grants.ts import it rather than each other.
import type { ArmTemplate, Expr, Resource } from './arm.js';
import { environment, format, iff } from './arm.js';

/** Names the app settings give, fixed by this template. */
export const NAMES = {
  resultsContainer: 'stepgate-results',
  deploymentContainer: 'app-package',
  vaultKey: 'vault-wrapping-key',
  platformSecret: 'platform-secret',
  adminPasswordSecret: 'admin-password',
  smtpRelaySecret: 'smtp-relay-url',
} as const;

/** API versions, one per resource type (learn.microsoft.com/azure/templates). */
export const API = {
  identity: '2023-01-31',
  storage: '2023-05-01',
  cosmos: '2024-11-15',
  cosmosRoles: '2024-12-01-preview',
  keyVault: '2023-07-01',
  workspace: '2023-09-01',
  insights: '2020-02-02',
  communication: '2023-04-01',
  web: '2024-04-01',
  authorization: '2022-04-01',
} as const;

export interface Inputs {
  prefix: Expr;
  location: Expr;
  tablePrefix: Expr;
  tablesHome: Expr;
  emailTransport: Expr;
  emailFrom: Expr;
  acsDataLocation: Expr;
  smtpRelayUrl: Expr;
  platformSecret: Expr;
  adminEmail: Expr;
  adminPassword: Expr;
  publicUrl: Expr;
  mcpServers: Expr;
  policy: Expr;
  limits: Expr;
  maximumInstanceCount: Expr;
  instanceMemoryMB: Expr;
  logRetentionDays: Expr;
}

/** The resources other parts of the template refer to. */
export interface Stack {
  template: ArmTemplate;
  inputs: Inputs;
  useCosmos: Expr;
  useAcs: Expr;
  identity: Resource;
  storage: Resource;
  cosmos: Resource;
  vault: Resource;
  vaultKey: Resource;
  secrets: { platform: Resource; adminPassword: Resource; smtpRelay: Resource };
  insights: Resource;
  acs: Resource;
  emailDomain: Resource;
  plan: Resource;
  site: Resource;
}

/** The table service Stepgate's tables are on: the storage account's, or the Cosmos DB account's. */
export function tablesEndpoint(stack: Stack): Expr {
  return iff(
    stack.useCosmos,
    format('https://{0}.table.cosmos.azure.com', stack.cosmos.segments[0] as Expr),
    format(
      'https://{0}.table.{1}',
      stack.storage.segments[0] as Expr,
      environment().prop('suffixes', 'storage'),
    ),
  );
}
