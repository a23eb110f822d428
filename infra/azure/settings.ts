// The Function app's settings (infra/azure/stack.ts): the Functions host's own (identity-based storage,
// Application Insights with Entra ID) and exactly the Stepgate settings functions/azure/config.ts ENV lists,
// valued from the template's resources. No secret is a value here: the platform secret, the first admin's
// password and the SMTP relay's URL are Key Vault secrets named by STEPGATE_*_SECRET; storage, Key Vault,
// Cosmos DB and Communication Services are reached with the managed identity AZURE_CLIENT_ID names.
//
// A setting used by one choice only (ACS or SMTP; MCP servers, policy and limits when given) is absent
// otherwise, not empty: union() of createObject()s, one chosen by if() (ARM evaluates only the branch taken,
// so a reference to a resource not deployed is never evaluated).
import { ENV } from '../../functions/azure/config.js';
import { createObject, type Expr, empty, format, iff, union } from './arm.js';
import { NAMES, type Stack, tablesEndpoint } from './parts.js';

/** The Functions host's settings (Flex Consumption: no FUNCTIONS_WORKER_RUNTIME, the runtime is in functionAppConfig). */
export const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AZURE_CLIENT_ID',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
] as const;

/** The app settings object, as one expression. */
export function appSettings(stack: Stack): Expr {
  const { inputs, identity, storage, vault, insights, acs, emailDomain, site } = stack;
  const clientId = identity.ref('clientId');
  const host: Record<(typeof HOST_SETTINGS)[number], Expr | string> = {
    AzureWebJobsStorage__accountName: storage.segments[0] as Expr,
    AzureWebJobsStorage__credential: 'managedidentity',
    AzureWebJobsStorage__clientId: clientId,
    AZURE_CLIENT_ID: clientId,
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.ref('ConnectionString'),
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: format('ClientId={0};Authorization=AAD', clientId),
  };
  const always = createObject({
    ...host,
    [ENV.tablesEndpoint]: tablesEndpoint(stack),
    [ENV.tablePrefix]: inputs.tablePrefix,
    [ENV.taskHub]: format('{0}hub', inputs.tablePrefix),
    [ENV.blobEndpoint]: storage.ref('primaryEndpoints', 'blob'),
    [ENV.resultsContainer]: NAMES.resultsContainer,
    [ENV.storageAuth]: 'managed-identity',
    [ENV.keyVaultUrl]: vault.ref('vaultUri'),
    [ENV.vaultKey]: NAMES.vaultKey,
    [ENV.platformSecret]: NAMES.platformSecret,
    [ENV.emailTransport]: inputs.emailTransport,
    [ENV.publicUrl]: iff(
      empty(inputs.publicUrl),
      format('https://{0}', site.ref('defaultHostName')),
      inputs.publicUrl,
    ),
    [ENV.adminEmail]: inputs.adminEmail,
    [ENV.adminPasswordSecret]: NAMES.adminPasswordSecret,
  });
  const viaAcs = createObject({
    [ENV.acsEndpoint]: format('https://{0}', acs.ref('hostName')),
    [ENV.emailFrom]: iff(
      empty(inputs.emailFrom),
      format('donotreply@{0}', emailDomain.ref('mailFromSenderDomain')),
      inputs.emailFrom,
    ),
  });
  const viaSmtp = createObject({
    [ENV.smtpRelaySecret]: NAMES.smtpRelaySecret,
    [ENV.emailFrom]: inputs.emailFrom,
  });
  const whenGiven = (setting: string, value: Expr) =>
    iff(empty(value), createObject({}), createObject({ [setting]: value }));
  return union(
    always,
    iff(stack.useAcs, viaAcs, viaSmtp),
    whenGiven(ENV.mcpServers, inputs.mcpServers),
    whenGiven(ENV.policy, inputs.policy),
    whenGiven(ENV.limits, inputs.limits),
  );
}
