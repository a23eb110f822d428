// The Stepgate construct (issue 14): everything Stepgate needs in an AWS account, so a team can embed it in a
// stack of its own (`new Stepgate(this, 'Stepgate', props)`) or deploy infra/aws/app.ts as it is. It holds
// the stores (the DynamoDB single table with adapters/aws/table.ts's key schema, the KMS key that wraps the
// vault's data key, the S3 bucket for large tool results and the bucket its access logs go to, the
// link-signing key in Secrets Manager, the SES identity approval emails are sent from), the Lambdas
// (functions.ts: one per entry point of functions/aws/, with what each may touch), what runs the workflows
// (orchestration.ts: the state machines' role, the status rule, the schedule group), the HTTP API in front
// of the `api` function (http-api.ts), the dashboard (dashboard.ts: its bucket, and the CloudFront
// distribution that serves it and routes /api/* and /approve/* to the HTTP API, so the public URL the
// functions build links from is the distribution's unless a `domain` is given) and the alarms. The state
// machines are created by the API when a workflow is saved, named with `stateMachinePrefix`.
import { CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { TABLE } from '../../adapters/aws/table.js';
import { AwsConfigSchema } from '../../functions/aws/config.js';
import { StepgateDashboard } from './dashboard.js';
import { StepgateFunctions, stateMachineArns } from './functions.js';
import { StepgateHttpApi } from './http-api.js';
import { StepgateOrchestration } from './orchestration.js';

/** How long what Stepgate stores outside its table is kept, in days. */
export interface StepgateRetention {
  /** Large tool results in S3 (kept by reference in the run's records): expired after this. Default 30. */
  readonly largeResultDays?: number;
  /** The S3 server access logs of the large-results bucket. Default 90. */
  readonly accessLogDays?: number;
  /** The Lambdas' logs and the API's access logs (CloudWatch Logs). Default 30. */
  readonly logDays?: number;
}

/** Where alarms go. */
export interface StepgateAlarms {
  /** An address subscribed to the alarm topic (it confirms the subscription by email). */
  readonly email?: string;
}

/** What a Stepgate deployment is configured with. */
export interface StepgateProps {
  /**
   * The host name the API, the dashboard and the emailed approval links are served on
   * (`flows.example.com`); the Lambdas build their link URLs from it. Without it they use the CloudFront
   * distribution's own URL (`https://<id>.cloudfront.net`, the `Url` output).
   */
  readonly domain?: string;
  /**
   * An ACM certificate in us-east-1 (where CloudFront reads certificates) covering `domain`: the
   * distribution then answers on `domain` with it, TLS 1.2 at least; point the domain's DNS at the
   * `DistributionDomain` output. Without it, `domain` must reach the distribution by other means.
   */
  readonly certificateArn?: string;
  /** The address approval emails are sent from; the construct creates its SES identity (to be verified). */
  readonly emailSender?: string;
  /** How long large results and access logs are kept. */
  readonly retention?: StepgateRetention;
  /**
   * What becomes of the stored data (table, key, buckets, secret) when it leaves the stack. Default
   * `RETAIN`; with `DESTROY` a bucket that still holds objects fails to delete (empty it first).
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The MCP servers tool steps call, by name, as in stepgate.config.yaml's `mcpServers` — Streamable HTTP
   * only (`url`, optional `headers`): a Lambda cannot spawn a stdio server and keep it running, so a
   * `command` is refused at synth with what to do instead.
   */
  readonly mcpServers?: Record<string, unknown>;
  /** The start of every Stepgate state machine's name (letters, digits, '-', '_'). Default `<stack name>-`. */
  readonly stateMachinePrefix?: string;
  /** The tool policy (roles, writes, rate limits per tool), as stepgate.config.yaml's `policy`. */
  readonly policy?: Record<string, unknown>;
  /** Request limits (logins, run starts, chat, body sizes), as stepgate.config.yaml's `limits`. */
  readonly limits?: Record<string, unknown>;
  /**
   * The first admin, created at deploy when the directory is empty, with a generated password kept in
   * Secrets Manager (the `AdminPasswordSecret` output names it). Without it, nobody can log in until a
   * user is added to the table by other means.
   */
  readonly adminEmail?: string;
  /** Alarms on the functions' errors and throttles and the API's 5xx answers, sent to an SNS topic. */
  readonly alarms?: StepgateAlarms;
}

const ACCESS_LOGS_BY_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';
const DEFAULT_LARGE_RESULT_DAYS = 30;
const DEFAULT_ACCESS_LOG_DAYS = 90;
const DEFAULT_LOG_DAYS = 30;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const ACM_US_EAST_1 = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/;
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
  /** The Lambdas, by entry point. */
  readonly functions: StepgateFunctions;
  /** The state machines' role, the status rule, the schedule group and its role. */
  readonly orchestration: StepgateOrchestration;
  /** The HTTP API in front of the `api` function. */
  readonly httpApi: StepgateHttpApi;
  /** The dashboard's bucket and the CloudFront distribution in front of it and of the HTTP API. */
  readonly dashboard: StepgateDashboard;
  /** Where users, the dashboard and the emailed links reach Stepgate: `https://<domain>` or the distribution's URL. */
  readonly url: string;
  /** Where alarms are sent. */
  readonly alarmTopic: sns.Topic;
  /** The first admin's password (generated at deploy; read by the setup function only). */
  readonly adminPassword: secretsmanager.Secret;
  /** The key CloudFront proves itself with to the API (read by CloudFront at deploy and by the api function). */
  readonly originKey: secretsmanager.Secret;

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
        'This bucket receives the access logs of the large-results and dashboard buckets; logging it too ' +
        'would need another bucket, itself unlogged.',
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

    this.linkSigningKey = linkSigningKey(this, removalPolicy);

    this.senderIdentity =
      sender === undefined
        ? undefined
        : new ses.EmailIdentity(this, 'Sender', { identity: ses.Identity.email(sender) });

    const adminEmail = checked('adminEmail', props.adminEmail, EMAIL, 'an email address');
    this.adminPassword = adminPasswordSecret(this, removalPolicy);
    this.originKey = originKeySecret(this, removalPolicy);
    const logRetention = logDays(days('retention.logDays', retention.logDays, DEFAULT_LOG_DAYS));
    const prefix = statePrefix(props.stateMachinePrefix ?? `${Stack.of(this).stackName}-`);
    this.functions = new StepgateFunctions(this, 'Functions', { stores: this, logRetention });
    this.orchestration = new StepgateOrchestration(this, 'Orchestration', {
      functions: this.functions,
      prefix,
    });
    this.httpApi = new StepgateHttpApi(this, 'Http', { handler: this.functions.byName.api, logRetention });
    this.dashboard = new StepgateDashboard(this, 'Dashboard', {
      apiDomainName: this.httpApi.domainName,
      alias: alias(this.domain, props.certificateArn),
      accessLogs: this.accessLogs,
      removalPolicy,
      logRetention,
      originKey: this.originKey,
    });
    this.url = this.domain === undefined ? this.dashboard.url : `https://${this.domain}`;
    const { stateMachineRole, schedulerRole, schedulesArn } = this.orchestration;
    this.configureFunctions(props, { prefix, sender, adminEmail });
    this.functions.grant(this, {
      stateMachines: { ...stateMachineArns(this, prefix), roleArn: stateMachineRole.roleArn },
      schedules: { schedulesArn, roleArn: schedulerRole.roleArn },
    });
    this.alarmTopic = this.alarms(props.alarms ?? {});
    // The templates' state machines and the first admin, once everything they need exists.
    new triggers.Trigger(this, 'Setup', {
      handler: this.functions.byName.setup,
      executeAfter: [this.orchestration, this.functions, this.table],
      executeOnHandlerChange: true,
    });
    new CfnOutput(this, 'AdminPasswordSecret', {
      description: "Stepgate: the Secrets Manager secret holding the first admin's password",
      value: this.adminPassword.secretName,
    });
    new CfnOutput(this, 'Url', {
      description: 'Stepgate: the dashboard, the API and the approval links',
      value: this.url,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: "Stepgate: the HTTP API's own URL (behind the distribution; for diagnosis)",
      value: this.httpApi.url,
    });
    new CfnOutput(this, 'DistributionDomain', {
      description: 'Stepgate: the CloudFront domain (point the `domain` at it with a CNAME or an alias)',
      value: this.dashboard.distribution.distributionDomainName,
    });
  }

  /** Gives each function the settings it reads (functions/aws/config.ts), from the props and the resources. */
  private configureFunctions(
    props: StepgateProps,
    checkedProps: { prefix: string; sender: string | undefined; adminEmail: string | undefined },
  ): void {
    const { prefix, sender, adminEmail } = checkedProps;
    const fns = this.functions.byName;
    const { stateMachineRole, schedulerRole, scheduleGroup } = this.orchestration;
    this.functions.configure({
      table: this.table.tableName,
      kmsKeyId: this.vaultKey.keyArn,
      resultsBucket: this.largeResults.bucketName,
      publicUrl: this.url,
      linkSecretArn: this.linkSigningKey.secretArn,
      ...(sender === undefined ? {} : { emailFrom: sender }),
      mcpServers: JSON.stringify(checkedSetting('mcpServers', props.mcpServers ?? {})),
      ...(props.policy === undefined
        ? {}
        : { policy: JSON.stringify(checkedSetting('policy', props.policy)) }),
      ...(props.limits === undefined
        ? {}
        : { limits: JSON.stringify(checkedSetting('limits', props.limits)) }),
      toolCallFunctionArn: fns['tool-call'].functionArn,
      notifyFunctionArn: fns.notify.functionArn,
      approvalRequestFunctionArn: fns['approval-request'].functionArn,
      quorumFunctionArn: fns.quorum.functionArn,
      approvalCloseFunctionArn: fns['approval-close'].functionArn,
      stateMachinePrefix: prefix,
      stateMachineRoleArn: stateMachineRole.roleArn,
      scheduleGroup: scheduleGroup.name ?? `${prefix}schedules`,
      schedulerRoleArn: schedulerRole.roleArn,
      scheduleFireFunctionArn: fns['schedule-fire'].functionArn,
      ...(adminEmail === undefined ? {} : { adminEmail }),
      adminPasswordArn: this.adminPassword.secretArn,
      originKeyArn: this.originKey.secretArn,
    });
  }

  /** An alarm per function on errors and throttles, one on the API's 5xx answers; all to one topic. */
  private alarms(props: StepgateAlarms): sns.Topic {
    const email = checked('alarms.email', props.email, EMAIL, 'an email address');
    const topic = new sns.Topic(this, 'Alarms', { displayName: 'Stepgate alarms', enforceSSL: true });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Alarm notifications carry alarm names and thresholds only, no workflow data or secrets.',
    });
    if (email !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(email));
    const notify = new actions.SnsAction(topic);
    const alarm = (id: string, metric: cloudwatch.IMetric, what: string) =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Stepgate: ${what}`,
      }).addAlarmAction(notify);
    for (const [name, fn] of Object.entries(this.functions.byName)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: Duration.minutes(5) }), `${name} function errors`);
      alarm(`${name}Throttles`, fn.metricThrottles({ period: Duration.minutes(5) }), `${name} throttled`);
    }
    alarm('Api5xx', this.httpApi.api.metricServerError({ period: Duration.minutes(5) }), 'API answers 5xx');
    return topic;
  }
}

/** The distribution's own name and certificate, when `certificateArn` is given; throws naming a malformed prop. */
function alias(
  domain: string | undefined,
  certificateArn: string | undefined,
): { domainName: string; certificateArn: string } | undefined {
  const arn = checked(
    'certificateArn',
    certificateArn,
    ACM_US_EAST_1,
    'the ARN of an ACM certificate in us-east-1 (CloudFront reads certificates there only)',
  );
  if (arn === undefined) return undefined;
  if (domain === undefined) throw new Error('Stepgate: certificateArn needs the domain it covers (domain)');
  return { domainName: domain, certificateArn: arn };
}

/** The state machine name prefix, checked: AWS names allow 80 characters, Stepgate's ids need most of them. */
function statePrefix(prefix: string): string {
  if (Token.isUnresolved(prefix) || /^[A-Za-z0-9_-]{1,40}$/.test(prefix)) return prefix;
  throw new Error(
    `Stepgate: stateMachinePrefix must be 1-40 letters, digits, '-' or '_', not ${JSON.stringify(prefix)}`,
  );
}

/**
 * A setting given as a prop, checked as the functions will read it (functions/aws/config.ts): a stdio MCP
 * server, an unknown policy key or a malformed limit ends the synth, naming the prop.
 */
function checkedSetting(prop: 'mcpServers' | 'policy' | 'limits', value: unknown): unknown {
  const parsed = AwsConfigSchema.shape[prop].safeParse(JSON.stringify(value));
  if (parsed.success) return value;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `  ${prop}${path === '' ? '' : `.${path}`}: ${issue.message}`;
  });
  throw new Error(`Stepgate: ${prop} cannot be used:\n${problems.join('\n')}`);
}

/** CloudWatch Logs retention accepts listed values only: the first one at least `days` long. */
function logDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays)
    .filter((value): value is number => typeof value === 'number' && value > 0)
    .sort((a, b) => a - b);
  return (allowed.find((value) => value >= days) ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}

/** A secret Secrets Manager generates at deploy (never in the template), with why it is not rotated. */
function generatedSecret(
  scope: Construct,
  id: string,
  removalPolicy: RemovalPolicy,
  what: { description: string; generate: secretsmanager.SecretStringGenerator; notRotated: string },
): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, id, {
    description: what.description,
    generateSecretString: what.generate,
    removalPolicy,
  });
  Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: what.notRotated });
  return secret;
}

/** The HMAC key that signs approval links: 64 hex digits, the 32-byte key adapters/aws/platform-secrets.ts reads. */
function linkSigningKey(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
  return generatedSecret(scope, 'LinkSigningKey', removalPolicy, {
    description: 'Stepgate: the HMAC key that signs approval links',
    generate: {
      passwordLength: 64,
      excludePunctuation: true,
      excludeUppercase: true,
      excludeCharacters: 'ghijklmnopqrstuvwxyz',
    },
    notRotated:
      'Rotating the link-signing key invalidates every approval link already emailed; rotation needs an ' +
      'overlap (sign with the new key, accept the previous one until its links expire), which comes ' +
      'with the approval Lambdas that read it.',
  });
}

/** The key CloudFront sends the API with every request. */
function originKeySecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
  return generatedSecret(scope, 'OriginKey', removalPolicy, {
    description: 'Stepgate: the key CloudFront sends the API with (requests without it are refused)',
    generate: { passwordLength: 64, excludePunctuation: true },
    notRotated:
      'CloudFront reads the key when the stack deploys, the API when a container starts: a rotation ' +
      'between deployments would lock CloudFront out. Rotate it by redeploying after changing it.',
  });
}

/** The first admin's password, read by the setup function only. */
function adminPasswordSecret(scope: Construct, removalPolicy: RemovalPolicy): secretsmanager.Secret {
  return generatedSecret(scope, 'AdminPassword', removalPolicy, {
    description: "Stepgate: the first admin's password, set once at deploy (change it after logging in)",
    generate: { passwordLength: 24, excludePunctuation: true },
    notRotated:
      'A one-time initial password: the setup function sets it once, on an empty directory; the admin ' +
      'changes it after logging in, so rotating the secret would change nothing.',
  });
}

/** The settings every Stepgate bucket shares: encrypted, private, reachable over TLS only. */
export function privateBucket(removalPolicy: RemovalPolicy): s3.BucketProps {
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
