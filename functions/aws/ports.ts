// The AWS adapters of every port, built once per Lambda container and shared by its invocations: one
// DynamoDB document client over the single table, KMS for the vault's data key, S3 for large tool
// results, the MCP registry (Streamable HTTP only, see config.ts), the tool pipeline, and the approval
// service. Each adapter is made on first use, so a function that never touches S3 needs no bucket and a
// missing variable is named when (and only when) the function needs it. What other parts of the AWS
// deployment provide (answering a level's task token, whether a run still runs, the platform keys from
// Secrets Manager, SES email) comes in as AwsApprovalSeams: parameters, never stand-ins.
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoApprovalLinkStore } from '../../adapters/aws/approval-link-store.js';
import { DynamoApprovalStore } from '../../adapters/aws/approval-store.js';
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
import { McpRegistry } from '../../adapters/mcp/registry.js';
import { ApprovalLinks, linkNotifier } from '../core/approval-links.js';
import { type ApprovalDeps, ApprovalService } from '../core/approvals.js';
import type { AuditEntry } from '../core/audit.js';
import { ChannelNotifier, type SmtpTransportFactory } from '../core/notify/notifier.js';
import { createSsrfGuard } from '../core/notify/ssrf.js';
import type { Clock, Notifier, TimerHandle } from '../core/ports.js';
import { ToolPipeline } from '../core/tool-pipeline.js';
import { type AwsConfig, required } from './config.js';

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

/** Keys kept in Secrets Manager (STEPGATE_LINK_SECRET_ARN), read by the platform-secrets module. */
export interface PlatformKeys {
  /** HMAC key of the emailed approval links (at least 32 bytes). */
  linkSecret: Uint8Array;
  /** AES-256-GCM key sealing each level's task token in its approval record (32 bytes). */
  callbackKey: Uint8Array;
}

/** How a decided level reaches its run: only the functions that take decisions (the API) need it. */
export interface ApprovalDecisions {
  /** Answers the level's task token (SendTaskSuccess / SendTaskFailure: `aslCallbackAnswer` says which). */
  raiseEvent: ApprovalDeps['raiseEvent'];
  /** Whether the run's execution still runs. */
  runActive: ApprovalDeps['runActive'];
}

/** What the approval service needs from the rest of the AWS deployment. */
export interface AwsApprovalSeams {
  keys: PlatformKeys;
  /** Absent in the activity functions (approval-request, approval-close): they never decide a level. */
  decisions?: ApprovalDecisions;
  /** Sends the approvers' emails; by default the vault-configured ChannelNotifier (`AwsPorts.notifier`). */
  notifier?: Notifier;
  /** The links also need the approver logged in. Default false. */
  requireLogin?: boolean;
}

/** The service of a function that opens and closes levels: deciding one is the API's, refused here. */
const NO_DECISIONS: ApprovalDecisions = {
  raiseEvent: async () => {
    throw new Error("this function opens and closes approval levels; deciding one is the API function's");
  },
  runActive: async () => {
    throw new Error("this function opens and closes approval levels; deciding one is the API function's");
  },
};

/** The ApprovalService and the signed links it emails (the links decide through the service). */
export interface AwsApprovals {
  approvals: ApprovalService;
  links: ApprovalLinks;
  store: DynamoApprovalStore;
}

/** Memoises `make`'s value on first use. */
function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/** The adapters of one container; each is made on first use. */
export class AwsPorts {
  readonly table: Table;
  readonly clock: Clock;

  constructor(
    readonly config: AwsConfig,
    readonly clients: AwsClientConfig = { region: config.region },
    options: { clock?: Clock; smtp?: SmtpTransportFactory } = {},
  ) {
    this.table = openTable(required(config, 'table'), clients);
    this.clock = options.clock ?? LAMBDA_CLOCK;
    this.smtp = options.smtp;
  }

  private readonly smtp: SmtpTransportFactory | undefined;
  private readonly kms = lazy(() => new KMSClient(this.clients));
  private readonly s3 = lazy(() => new S3Client(this.clients));

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
  readonly registry = lazy(
    () =>
      new McpRegistry(this.config.mcpServers, {
        logger: { warn: (message) => console.warn(`mcp: ${message}`) },
      }),
  );
  readonly pipeline = lazy(
    () =>
      new ToolPipeline({
        registry: this.registry(),
        vault: this.vault(),
        policy: this.config.policy,
        limiter: this.limiter(),
        clock: this.clock,
      }),
  );
  /** Email (SMTP_URL from the vault, e.g. SES's SMTP interface), Slack, Teams and SMS, as locally. */
  readonly notifier = lazy(
    () =>
      new ChannelNotifier({
        vault: this.vault(),
        config: { email: { from: required(this.config, 'emailFrom') } },
        ssrf: createSsrfGuard(),
        clock: this.clock,
        ...(this.smtp === undefined ? {} : { smtp: this.smtp }),
      }),
  );

  /** Appends to a run's audit trail (the ports' `recordAudit`). */
  readonly recordAudit = async (runId: string, entry: AuditEntry): Promise<void> => {
    await this.audit().append(runId, entry);
  };

  /**
   * The approval service over the DynamoDB approval store (task tokens sealed with the callback key) and
   * its emailed links; the links decide through the service, which emails them through the notifier.
   */
  approvals(seams: AwsApprovalSeams): AwsApprovals {
    const store = new DynamoApprovalStore(this.table, {
      callbackKey: seams.keys.callbackKey,
      audit: this.audit(),
    });
    const late: { links?: ApprovalLinks } = {};
    const notifier = seams.notifier ?? this.notifier();
    const approvals = new ApprovalService({
      store,
      directory: this.directory(),
      clock: this.clock,
      notifier: {
        requested: (record) =>
          linkNotifier({
            links: late.links as ApprovalLinks,
            notifier,
            directory: this.directory(),
            recordAudit: this.recordAudit,
          }).requested(record),
      },
      ...(seams.decisions ?? NO_DECISIONS),
      recordAudit: this.recordAudit,
    });
    late.links = new ApprovalLinks({
      secret: seams.keys.linkSecret,
      store: this.linkStore(),
      approvals,
      approvalStore: store,
      recordAudit: this.recordAudit,
      clock: this.clock,
      baseUrl: required(this.config, 'publicUrl'),
      requireLogin: seams.requireLogin === true,
    });
    return { approvals, links: late.links, store };
  }
}

/**
 * A value made once per container on first call, e.g. the ports. A failed build is forgotten, so the next
 * invocation tries again rather than failing for the container's lifetime.
 */
export function perContainer<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}
