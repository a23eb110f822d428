// The Azure roles the Functions app's identity is granted (infra/azure/stack.ts), each for one resource of
// the template: built-in data-plane roles by their fixed GUIDs (the same in every tenant), and the one custom
// role Communication Services email needs. No Owner or Contributor anywhere: the app never manages
// resources, it only reads and writes data.
//
// Sources: the built-in roles reference (learn.microsoft.com/azure/role-based-access-control/built-in-roles)
// and the GUIDs as Microsoft's Flex Consumption samples (Azure-Samples/azure-functions-flex-consumption-samples)
// and Key Vault's RBAC guide use them; Cosmos DB for Table's data-plane roles from its reference
// (learn.microsoft.com/azure/cosmos-db/table/security/reference-data-plane-roles); the email permissions from
// Communication Services' Entra ID guide (quickstarts/email/send-email-smtp/smtp-authentication).

export interface BuiltInRole {
  name: string;
  id: string;
  /** Why the app needs it. */
  why: string;
}

/** Built-in Azure RBAC roles, by their GUIDs. */
export const BUILT_IN_ROLES = {
  storageBlobDataOwner: {
    name: 'Storage Blob Data Owner',
    id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    why: 'the Functions host (AzureWebJobsStorage by identity: blob leases, the Durable task hub), the deployment package container, large tool results',
  },
  storageQueueDataContributor: {
    name: 'Storage Queue Data Contributor',
    id: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    why: "Durable Functions' control and work-item queues",
  },
  storageTableDataContributor: {
    name: 'Storage Table Data Contributor',
    id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    why: "Durable Functions' history and instance tables, and Stepgate's tables when they live in the storage account",
  },
  keyVaultCryptoServiceEncryptionUser: {
    name: 'Key Vault Crypto Service Encryption User',
    id: 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
    why: "the vault's data key wrapped and unwrapped (read the key, wrap, unwrap: no encrypt, sign or decrypt of anything else)",
  },
  keyVaultSecretsUser: {
    name: 'Key Vault Secrets User',
    id: '4633458b-17de-408a-b874-0445c86b69e6',
    why: "the platform secret, the first admin's password and the SMTP relay's URL read",
  },
  monitoringMetricsPublisher: {
    name: 'Monitoring Metrics Publisher',
    id: '3913510d-42f4-4e42-8a64-420c390055eb',
    why: 'telemetry sent to Application Insights with Entra ID (local authentication is off)',
  },
} as const satisfies Record<string, BuiltInRole>;

/** Cosmos DB for Table's own data-plane role (a tableRoleDefinition of the account, not an Azure RBAC role). */
export const COSMOS_TABLE_DATA_CONTRIBUTOR = {
  name: 'Cosmos DB Built-in Data Contributor',
  id: '00000000-0000-0000-0000-000000000002',
  why: "Stepgate's tables when they live in Cosmos DB for Table (local, key-based authentication is off)",
};

/**
 * The custom role that sends email through Communication Services with Entra ID: the permissions its guide
 * lists for an identity sending email, and nothing else (the built-in Communication and Email Service Owner
 * could also list keys and delete resources).
 */
export const EMAIL_SENDER_ROLE = {
  name: 'Stepgate email sender',
  actions: [
    'Microsoft.Communication/CommunicationServices/Read',
    'Microsoft.Communication/CommunicationServices/Write',
    'Microsoft.Communication/EmailServices/write',
  ],
  why: 'email sent through Azure Communication Services with the managed identity',
};
