// The deployment's composition of GcpPorts: every store on one Firestore client of `config.project` /
// `config.firestoreDatabase`, the vault's data key wrapped by Cloud KMS (KmsVault), large results in
// Cloud Storage (GcsResultStore), the platform secret and the SMTP relay's URL from Secret Manager.
// Decisions:
// - The Google clients are given (`clients`) or made from the config on first use (the configured endpoint
//   over REST in tests, the defaults on Cloud Run); a function that never touches a service makes no client.
// - The approval store appends each decision's audit entry to the run trail inside its own transaction
//   (FirestoreRunAudit.appendIn), so a decision and its trail entry are written together or not at all.
// - The clock is injectable (a virtual one in the conformance runs); it stamps every record's time.
// - Each store is made once per ports object (lazy); the approval store once per callback key.
import { Firestore } from '@google-cloud/firestore';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { Storage } from '@google-cloud/storage';
import { FirestoreActivityClaims } from '../../adapters/gcp/activity-claims.js';
import { FirestoreApprovalLinkStore } from '../../adapters/gcp/approval-link-store.js';
import { FirestoreApprovalStore } from '../../adapters/gcp/approval-store.js';
import { FirestoreRunAudit } from '../../adapters/gcp/audit.js';
import { FirestoreDirectory } from '../../adapters/gcp/directory.js';
import { platformSecret, platformSecretText } from '../../adapters/gcp/platform-secrets.js';
import { FirestoreRateLimiter } from '../../adapters/gcp/rate-limiter.js';
import { GcsResultStore } from '../../adapters/gcp/result-store.js';
import { FirestoreScheduleStore } from '../../adapters/gcp/schedule-store.js';
import { FirestoreApiTokenStore, FirestoreSessionStore } from '../../adapters/gcp/session-store.js';
import { KmsVault } from '../../adapters/gcp/vault.js';
import { FirestoreWebhookDeliveryStore } from '../../adapters/gcp/webhook-store.js';
import { FirestoreWorkflowStore } from '../../adapters/gcp/workflow-store.js';
import { INSTANCE_CLOCK, lazy } from '../core/per-instance.js';
import type { Clock } from '../core/ports.js';
import { type GcpConfig, required } from './config.js';
import { type GcpPorts, googleClientOptions } from './ports.js';

/** The Google clients the ports use; any not given is made from the config when first needed. */
export interface GcpClients {
  firestore?: Firestore;
  kms?: KeyManagementServiceClient;
  storage?: Storage;
  secrets?: SecretManagerServiceClient;
  /** Default: the instance clock (Date.now, no timers). */
  clock?: Clock;
}

/** Cloud Storage's client at the configured endpoint (tests), else the default. */
function storageClient(config: GcpConfig): Storage {
  if (config.googleApiEndpoint === undefined) return new Storage({ projectId: config.project });
  return new Storage({ projectId: config.project, apiEndpoint: config.googleApiEndpoint });
}

/** The Google clients, each made once on first use. */
function clientsOf(config: GcpConfig, given: GcpClients) {
  return {
    firestore: lazy(
      () =>
        given.firestore ??
        new Firestore({ projectId: required(config, 'project'), databaseId: config.firestoreDatabase }),
    ),
    kms: lazy(() => given.kms ?? new KeyManagementServiceClient(googleClientOptions(config))),
    storage: lazy(() => given.storage ?? storageClient(config)),
    secrets: lazy(() => given.secrets ?? new SecretManagerServiceClient(googleClientOptions(config))),
  };
}

/** GcpPorts over Firestore, Cloud KMS, Cloud Storage and Secret Manager. */
export function firestorePorts(config: GcpConfig, given: GcpClients = {}): GcpPorts {
  const clock = given.clock ?? INSTANCE_CLOCK;
  const now = () => clock.now();
  const c = clientsOf(config, given);
  const db = () => c.firestore();
  const audit = lazy(() => new FirestoreRunAudit(db(), clock));
  const approvalStores = new Map<string, FirestoreApprovalStore>();
  const approvalStore = (callbackKey: Uint8Array): FirestoreApprovalStore => {
    const id = Buffer.from(callbackKey).toString('hex');
    const made =
      approvalStores.get(id) ??
      new FirestoreApprovalStore(db(), {
        callbackKey,
        recordAudit: async (tx, runId, entry) => void (await audit().appendIn(tx, runId, entry)),
      });
    approvalStores.set(id, made);
    return made;
  };
  return {
    config,
    clock,
    // A setting a port needs is read before any client is made: its absence is named first.
    vault: lazy(() => {
      const key = required(config, 'kmsKey');
      return new KmsVault(db(), c.kms(), key, { now });
    }),
    results: lazy(() => {
      const bucket = required(config, 'resultsBucket');
      return new GcsResultStore(c.storage(), bucket);
    }),
    limiter: lazy(() => new FirestoreRateLimiter(db())),
    directory: lazy(() => new FirestoreDirectory(db())),
    sessions: lazy(() => new FirestoreSessionStore(db(), { now })),
    tokens: lazy(() => new FirestoreApiTokenStore(db(), { now })),
    workflows: lazy(() => new FirestoreWorkflowStore(db())),
    deliveries: lazy(() => new FirestoreWebhookDeliveryStore(db(), clock)),
    audit,
    approvalStore,
    linkStore: lazy(() => new FirestoreApprovalLinkStore(db())),
    schedules: lazy(() => new FirestoreScheduleStore(db())),
    claims: lazy(() => new FirestoreActivityClaims(db())),
    platformSecret: async () => {
      const secret = required(config, 'platformSecret');
      return platformSecret(c.secrets(), secret);
    },
    smtpRelayUrl: async () =>
      config.smtpRelaySecret === undefined
        ? undefined
        : platformSecretText(c.secrets(), config.smtpRelaySecret, 'the SMTP relay URL'),
  };
}
