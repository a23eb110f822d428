// The app identity's role assignments (infra/azure/stack.ts), least privilege: each role on the one resource
// that needs it — the storage account (Blob Data Owner, Queue and Table Data Contributor: the Functions host,
// Durable Functions and the adapters), the vault's wrapping key (wrap and unwrap only), each secret the app
// reads (Secrets User on that secret, not the vault), Application Insights (Metrics Publisher), the
// Communication Services resource (the email sender custom role), and the Cosmos DB account's own Table
// data-plane role when the tables live there. Roles and sources: infra/azure/roles.ts.
import { type Expr, fn, format, type Resource, resourceGroup } from './arm.js';
import type { Stack } from './parts.js';
import { API } from './parts.js';
import {
  BUILT_IN_ROLES,
  type BuiltInRole,
  COSMOS_TABLE_DATA_CONTRIBUTOR,
  EMAIL_SENDER_ROLE,
} from './roles.js';

/** Every grant of the app's identity; answers them, so the app's settings (its start) can wait for them. */
export function grantRoles(stack: Stack): Resource[] {
  const { storage, vaultKey, secrets, insights, acs, useAcs } = stack;
  const R = BUILT_IN_ROLES;
  const sender = emailSenderRole(stack);
  return [
    ...[R.storageBlobDataOwner, R.storageQueueDataContributor, R.storageTableDataContributor].map((role) =>
      assign(stack, storage, role),
    ),
    assign(stack, vaultKey, R.keyVaultCryptoServiceEncryptionUser),
    assign(stack, secrets.platform, R.keyVaultSecretsUser),
    assign(stack, secrets.adminPassword, R.keyVaultSecretsUser),
    assign(stack, secrets.smtpRelay, R.keyVaultSecretsUser, fn('not', useAcs)),
    assign(stack, insights, R.monitoringMetricsPublisher),
    assign(stack, acs, { id: sender.segments[0] as Expr, why: EMAIL_SENDER_ROLE.why }, useAcs, [sender]),
    grantCosmosTables(stack),
  ];
}

/** A role assignment of `role` to the app's identity, scoped to `scope`. */
function assign(
  stack: Stack,
  scope: Resource,
  role: Pick<BuiltInRole, 'why'> & { id: string | Expr },
  condition?: Expr,
  dependsOn: Resource[] = [],
): Resource {
  const { template, identity } = stack;
  return template.resource({
    type: 'Microsoft.Authorization/roleAssignments',
    apiVersion: API.authorization,
    name: [fn('guid', scope.id, identity.id, role.id)],
    ...(condition === undefined ? {} : { condition }),
    scope,
    properties: {
      roleDefinitionId: fn('subscriptionResourceId', 'Microsoft.Authorization/roleDefinitions', role.id),
      principalId: identity.ref('principalId'),
      principalType: 'ServicePrincipal',
      description: `Stepgate: ${role.why}`,
    },
    dependsOn: [identity, ...dependsOn],
  });
}

/** The custom role for sending email (its id a GUID of this resource group), assignable here only. */
function emailSenderRole(stack: Stack): Resource {
  const id = fn('guid', resourceGroup().prop('id'), 'stepgate-email-sender');
  return stack.template.resource({
    type: 'Microsoft.Authorization/roleDefinitions',
    apiVersion: API.authorization,
    name: [id],
    condition: stack.useAcs,
    properties: {
      roleName: format('{0} ({1})', EMAIL_SENDER_ROLE.name, resourceGroup().prop('name')),
      description: `Stepgate: ${EMAIL_SENDER_ROLE.why}`,
      type: 'CustomRole',
      permissions: [
        { actions: EMAIL_SENDER_ROLE.actions, notActions: [], dataActions: [], notDataActions: [] },
      ],
      assignableScopes: [resourceGroup().prop('id')],
    },
  });
}

function grantCosmosTables(stack: Stack): Resource {
  const { template, cosmos, identity, useCosmos } = stack;
  const account = cosmos.segments[0] as Expr;
  return template.resource({
    type: 'Microsoft.DocumentDB/databaseAccounts/tableRoleAssignments',
    apiVersion: API.cosmosRoles,
    name: [account, fn('guid', cosmos.id, identity.id, COSMOS_TABLE_DATA_CONTRIBUTOR.id)],
    condition: useCosmos,
    properties: {
      roleDefinitionId: format('{0}/tableRoleDefinitions/{1}', cosmos.id, COSMOS_TABLE_DATA_CONTRIBUTOR.id),
      principalId: identity.ref('principalId'),
      scope: cosmos.id,
    },
    dependsOn: [cosmos, identity],
  });
}
