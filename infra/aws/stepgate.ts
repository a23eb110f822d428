// The Stepgate construct (issue 14): everything Stepgate needs in an AWS account, so a team can embed it in a
// stack of its own (`new Stepgate(this, 'Stepgate', props)`) or deploy infra/aws/app.ts as it is. Today it
// holds the stores: the DynamoDB single table (adapters/aws/table.ts's key schema), the KMS key that wraps
// the vault's data key, the S3 bucket for large tool results (and the bucket its access logs go to), the
// link-signing key in Secrets Manager and the SES identity approval emails are sent from. The Lambdas (API,
// activity handlers), the state machines, the schedules, the MCP servers and the alarms come next, with the
// props that configure them.
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { TABLE } from '../../adapters/aws/table.js';

/** How long what Stepgate stores outside its table is kept, in days. */
export interface StepgateRetention {
  /** Large tool results in S3 (kept by reference in the run's records): expired after this. Default 30. */
  readonly largeResultDays?: number;
  /** The S3 server access logs of the large-results bucket. Default 90. */
  readonly accessLogDays?: number;
}

/** What a Stepgate deployment is configured with. */
export interface StepgateProps {
  /**
   * The host name the API, the dashboard and the emailed approval links are served on
   * (`flows.example.com`); the Lambdas build their link URLs from it. Optional until they exist.
   */
  readonly domain?: string;
  /** The address approval emails are sent from; the construct creates its SES identity (to be verified). */
  readonly emailSender?: string;
  /** How long large results and access logs are kept. */
  readonly retention?: StepgateRetention;
  /**
   * What becomes of the stored data (table, key, buckets, secret) when it leaves the stack. Default
   * `RETAIN`; with `DESTROY` a bucket that still holds objects fails to delete (empty it first).
   */
  readonly removalPolicy?: RemovalPolicy;
}

const ACCESS_LOGS_BY_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';
const DEFAULT_LARGE_RESULT_DAYS = 30;
const DEFAULT_ACCESS_LOG_DAYS = 90;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const EMAIL = /^[^\s@]+@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** Stepgate's resources in one construct; see the module comment for what is there today. */
export class Stepgate extends Construct {
  /** The single table every AWS adapter reads and writes. */
  readonly table: dynamodb.Table;
  /** The key that wraps the vault's AES-256-GCM data key (rotated yearly by KMS). */
  readonly vaultKey: kms.Key;
  /** Tool results too large for a state's payload, stored by reference. */
  readonly largeResults: s3.Bucket;
  /** Where the large-results bucket's server access logs go. */
  readonly accessLogs: s3.Bucket;
  /** The HMAC key that signs approval links (generated at deploy, never in the template). */
  readonly linkSigningKey: secretsmanager.Secret;
  /** The SES identity of `emailSender`, when one is given. */
  readonly senderIdentity: ses.EmailIdentity | undefined;
  /** The validated `domain`, when one is given. */
  readonly domain: string | undefined;

  /** Creates the stores in `scope` under `id`; throws naming the prop when a prop is malformed. */
  constructor(scope: Construct, id: string, props: StepgateProps = {}) {
    super(scope, id);
    // The log bucket is granted by bucket policy, not the ACL the flag's default uses (ACLs stay disabled);
    // set here so a stack embedding the construct needs no flag of its own.
    this.node.setContext(ACCESS_LOGS_BY_POLICY, true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = props.retention ?? {};
    const largeResultDays = days(
      'retention.largeResultDays',
      retention.largeResultDays,
      DEFAULT_LARGE_RESULT_DAYS,
    );
    const accessLogDays = days('retention.accessLogDays', retention.accessLogDays, DEFAULT_ACCESS_LOG_DAYS);
    this.domain = checked('domain', props.domain, HOST_NAME, 'a host name like flows.example.com');
    const sender = checked('emailSender', props.emailSender, EMAIL, 'an email address');

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: TABLE.ttlAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE.gsi1.name,
      partitionKey: { name: TABLE.gsi1.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE.gsi1.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    this.vaultKey = new kms.Key(this, 'VaultKey', {
      description: 'Stepgate vault: wraps the data key of the AES-256-GCM secret vault',
      enableKeyRotation: true,
      removalPolicy,
    });

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...privateBucket(removalPolicy),
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(accessLogDays) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the access logs of the large-results bucket; logging it too would need ' +
        'another bucket, itself unlogged.',
    });
    this.largeResults = new s3.Bucket(this, 'LargeResults', {
      ...privateBucket(removalPolicy),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'large-results/',
      lifecycleRules: [
        {
          id: 'expire-large-results',
          expiration: Duration.days(largeResultDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.linkSigningKey = new secretsmanager.Secret(this, 'LinkSigningKey', {
      description: 'Stepgate: the HMAC key that signs approval links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.linkSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the link-signing key invalidates every approval link already emailed; rotation needs an ' +
        'overlap (sign with the new key, accept the previous one until its links expire), which comes ' +
        'with the approval Lambdas that read it.',
    });

    this.senderIdentity =
      sender === undefined
        ? undefined
        : new ses.EmailIdentity(this, 'Sender', { identity: ses.Identity.email(sender) });
  }
}

/** The settings every Stepgate bucket shares: encrypted, private, reachable over TLS only. */
function privateBucket(removalPolicy: RemovalPolicy): s3.BucketProps {
  return {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    removalPolicy,
  };
}

/** `value` when it is absent, a token (resolved at deploy) or matches `pattern`; otherwise throws. */
function checked(
  field: string,
  value: string | undefined,
  pattern: RegExp,
  what: string,
): string | undefined {
  if (value === undefined || Token.isUnresolved(value) || pattern.test(value)) return value;
  throw new Error(`Stepgate: ${field} must be ${what}, not ${JSON.stringify(value)}`);
}

/** `value` (or `fallback` when absent) as days of retention; throws naming `field` unless a whole number ≥ 1. */
function days(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isInteger(value) && value >= 1) return value;
  throw new Error(`Stepgate: ${field} must be a whole number of days, at least 1, not ${value}`);
}
