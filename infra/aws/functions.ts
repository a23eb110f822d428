// Stepgate's Lambdas (issue 14): one NodejsFunction per entry point of functions/aws/ (config.ts's
// LAMBDA_NAMES), bundled by esbuild at synth (ESM, Node 22, arm64; the AWS SDK v3 is left to the runtime,
// which ships it), each with its own log group, its own role and only the environment variables
// config.ts's FUNCTION_ENV says it reads. What each may touch is granted in `grant` below, one line per
// kind of access, so a reader sees in one place who may do what:
//
// | function | table | vault key | results | link key | email | Step Functions | Scheduler |
// | --- | --- | --- | --- | --- | --- | --- | --- |
// | api | read/write | encrypt/decrypt | read | read, origin key | send | deploy, start, stop, read, answer | manage, pass role |
// | tool-call | read/write | decrypt | read/write | – | – | – | – |
// | notify | read/write | decrypt | – | – | send | – | – |
// | approval-request | read/write | decrypt | – | read | send | answer | – |
// | approval-close | read/write | decrypt | – | read | send | answer | – |
// | quorum | read/write | – | – | – | – | – | – |
// | run-status | read/write | – | – | – | – | read (a completed run's history) | – (invokes approval-close) |
// | schedule-fire | read/write | decrypt | – | – | – | start | – |
// | setup | read/write | – | – | admin password: read | – | deploy (templates), read (earlier runs' history) | – |
//
// "read/write" on the table is DynamoDB's data-plane actions on the table and its index (no table or
// stream administration): every kind of item shares the one table and the adapters' transactions span
// kinds, so a finer split by key prefix (dynamodb:LeadingKeys) would not hold.
import { ArnFormat, type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { TABLE } from '../../adapters/aws/table.js';
import {
  type AwsSetting,
  ENV,
  FUNCTION_ENV,
  LAMBDA_NAMES,
  type LambdaName,
} from '../../functions/aws/config.js';
import { BANNER, galleryFiles, WITH_TEMPLATES } from '../../scripts/bundle-lambdas.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The API answers within API Gateway's 29 s; an activity may use Lambda's 15 minutes (no Task waits longer). */
const API_TIMEOUT = Duration.seconds(29);
const ACTIVITY_TIMEOUT = Duration.minutes(15);

/** The stores the functions use (the Stepgate construct's). */
export interface StepgateStores {
  readonly table: dynamodb.ITable;
  readonly vaultKey: kms.IKey;
  readonly largeResults: s3.IBucket;
  readonly linkSigningKey: secretsmanager.ISecret;
  readonly senderIdentity: ses.IEmailIdentity | undefined;
  /** The first admin's generated password, which only the setup function reads. */
  readonly adminPassword: secretsmanager.ISecret;
  /** The key CloudFront sends the API with, which only the api function reads. */
  readonly originKey: secretsmanager.ISecret;
}

/** What the functions are configured with. */
export interface StepgateFunctionsProps {
  readonly stores: StepgateStores;
  /** How long the functions' logs are kept. */
  readonly logRetention: logs.RetentionDays;
}

/** The Lambdas, by entry point name; `configure` and `grant` finish them once the rest of the stack exists. */
export class StepgateFunctions extends Construct {
  readonly byName: Readonly<Record<LambdaName, NodejsFunction>>;

  constructor(scope: Construct, id: string, props: StepgateFunctionsProps) {
    super(scope, id);
    const byName: Partial<Record<LambdaName, NodejsFunction>> = {};
    for (const name of LAMBDA_NAMES) byName[name] = lambdaFunction(this, name, props.logRetention);
    this.byName = byName as Record<LambdaName, NodejsFunction>;
  }

  /** Sets on each function the settings it reads (FUNCTION_ENV) among `settings`. */
  configure(settings: Partial<Record<AwsSetting, string>>): void {
    for (const name of LAMBDA_NAMES)
      for (const setting of FUNCTION_ENV[name]) {
        const value = settings[setting];
        if (value !== undefined && setting !== 'region')
          this.byName[name].addEnvironment(ENV[setting], value);
      }
  }

  /** Grants each function what the table in the module comment says, and nothing else. */
  grant(
    stores: StepgateStores,
    access: { stateMachines: StateMachineArns; schedules: ScheduleAccess },
  ): void {
    const f = this.byName;
    const { table, vaultKey, largeResults, linkSigningKey, senderIdentity } = stores;
    const tableArns = [table.tableArn, `${table.tableArn}/index/${TABLE.gsi1.name}`];
    for (const fn of Object.values(f)) allow(fn, TABLE_ACTIONS, tableArns);
    // The vault's data key: created once (GenerateDataKey, by the API), then only unwrapped (Decrypt).
    allow(f.api, ['kms:GenerateDataKey', 'kms:Decrypt'], [vaultKey.keyArn]);
    for (const fn of [
      f['tool-call'],
      f.notify,
      f['approval-request'],
      f['approval-close'],
      f['schedule-fire'],
    ])
      allow(fn, ['kms:Decrypt'], [vaultKey.keyArn]);
    const results = `${largeResults.bucketArn}/*`;
    allow(f.api, ['s3:GetObject'], [results]);
    allow(f['tool-call'], ['s3:GetObject', 's3:PutObject'], [results]);
    for (const fn of [f.api, f['approval-request'], f['approval-close']]) linkSigningKey.grantRead(fn);
    stores.originKey.grantRead(f.api);
    if (senderIdentity !== undefined)
      for (const fn of [f.api, f.notify, f['approval-request'], f['approval-close']])
        senderIdentity.grantSendEmail(fn);
    const { machines, executions, roleArn } = access.stateMachines;
    for (const fn of [f.api, f['approval-request'], f['approval-close']])
      allow(fn, ['states:SendTaskSuccess', 'states:SendTaskFailure'], [machines]);
    allow(f['schedule-fire'], ['states:StartExecution'], [machines]);
    // A run that ended: its open levels are closed by the approval-close function.
    allow(f['run-status'], ['lambda:InvokeFunction'], [f['approval-close'].functionArn]);
    // A run that completed: what decided its path is read from its trail, execution history included, once.
    allow(f['run-status'], ['states:GetExecutionHistory'], [executions]);
    allow(f.api, STATE_MACHINE_ACTIONS, [machines]);
    allow(
      f.api,
      ['states:StopExecution', 'states:DescribeExecution', 'states:GetExecutionHistory'],
      [executions],
    );
    // ValidateStateMachineDefinition checks a definition before it names any resource: it has none.
    allow(f.api, ['states:ValidateStateMachineDefinition'], ['*']);
    allow(f.api, ['iam:PassRole'], [roleArn, access.schedules.roleArn]);
    allow(f.api, SCHEDULE_ACTIONS, [access.schedules.schedulesArn]);
    // The deploy-time setup installs the templates: it deploys state machines as the API does.
    allow(f.setup, DEPLOY_ACTIONS, [machines]);
    allow(f.setup, ['states:ValidateStateMachineDefinition'], ['*']);
    allow(f.setup, ['iam:PassRole'], [roleArn]);
    // ... and records what decided the path of runs that completed before run records kept it.
    allow(f.setup, ['states:GetExecutionHistory'], [executions]);
    stores.adminPassword.grantRead(f.setup);
    this.acknowledgeWildcards(stores, access);
  }

  /** cdk-nag's IAM5 findings this grant has on purpose, each with its reason (they are matched exactly). */
  private acknowledgeWildcards(
    stores: StepgateStores,
    access: { stateMachines: StateMachineArns; schedules: ScheduleAccess },
  ): void {
    const f = this.byName;
    const bucket = Stack.of(this).getLogicalId(stores.largeResults.node.defaultChild as CfnElement);
    const ack = (fn: lambda.IFunction, finding: string, reason: string) =>
      Validations.of(fn.role ?? fn).acknowledge({ id: `AwsSolutions-IAM5[Resource::${finding}]`, reason });
    const objects = 'Large results are objects named by run, step and hash, written and read one by one.';
    ack(f.api, `<${bucket}.Arn>/*`, objects);
    ack(f['tool-call'], `<${bucket}.Arn>/*`, objects);
    const machines = nagArn(access.stateMachines.machines);
    for (const fn of [f.api, f['approval-request'], f['approval-close'], f['schedule-fire'], f.setup])
      ack(
        fn,
        machines,
        "Stepgate's state machines are created by the API as workflows are saved; all are named with the " +
          "stack's prefix, which is what this names.",
      );
    for (const fn of [f.api, f['run-status'], f.setup])
      ack(fn, nagArn(access.stateMachines.executions), "The executions of the prefix's state machines.");
    for (const fn of [f.api, f.setup])
      ack(fn, '*', 'ValidateStateMachineDefinition has no resource type: IAM allows it on * only.');
    ack(
      f.api,
      nagArn(access.schedules.schedulesArn),
      "One EventBridge schedule per Stepgate schedule, all in the stack's schedule group.",
    );
  }
}

/** The DynamoDB data-plane actions the adapters use (a transaction's items are authorized as puts, updates, deletes, checks). */
const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/** Deploying a workflow version: create or update its state machine, publish, point the live alias. */
const DEPLOY_ACTIONS = [
  'states:CreateStateMachine',
  'states:UpdateStateMachine',
  'states:DeleteStateMachine',
  'states:DescribeStateMachine',
  'states:PublishStateMachineVersion',
  'states:CreateStateMachineAlias',
  'states:UpdateStateMachineAlias',
  'states:DescribeStateMachineAlias',
];

/** What the API does to state machines: deploy workflow versions and start runs. */
const STATE_MACHINE_ACTIONS = [...DEPLOY_ACTIONS, 'states:StartExecution'];

const SCHEDULE_ACTIONS = [
  'scheduler:CreateSchedule',
  'scheduler:UpdateSchedule',
  'scheduler:DeleteSchedule',
  'scheduler:GetSchedule',
];

/** An ARN built by formatArn as cdk-nag prints it (pseudo parameters in angle brackets). */
function nagArn(arn: string): string {
  return arn
    .replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/g, '<AWS::Partition>')
    .replace(/\$\{Token\[AWS\.Region\.\d+\]\}/g, '<AWS::Region>')
    .replace(/\$\{Token\[AWS\.AccountId\.\d+\]\}/g, '<AWS::AccountId>');
}

/** The ARNs of Stepgate's state machines (names start with the stack's prefix) and the role they run as. */
export interface StateMachineArns {
  machines: string;
  executions: string;
  roleArn: string;
}

/** Where the schedules live and the role EventBridge Scheduler invokes the fire function as. */
export interface ScheduleAccess {
  schedulesArn: string;
  roleArn: string;
}

/** The ARN patterns of the state machines named `<prefix>…` (versions and aliases included) and their executions. */
export function stateMachineArns(scope: Construct, prefix: string): Omit<StateMachineArns, 'roleArn'> {
  const stack = Stack.of(scope);
  const arn = (resource: string) =>
    stack.formatArn({
      service: 'states',
      resource,
      resourceName: `${prefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  return { machines: arn('stateMachine'), executions: arn('execution') };
}

/** The entry point `name` as a function with its log group. */
function lambdaFunction(
  scope: Construct,
  name: LambdaName,
  logRetention: logs.RetentionDays,
): NodejsFunction {
  const id = pascal(name);
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logRetention });
  // A role of its own that may write its log group and nothing else yet (no managed policy): `grant` adds the rest.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Stepgate ${name} function`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new NodejsFunction(scope, id, {
    role,
    entry: `${ROOT}functions/aws/${name}.ts`,
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: name === 'api' ? 1024 : 512,
    timeout: name === 'api' ? API_TIMEOUT : ACTIVITY_TIMEOUT,
    logGroup,
    description: `Stepgate: ${name}`,
    depsLockFilePath: `${ROOT}package-lock.json`,
    projectRoot: ROOT,
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      // As scripts/bundle-lambdas.ts builds them (which also leaves zod's other languages out, a plugin
      // NodejsFunction cannot take): `require` for CommonJS dependencies, the runtime's own AWS SDK.
      banner: BANNER.replace(/\n/g, ' '),
      mainFields: ['module', 'main'],
      externalModules: ['@aws-sdk/*'],
      ...(WITH_TEMPLATES.includes(name) ? { commandHooks: withTemplates } : {}),
    },
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Node.js 22 is the runtime the bundles are built for (esbuild target node22) and the one Stepgate is ' +
      'tested against; a newer runtime is adopted with a change of the target, not by the linter.',
  });
  return fn;
}

/** Copies the template gallery beside the bundle of the functions that read it (functions/aws/templates.ts). */
const withTemplates = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir: string, outputDir: string) => [
    `mkdir -p "${outputDir}/templates"`,
    ...galleryFiles().map((f) => `cp "${inputDir}/templates/${f}" "${outputDir}/templates/${f}"`),
  ],
};

/** Adds a statement allowing `actions` on `resources` to `fn`'s role. */
function allow(fn: lambda.IFunction, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));
}

/** `tool-call` → `ToolCall`. */
function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match: string, _dash: string, c: string) => c.toUpperCase());
}
