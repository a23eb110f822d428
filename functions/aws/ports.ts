// The AWS adapters of the storage ports, built once per Lambda container and shared by its invocations:
// one DynamoDB document client over the single table, KMS for the vault's data key, S3 for large tool
// results. Each adapter is made on first use, so a function that never touches S3 needs no bucket and a
// missing variable is named when (and only when) the function needs it. What only some functions need
// lives beside it, so the others' bundles leave it out: the MCP registry and tool pipeline (tools.ts), the
// notifier (notifier.ts), the approval service and its links (approvals.ts).
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoApprovalLinkStore } from '../../adapters/aws/approval-link-store.js';
import { DynamoRunAudit } from '../../adapters/aws/audit.js';
import { DynamoDirectory } from '../../adapters/aws/directory.js';
import { DynamoRateLimiter } from '../../adapters/aws/rate-limiter.js';
import { S3ResultStore } from '../../adapters/aws/result-store.js';
import { DynamoApiTokenStore, DynamoSessionStore } from '../../adapters/aws/session-store.js';
import { DynamoQuorumTallies, DynamoStepVisits } from '../../adapters/aws/step-tallies.js';
import { openTable, type Table } from '../../adapters/aws/table.js';
import { DynamoVault } from '../../adapters/aws/vault.js';
import { DynamoWebhookDeliveryStore } from '../../adapters/aws/webhook-store.js';
import { DynamoWorkflowStore } from '../../adapters/aws/workflow-store.js';
import type { AuditEntry } from '../core/audit.js';
import { lazy } from '../core/per-instance.js';
import type { Clock, TimerHandle } from '../core/ports.js';
import { type AwsConfig, required } from './config.js';

/** Shared with the other cloud hosts (functions/core/per-instance.ts). */
export { lazy, perInstance as perContainer } from '../core/per-instance.js';

/** What every AWS client of a container is made with: the region, and in tests moto's endpoint. */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * A Lambda's clock: `now` only. Nothing on AWS waits in process (timeouts are the state machine's), so a
 * timer asked for is a bug, refused by name.
 */
export const LAMBDA_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(): TimerHandle {
    throw new Error('a Lambda keeps no timers: waits belong to the state machine');
  },
  clearTimer(): void {},
};

/** The adapters of one container; each is made on first use. */
export class AwsPorts {
  readonly table: Table;
  readonly clock: Clock;

  constructor(
    readonly config: AwsConfig,
    readonly clients: AwsClientConfig = { region: config.region },
    options: { clock?: Clock } = {},
  ) {
    this.table = openTable(required(config, 'table'), clients);
    this.clock = options.clock ?? LAMBDA_CLOCK;
  }

  private readonly kms = lazy(() => new KMSClient(this.clients));
  private readonly s3 = lazy(() => new S3Client(this.clients));
  /** Secrets Manager, for the platform keys (platform-keys.ts). */
  readonly secrets = lazy(() => new SecretsManagerClient(this.clients));

  readonly vault = lazy(() => new DynamoVault(this.table, this.kms(), required(this.config, 'kmsKeyId')));
  readonly results = lazy(() => new S3ResultStore(this.s3(), required(this.config, 'resultsBucket')));
  readonly limiter = lazy(() => new DynamoRateLimiter(this.table));
  readonly directory = lazy(() => new DynamoDirectory(this.table));
  readonly sessions = lazy(() => new DynamoSessionStore(this.table, { now: () => this.clock.now() }));
  readonly tokens = lazy(() => new DynamoApiTokenStore(this.table, { now: () => this.clock.now() }));
  readonly workflows = lazy(() => new DynamoWorkflowStore(this.table));
  readonly deliveries = lazy(() => new DynamoWebhookDeliveryStore(this.table, this.clock));
  readonly audit = lazy(() => new DynamoRunAudit(this.table, this.clock));
  readonly visits = lazy(() => new DynamoStepVisits(this.table));
  readonly tallies = lazy(() => new DynamoQuorumTallies(this.table));
  readonly linkStore = lazy(() => new DynamoApprovalLinkStore(this.table));
  /** Appends to a run's audit trail (the ports' `recordAudit`). */
  readonly recordAudit = async (runId: string, entry: AuditEntry): Promise<void> => {
    await this.audit().append(runId, entry);
  };
}
