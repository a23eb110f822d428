// The AWS stack (issue 14) synthesized offline and checked three ways: its resources and their key
// properties (aws-cdk-lib/assertions), cdk-nag's AwsSolutions rules (every finding fixed or acknowledged
// with its reason in the construct), and cfn-lint over the template; then `cdk synth` from the repository
// root, as a user on a fresh clone runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { TABLE } from '../../adapters/aws/table.js';
import { LAMBDA_NAMES } from '../../functions/aws/config.js';
import { addStepgateStack } from '../../infra/aws/stack.js';
import { Stepgate } from '../../infra/aws/stepgate.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CDK_JSON = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the file's tests. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-infra-'));
  dirs.push(dir);
  return dir;
}

/**
 * The Lambdas are bundled by esbuild when their stack is synthesized, which takes a while: tests of the
 * template's shape skip it (CDK's `aws:cdk:bundling-stacks` context, as `cdk synth --exclusively` does),
 * and the `cdk synth` tests below bundle for real.
 */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** The app cdk.json runs, built in-process over cdk.json's context plus `context`, without bundling. */
function stepgateApp(context: Record<string, unknown> = {}) {
  const app = new App({
    context: { ...CDK_JSON.context, ...NO_BUNDLING, ...context },
    outdir: tempDir(),
  });
  const stack = addStepgateStack(app);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of the one resource of `type` whose properties match `props`. */
function logicalId(template: Template, type: string, props: Record<string, unknown> = {}): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0] ?? '';
}

describe('the Stepgate stack', () => {
  it('holds the single table with the adapters’ keys, TTL, on-demand billing, PITR and gsi1, retained', () => {
    const { template } = stepgateApp();
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
    });
  });

  it('keeps large results in an encrypted, private, TLS-only bucket that expires them and logs access', () => {
    const { template } = stepgateApp({ 'stepgate:largeResultDays': '7' });
    template.resourceCountIs('AWS::S3::Bucket', 3);
    const logs = logicalId(template, 'AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Id: 'expire-access-logs', ExpirationInDays: 90 })],
      },
    });
    const results = logicalId(template, 'AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Id: 'expire-large-results',
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: logs }, LogFilePrefix: 'large-results/' },
    });
    for (const bucket of [logs, results]) {
      const props = template.toJSON().Resources[bucket].Properties;
      expect(props.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('has a rotating KMS key for the vault and a generated link-signing key that is not in the template', () => {
    const { template } = stepgateApp();
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        PasswordLength: 64,
        ExcludePunctuation: true,
        ExcludeUppercase: true,
        ExcludeCharacters: 'ghijklmnopqrstuvwxyz',
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: Match.absent() });
  });

  it('creates the sender’s SES identity only when an email sender is configured', () => {
    expect(stepgateApp().template.findResources('AWS::SES::EmailIdentity')).toEqual({});
    const { template } = stepgateApp({ 'stepgate:emailSender': 'approvals@example.com' });
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'approvals@example.com' });
  });

  it('deletes its stores with the stack under removalPolicy DESTROY', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }));
    new Stepgate(stack, 'Stepgate', { removalPolicy: RemovalPolicy.DESTROY });
    const template = Template.fromStack(stack);
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::KMS::Key',
      'AWS::S3::Bucket',
      'AWS::SecretsManager::Secret',
    ]) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy, type).toBe('Delete');
      }
    }
    template.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });

  it('refuses a malformed prop or context value with a message naming it', () => {
    const build = (props: ConstructorParameters<typeof Stepgate>[2]) => () =>
      new Stepgate(new Stack(new App({ context: NO_BUNDLING })), 'Stepgate', props);
    expect(build({ domain: 'not a host' })).toThrow('Stepgate: domain must be a host name');
    expect(build({ emailSender: 'nobody' })).toThrow('Stepgate: emailSender must be an email address');
    expect(build({ retention: { largeResultDays: 0 } })).toThrow('Stepgate: retention.largeResultDays');
    expect(build({ retention: { accessLogDays: 1.5 } })).toThrow('Stepgate: retention.accessLogDays');
    expect(() => stepgateApp({ 'stepgate:largeResultDays': 'soon' })).toThrow(
      'context stepgate:largeResultDays must be a whole number of days, not "soon"',
    );
    expect(() => stepgateApp({ 'stepgate:domain': 42 })).toThrow('context stepgate:domain must be a string');
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the stack', () => {
    const { app } = stepgateApp({ 'stepgate:emailSender': 'approvals@example.com' });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('is acknowledged only where the construct says why, each finding by name', () => {
    const { app } = stepgateApp();
    const acknowledged: [path: string, rule: string, reason: string][] = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push([construct.node.path, rule.replace(/^Annotation::AwsSolutions-/, ''), reason]);
        }
      }
    }
    const at = (path: string, ...rules: string[]) => rules.map((rule) => [`Stepgate/Stepgate/${path}`, rule]);
    const arn = (kind: string) => `arn:<AWS::Partition>:${kind}`;
    const machines = `IAM5[Resource::${arn('states:<AWS::Region>:<AWS::AccountId>:stateMachine:Stepgate-*')}]`;
    const executions = `IAM5[Resource::${arn('states:<AWS::Region>:<AWS::AccountId>:execution:Stepgate-*')}]`;
    const results = 'IAM5[Resource::<StepgateLargeResults918B47A0.Arn>/*]';
    const deployer = 'Stepgate/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C';
    expect(acknowledged.map(([path, rule]) => [path, rule])).toEqual([
      ...at('AccessLogs', 'S1'),
      ...at('LinkSigningKey', 'SMG4'),
      ...at('AdminPassword', 'SMG4'),
      ...at('OriginKey', 'SMG4'),
      ...at(
        'Functions/ApiRole',
        results,
        machines,
        executions,
        'IAM5[Resource::*]',
        `IAM5[Resource::${arn('scheduler:<AWS::Region>:<AWS::AccountId>:schedule/Stepgate-schedules/*')}]`,
      ),
      ...at('Functions/Api', 'L1'),
      ...at('Functions/ToolCallRole', results),
      ...at('Functions/ToolCall', 'L1'),
      ...at('Functions/Notify', 'L1'),
      ...at('Functions/ApprovalRequestRole', machines),
      ...at('Functions/ApprovalRequest', 'L1'),
      ...at('Functions/ApprovalCloseRole', machines),
      ...at('Functions/ApprovalClose', 'L1'),
      ...at('Functions/Quorum', 'L1'),
      ...at('Functions/ScheduleFireRole', machines),
      ...at('Functions/ScheduleFire', 'L1'),
      ...at('Functions/RunStatusRole', executions),
      ...at('Functions/RunStatus', 'L1'),
      ...at('Functions/SetupRole', machines, executions, 'IAM5[Resource::*]'),
      ...at('Functions/Setup', 'L1'),
      ...at('Http/Api', 'APIG4'),
      ...at('Dashboard/Distribution', 'CFR1', 'CFR2', 'CFR3', 'CFR4'),
      ...at('Alarms', 'SNS2'),
      // CDK's own BucketDeployment function (one per stack), which copies the dashboard to its bucket.
      [deployer, 'L1'],
      ...[
        'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map(
          (action) => `IAM5[Action::${action}]`,
        ),
        `IAM5[Resource::${arn('s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*')}]`,
        'IAM5[Resource::<StepgateDashboardBucket49BBDC6E.Arn>/*]',
      ].map((rule) => [`${deployer}/ServiceRole`, rule]),
    ]);
    for (const [, , reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it('bites: a bucket added without TLS enforcement fails the checks and the synth', () => {
    const { app, stack } = stepgateApp();
    new s3.Bucket(stack, 'Careless', { serverAccessLogsBucket: stack.stepgate.accessLogs });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-S10');
    expect(() => app.synth({ force: true })).toThrow(/AwsSolutions-S10/);
  });
});

describe('cfn-lint', () => {
  it('passes the synthesized template', () => {
    const file = join(tempDir(), 'Stepgate.template.json');
    writeFileSync(file, JSON.stringify(stepgateApp().template.toJSON(), null, 2));
    // W3005 (a DependsOn also implied by a Ref or GetAtt) is CDK's way: it states a function's wait for
    // its role and policy, and a trigger's for what it runs after, explicitly. Redundant, not wrong.
    const result = spawnSync('cfn-lint', ['--format', 'parseable', file, '--ignore-checks', 'W3005'], {
      encoding: 'utf8',
    });
    if (result.error)
      throw new Error(`cfn-lint did not run (install it: pip install cfn-lint): ${result.error}`);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('npx cdk synth from the repository root', () => {
  // No network: a proxy nobody listens on for anything that would try; cdk.json turns notices off.
  const offline = { ...process.env, HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' };
  const cdk = (...args: string[]) =>
    spawnSync(join(ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--no-notices', '--quiet', ...args], {
      cwd: ROOT,
      env: offline,
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('writes the stack’s template offline', { timeout: 150_000 }, () => {
    const out = tempDir();
    const result = cdk('--output', out);
    expect(result.stderr).not.toMatch(/AwsSolutions-/);
    expect(result.status).toBe(0);
    const file = join(out, 'Stepgate.template.json');
    expect(existsSync(file)).toBe(true);
    const template = Template.fromJSON(JSON.parse(readFileSync(file, 'utf8')));
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::S3::Bucket', 3);
    // Each Lambda's bundle, as esbuild wrote it for the asset: reported, and under the 1.5 MB budget.
    const sizes: Record<string, number> = {};
    for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      if (!String(fn.Properties.Description ?? '').startsWith('Stepgate: ')) continue; // CDK's own trigger provider
      const asset = (fn.Metadata as Record<string, string>)['aws:asset:path'];
      sizes[String(fn.Properties.Description ?? id)] = statSync(join(out, String(asset), 'index.mjs')).size;
    }
    console.log(
      `Lambda bundles (unzipped):\n${Object.entries(sizes)
        .map(([name, bytes]) => `  ${name.padEnd(28)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB`)
        .join('\n')}`,
    );
    expect(Object.keys(sizes)).toHaveLength(LAMBDA_NAMES.length);
    for (const [name, bytes] of Object.entries(sizes)) expect(bytes, name).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('ends on a malformed context value with its message, not a stack trace', { timeout: 150_000 }, () => {
    const result = cdk('--output', tempDir(), '-c', 'stepgate:emailSender=nobody');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Stepgate: emailSender must be an email address, not "nobody"');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
