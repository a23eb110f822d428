// The Azure template (infra/azure), checked as a structure and by evaluating its expressions as ARM would
// (test/infra/arm-eval.ts) for every choice of its parameters (tables in storage or Cosmos DB, email through
// ACS or SMTP, the optional JSON settings given or not): it is ARM template JSON whose every parameter,
// variable, resourceId and dependsOn names something declared, and no reference() reaches a resource the
// choice leaves undeployed; every resource is HTTPS-only with TLS 1.2 and no key or public access; the app
// settings are exactly the host's and functions/azure/config.ts ENV's, hold no secret (secure parameters
// reach only Key Vault secrets; no account key, SAS or connection string with a key), and loadAzureConfig
// accepts them; every role assignment is a data-plane built-in role or the named email custom role, for the
// app's identity, on one resource of the template; the tables are exactly TABLES; Key Vault uses RBAC with
// purge protection; and the output is deterministic.
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../adapters/azure/tables.js';
import { ENV, loadAzureConfig } from '../../functions/azure/config.js';
import { NAMES } from '../../infra/azure/parts.js';
import { BUILT_IN_ROLES, COSMOS_TABLE_DATA_CONTRIBUTOR, EMAIL_SENDER_ROLE } from '../../infra/azure/roles.js';
import { HOST_SETTINGS } from '../../infra/azure/settings.js';
import { azureTemplate } from '../../infra/azure/stack.js';
import { HOST_JSON } from '../../scripts/bundle-azure.js';
import { ArmEvaluator, idOf, isExpression, resourceGroupId, type Value } from './arm-eval.js';

type Obj = { [key: string]: Value };
const template = JSON.parse(azureTemplate().text()) as Obj;
const resources = template.resources as Obj[];
const ofType = (type: string) => resources.filter((r) => r.type === type);
const one = (type: string): Obj => {
  const [only, ...more] = ofType(type);
  if (only === undefined || more.length > 0) throw new Error(`expected one ${type}`);
  return only;
};

const SECRET = {
  platformSecret: 'PLATFORM-SECRET-SENTINEL-0123456789abcdefghijklmnopqrstuv',
  adminPassword: 'ADMIN-PASSWORD-SENTINEL',
  smtpRelayUrl: 'smtp://relay-user:RELAY-PASSWORD-SENTINEL@relay.example.com:587',
};

interface Choice {
  tablesHome: 'storage' | 'cosmos';
  emailTransport: 'acs' | 'smtp';
  json: boolean;
}
const CHOICES: Choice[] = (['storage', 'cosmos'] as const).flatMap((tablesHome) =>
  (['acs', 'smtp'] as const).flatMap((emailTransport) =>
    [false, true].map((json) => ({ tablesHome, emailTransport, json })),
  ),
);
const label = (c: Choice) => `${c.tablesHome}, ${c.emailTransport}${c.json ? ', JSON settings' : ''}`;

/** Plausible runtime properties, by resource type, as reference() returns them. */
function referenceOf(type: string, name: string): Obj {
  const last = name.split('/').at(-1) as string;
  const byType: Record<string, Obj> = {
    'Microsoft.ManagedIdentity/userAssignedIdentities': {
      clientId: '11111111-2222-3333-4444-555555555555',
      principalId: '99999999-8888-7777-6666-555555555555',
    },
    'Microsoft.Storage/storageAccounts': {
      primaryEndpoints: {
        blob: `https://${last}.blob.core.windows.net/`,
        table: `https://${last}.table.core.windows.net/`,
      },
    },
    'Microsoft.KeyVault/vaults': { vaultUri: `https://${last}.vault.azure.net/` },
    'Microsoft.Insights/components': {
      ConnectionString:
        'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/',
    },
    'Microsoft.Communication/communicationServices': {
      hostName: `${last}.unitedstates.communication.azure.com`,
    },
    'Microsoft.Communication/emailServices/domains': { mailFromSenderDomain: '0a1b2c3d-4e5f.azurecomm.net' },
    'Microsoft.Web/sites': { defaultHostName: `${last}.azurewebsites.net` },
  };
  const found = byType[type];
  if (found === undefined) throw new Error(`the test has no runtime properties for ${type}`);
  return found;
}

interface Deployed {
  evaluator: ArmEvaluator;
  /** Every resource with its evaluated name and id (an extension resource's under its scope), and whether it deploys. */
  all: Array<{ resource: Obj; name: string; id: string; deployed: boolean }>;
  settings: Record<string, string>;
}

function deploy(choice: Choice): Deployed {
  const parameters: Record<string, Value> = {
    ...SECRET,
    adminEmail: 'admin@example.com',
    tablesHome: choice.tablesHome,
    emailTransport: choice.emailTransport,
    ...(choice.emailTransport === 'smtp' ? { emailFrom: 'stepgate@example.com' } : {}),
    ...(choice.json ? { mcpServers: '{}', policy: '{}', limits: '{}' } : {}),
  };
  const evaluator = new ArmEvaluator({ template, parameters, reference: referenceOf });
  const all = resources.map((resource) => {
    const name = String(evaluator.value(resource.name as Value));
    const deployed = resource.condition === undefined || evaluator.value(resource.condition) === true;
    const id =
      resource.scope === undefined
        ? idOf(resourceGroupId, String(resource.type), name.split('/'))
        : `${evaluator.value(resource.scope as Value)}/providers/${resource.type}/${name}`;
    return { resource, name, id, deployed };
  });
  for (const r of all) if (!r.deployed) evaluator.undeployed.add(r.id);
  const config = one('Microsoft.Web/sites/config');
  const settings = evaluator.value(config.properties as Value) as Record<string, string>;
  for (const r of all) if (r.deployed) evaluator.value(r.resource);
  evaluator.value(template.outputs as Value);
  return { evaluator, all, settings };
}

const DEPLOYMENTS = new Map(CHOICES.map((c) => [c, deploy(c)]));

describe('the Azure template: structure', () => {
  it('is an ARM deployment template', () => {
    expect(template.$schema).toBe(
      'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    );
    expect(template.contentVersion).toBe('1.0.0.0');
    for (const r of resources) {
      expect(typeof r.type).toBe('string');
      expect(String(r.apiVersion)).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
      expect(r.name).toBeTypeOf('string');
    }
    for (const [name, spec] of Object.entries(template.parameters as Record<string, Obj>)) {
      expect(['string', 'securestring', 'int', 'bool', 'object'], name).toContain(spec.type);
      expect(spec.description, name).toBeTypeOf('string');
    }
  });

  it('uses every parameter it declares, and declares every parameter and variable it uses', () => {
    const text = JSON.stringify(template);
    const used = (fnName: string) =>
      new Set([...text.matchAll(new RegExp(`${fnName}\\('([^']+)'\\)`, 'g'))].map((m) => m[1]));
    expect([...used('parameters')].sort()).toEqual(Object.keys(template.parameters as Obj).sort());
    expect([...used('variables')].sort()).toEqual(Object.keys(template.variables as Obj).sort());
  });

  it.each(CHOICES.map((c) => [label(c), c] as const))(
    'with %s: every resourceId and dependsOn names a resource of the template, no reference reaches an undeployed one',
    (_label, choice) => {
      const { evaluator, all } = DEPLOYMENTS.get(choice) as Deployed;
      const ids = new Set(all.map((r) => r.id));
      for (const id of evaluator.trace.resourceIds) expect(ids, id).toContain(id);
      for (const r of all.filter((x) => x.deployed))
        for (const dependency of (r.resource.dependsOn as string[] | undefined) ?? [])
          expect(ids).toContain(evaluator.value(dependency));
      expect(evaluator.trace.references.length).toBeGreaterThan(0);
    },
  );

  it.each(CHOICES.filter((c) => !c.json).map((c) => [label(c), c] as const))(
    'with %s: the app settings (the host start) wait for every grant of the identity',
    (_label, choice) => {
      const { evaluator, all } = DEPLOYMENTS.get(choice) as Deployed;
      const config = one('Microsoft.Web/sites/config');
      const waits = (config.dependsOn as string[]).map((d) => evaluator.value(d));
      const grants = all.filter(
        (r) => r.deployed && /\/(roleAssignments|tableRoleAssignments)$/.test(String(r.resource.type)),
      );
      expect(grants.length).toBeGreaterThanOrEqual(8);
      for (const g of grants) expect(waits).toContain(g.id);
    },
  );

  it('is deterministic', () => {
    expect(azureTemplate().text()).toBe(azureTemplate().text());
  });
});

describe('the Azure template: transport and access', () => {
  it('storage: HTTPS only, TLS 1.2, no shared keys, no public blob access, private containers', () => {
    const storage = one('Microsoft.Storage/storageAccounts').properties as Obj;
    expect(storage).toMatchObject({
      supportsHttpsTrafficOnly: true,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
    });
    const containers = ofType('Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(containers).toHaveLength(2);
    for (const c of containers) expect((c.properties as Obj).publicAccess).toBe('None');
  });

  it('the Function app: Flex Consumption, Node 22, HTTPS only, TLS 1.2, FTP and basic publishing off, the identity assigned', () => {
    expect(one('Microsoft.Web/serverfarms').sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const site = one('Microsoft.Web/sites');
    const props = site.properties as Obj;
    expect(props.httpsOnly).toBe(true);
    expect(props.siteConfig).toMatchObject({
      minTlsVersion: '1.2',
      scmMinTlsVersion: '1.2',
      ftpsState: 'Disabled',
    });
    const config = props.functionAppConfig as Obj;
    expect(config.runtime).toEqual({ name: 'node', version: '22' });
    const storage = (config.deployment as Obj).storage as Obj;
    expect(storage.authentication).toEqual({
      type: 'UserAssignedIdentity',
      userAssignedIdentityResourceId:
        "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))]",
    });
    expect(site.identity).toEqual({
      type: 'UserAssigned',
      userAssignedIdentities: {
        "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))]": {},
      },
    });
    const policies = ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => String(p.name).match(/'(ftp|scm)'/)?.[1]).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(p.properties).toEqual({ allow: false });
  });

  it('Key Vault: RBAC authorization, soft delete and purge protection; an RSA key for wrap and unwrap only', () => {
    expect(one('Microsoft.KeyVault/vaults').properties).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
    expect(one('Microsoft.KeyVault/vaults/keys').properties).toEqual({
      kty: 'RSA',
      keySize: 3072,
      keyOps: ['wrapKey', 'unwrapKey'],
    });
  });

  it('Cosmos DB for Table: local auth off, TLS 1.2; Application Insights: local auth off', () => {
    const cosmos = one('Microsoft.DocumentDB/databaseAccounts').properties as Obj;
    expect(cosmos).toMatchObject({ disableLocalAuth: true, minimalTlsVersion: 'Tls12' });
    expect(cosmos.capabilities).toContainEqual({ name: 'EnableTable' });
    expect((one('Microsoft.Insights/components').properties as Obj).DisableLocalAuth).toBe(true);
  });
});

describe('the Azure template: tables', () => {
  it.each(CHOICES.filter((c) => !c.json).map((c) => [label(c), c] as const))(
    'with %s: exactly the tables of TABLES, prefixed, in the chosen home only',
    (_label, choice) => {
      const { all } = DEPLOYMENTS.get(choice) as Deployed;
      const deployedNames = (type: string) =>
        all.filter((r) => r.deployed && r.resource.type === type).map((r) => r.name.split('/').at(-1));
      const expected = Object.values(TABLES)
        .map((t) => `stepgate${t.name}`)
        .sort();
      const [home, other] =
        choice.tablesHome === 'storage'
          ? [
              'Microsoft.Storage/storageAccounts/tableServices/tables',
              'Microsoft.DocumentDB/databaseAccounts/tables',
            ]
          : [
              'Microsoft.DocumentDB/databaseAccounts/tables',
              'Microsoft.Storage/storageAccounts/tableServices/tables',
            ];
      expect(deployedNames(home).sort()).toEqual(expected);
      expect(deployedNames(other)).toEqual([]);
    },
  );
});

describe('the Azure template: app settings', () => {
  const STEPGATE = new Set<string>(Object.values(ENV));

  it.each(CHOICES.map((c) => [label(c), c] as const))(
    'with %s: only the host settings and ENV settings, no secret, accepted by loadAzureConfig',
    (_label, choice) => {
      const { settings } = DEPLOYMENTS.get(choice) as Deployed;
      for (const key of Object.keys(settings))
        expect(STEPGATE.has(key) || (HOST_SETTINGS as readonly string[]).includes(key), key).toBe(true);
      expect(Object.keys(settings)).toEqual(expect.arrayContaining([...HOST_SETTINGS]));
      for (const [key, value] of Object.entries(settings)) {
        expect(value, key).toBeTypeOf('string');
        for (const secret of Object.values(SECRET)) expect(value, key).not.toContain(secret);
        expect(value, key).not.toMatch(/AccountKey=|SharedAccessSignature|SharedAccessKey|[?&]sig=/i);
      }
      const config = loadAzureConfig(settings);
      expect(config.emailTransport).toBe(choice.emailTransport);
      expect(config.storageAuth).toBe('managed-identity');
      expect(settings.AZURE_CLIENT_ID).toBe(settings.AzureWebJobsStorage__clientId);
      expect(settings.AzureWebJobsStorage__credential).toBe('managedidentity');
      expect(config.tablesEndpoint).toMatch(
        choice.tablesHome === 'cosmos'
          ? /^https:\/\/[a-z0-9-]+\.table\.cosmos\.azure\.com$/
          : /^https:\/\/[a-z0-9]+\.table\.core\.windows\.net$/,
      );
      if (choice.emailTransport === 'acs') {
        expect(settings[ENV.smtpRelaySecret]).toBeUndefined();
        expect(config.acsEndpoint).toMatch(/^https:\/\/.+\.communication\.azure\.com$/);
      } else {
        expect(settings[ENV.acsEndpoint]).toBeUndefined();
        expect(config.smtpRelaySecret).toBe(NAMES.smtpRelaySecret);
      }
      expect(settings[ENV.mcpServers] !== undefined).toBe(choice.json);
      // Every %SETTING% the bundle's host.json names is set (the Durable task hub's name).
      for (const [, name] of JSON.stringify(HOST_JSON).matchAll(/%([A-Za-z0-9_]+)%/g))
        expect(settings[name as string], name).toMatch(/^[A-Za-z][A-Za-z0-9]{2,44}$/);
      expect(config.taskHub).toBe(settings[ENV.taskHub]);
    },
  );

  it.each(CHOICES.map((c) => [label(c), c] as const))(
    'with %s: every secret the settings name is a Key Vault secret of the template, from a secure parameter',
    (_label, choice) => {
      const { settings, all } = DEPLOYMENTS.get(choice) as Deployed;
      const secrets = all.filter(
        (r) => r.deployed && r.resource.type === 'Microsoft.KeyVault/vaults/secrets',
      );
      const named = [ENV.platformSecret, ENV.adminPasswordSecret, ENV.smtpRelaySecret].flatMap(
        (s) => settings[s] ?? [],
      );
      expect(secrets.map((s) => s.name.split('/')[1]).sort()).toEqual([...named].sort());
      const secure = Object.entries(template.parameters as Record<string, Obj>)
        .filter(([, spec]) => spec.type === 'securestring')
        .map(([name]) => `[parameters('${name}')]`);
      for (const s of secrets) expect(secure).toContain((s.resource.properties as Obj).value);
      const settingsText = String(one('Microsoft.Web/sites/config').properties);
      for (const p of secure) expect(settingsText).not.toContain(p.slice(1, -1));
      expect(settingsText).not.toMatch(/list(Keys|Secrets|ConnectionStrings)\(/i);
    },
  );
});

describe('the Azure template: role assignments', () => {
  const builtIn = new Map<string, string>(Object.values(BUILT_IN_ROLES).map((r) => [r.id, r.name]));
  const FORBIDDEN = [
    '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', // Owner
    'b24988ac-6180-42a0-ab88-20f7382dd24c', // Contributor
    '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', // User Access Administrator
  ];

  it.each(CHOICES.filter((c) => !c.json).map((c) => [label(c), c] as const))(
    'with %s: each a data-plane built-in role or the named email role, for the app identity, on one resource of the template',
    (_label, choice) => {
      const { evaluator, all } = DEPLOYMENTS.get(choice) as Deployed;
      const ids = new Map(all.flatMap((r) => (r.deployed ? [[r.id, r] as const] : [])));
      const identity = all.find(
        (r) => r.resource.type === 'Microsoft.ManagedIdentity/userAssignedIdentities',
      );
      const principal = referenceOf(
        'Microsoft.ManagedIdentity/userAssignedIdentities',
        identity?.name ?? '',
      ).principalId;
      const customRoles = all.filter(
        (r) => r.deployed && r.resource.type === 'Microsoft.Authorization/roleDefinitions',
      );
      const granted: string[] = [];
      for (const r of all.filter(
        (x) => x.deployed && x.resource.type === 'Microsoft.Authorization/roleAssignments',
      )) {
        const props = evaluator.value(r.resource.properties as Value) as Obj;
        const scope = String(evaluator.value(r.resource.scope as Value));
        expect(ids.has(scope), scope).toBe(true);
        expect(props.principalId).toBe(principal);
        expect(props.principalType).toBe('ServicePrincipal');
        const roleId = String(props.roleDefinitionId).split('/').at(-1) as string;
        expect(String(props.roleDefinitionId)).toMatch(
          /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Authorization\/roleDefinitions\//,
        );
        expect(FORBIDDEN).not.toContain(roleId);
        const custom = customRoles.find((c) => c.name === roleId);
        if (custom !== undefined) {
          const def = evaluator.value(custom.resource.properties as Value) as Obj;
          expect(def.roleName).toMatch(/^Stepgate email sender/);
          expect((def.permissions as Obj[])[0]?.actions).toEqual(EMAIL_SENDER_ROLE.actions);
          expect(def.assignableScopes).toEqual([resourceGroupId]);
        } else expect(builtIn.has(roleId), roleId).toBe(true);
        const scopeType = String((ids.get(scope) as { resource: Obj }).resource.type);
        granted.push(`${custom === undefined ? builtIn.get(roleId) : 'email sender'} on ${scopeType}`);
      }
      expect(granted.sort()).toEqual(expectedGrants(choice));
      const cosmosGrants = all.filter(
        (r) => r.deployed && String(r.resource.type).endsWith('/tableRoleAssignments'),
      );
      expect(cosmosGrants).toHaveLength(choice.tablesHome === 'cosmos' ? 1 : 0);
      for (const g of cosmosGrants) {
        const props = evaluator.value(g.resource.properties as Value) as Obj;
        const account = all.find((r) => r.resource.type === 'Microsoft.DocumentDB/databaseAccounts')?.id;
        expect(props).toEqual({
          principalId: principal,
          scope: account,
          roleDefinitionId: `${account}/tableRoleDefinitions/${COSMOS_TABLE_DATA_CONTRIBUTOR.id}`,
        });
      }
    },
  );
});

function expectedGrants(choice: Choice): string[] {
  const grants = [
    'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
    'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
    'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
    'Key Vault Crypto Service Encryption User on Microsoft.KeyVault/vaults/keys',
    'Key Vault Secrets User on Microsoft.KeyVault/vaults/secrets',
    'Key Vault Secrets User on Microsoft.KeyVault/vaults/secrets',
    'Monitoring Metrics Publisher on Microsoft.Insights/components',
  ];
  if (choice.emailTransport === 'acs')
    grants.push('email sender on Microsoft.Communication/communicationServices');
  else grants.push('Key Vault Secrets User on Microsoft.KeyVault/vaults/secrets');
  return grants.sort();
}

describe('the Azure template: outputs', () => {
  it("gives the app's URL and the names", () => {
    const { evaluator } = DEPLOYMENTS.get(CHOICES[0] as Choice) as Deployed;
    const outputs = evaluator.value(template.outputs as Value) as Record<string, Obj>;
    expect(outputs.appUrl?.value).toMatch(/^https:\/\/stepgate-[a-z0-9]+\.azurewebsites\.net$/);
    for (const name of ['functionAppName', 'storageAccountName', 'keyVaultName', 'identityClientId'])
      expect(outputs[name]?.value, name).toBeTypeOf('string');
    expect(isExpression(String((template.outputs as Record<string, Obj>).appUrl?.value))).toBe(true);
  });
});
