// The compute half of the AWS stack (issue 14), synthesized offline without bundling (the `cdk synth`
// test of aws.test.ts bundles for real): one Lambda per entry point with only the variables it reads, a
// role each that grants what infra/aws/functions.ts's table says and no managed policy, the state
// machines' role limited to the activity functions, the status rule, the schedule group and its role,
// the HTTP API with access logs, the alarms, and the props that are refused at synth.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV, FUNCTION_ENV, LAMBDA_NAMES } from '../../functions/aws/config.js';
import { addStepgateStack } from '../../infra/aws/stack.js';
import { Stepgate, type StepgateProps } from '../../infra/aws/stepgate.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CDK_JSON = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function stepgateTemplate(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { ...CDK_JSON.context, ...NO_BUNDLING, ...context } });
  return Template.fromStack(addStepgateStack(app));
}

function constructTemplate(props: StepgateProps): Template {
  const stack = new Stack(new App({ context: NO_BUNDLING }), 'Embedding');
  new Stepgate(stack, 'Stepgate', props);
  return Template.fromStack(stack);
}

type Resource = { Properties: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const template = stepgateTemplate({ 'stepgate:emailSender': 'approvals@example.com' });
const resources = template.toJSON().Resources as Record<string, Resource>;

/** The function whose description names `name`, with its logical id. */
function lambda(name: string): [string, Resource] {
  const found = Object.entries(resources).filter(
    ([, r]) => r.Properties?.Description === `Stepgate: ${name}`,
  ) as [string, Resource][];
  expect(found, name).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** Every statement of the policies attached to `roleId`. */
function statementsOf(roleId: string): Statement[] {
  return Object.values(resources)
    .filter((r) =>
      (r.Properties?.Roles as unknown[] | undefined)?.some((x) => JSON.stringify(x).includes(roleId)),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** The actions `roleId`'s policies allow, flattened. */
function actionsOf(roleId: string): string[] {
  return statementsOf(roleId).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

/** A function's environment variables (none when it has none, or is not there). */
function variablesOf(fn: Resource | undefined): Record<string, string> {
  return (fn?.Properties.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
}

function roleOf(fn: Resource): string {
  return ((fn.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'] ?? [])[0] ?? '';
}

describe('the Lambdas', () => {
  it('are one per entry point: Node 22, arm64, ESM bundles, their own log group', () => {
    const ours = Object.values(resources).filter((r) =>
      String(r.Properties?.Description ?? '').startsWith('Stepgate: '),
    );
    expect(ours.filter((r) => JSON.stringify(r).includes('"Runtime"'))).toHaveLength(LAMBDA_NAMES.length);
    for (const name of LAMBDA_NAMES) {
      const [, fn] = lambda(name);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: name === 'api' ? 29 : 900,
      });
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.any(String) } });
    }
  });

  it('get exactly the variables config.ts says each reads', () => {
    // The policy, the limits and the admin's email are set only when the props give them.
    for (const name of LAMBDA_NAMES) {
      const [, fn] = lambda(name);
      const variables = Object.keys(
        (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
      ).filter((v) => v !== 'NODE_OPTIONS');
      const expected = FUNCTION_ENV[name]
        .filter((s) => !['region', 'policy', 'limits', 'adminEmail'].includes(s))
        .map((s) => ENV[s]);
      expect(variables.sort(), name).toEqual([...expected].sort());
    }
  });

  it('run under roles of their own with no managed policy and no wildcard action', () => {
    const roleIds = new Set(LAMBDA_NAMES.map((name) => roleOf(lambda(name)[1])));
    expect(roleIds.size).toBe(LAMBDA_NAMES.length);
    for (const roleId of roleIds) {
      expect(resources[roleId]?.Properties.ManagedPolicyArns, roleId).toBeUndefined();
      for (const action of actionsOf(roleId)) expect(action, roleId).not.toContain('*');
    }
  });

  it('are granted per the table: only the API deploys and stops, only tool-call writes results', () => {
    const actions = (name: string) => actionsOf(roleOf(lambda(name)[1]));
    expect(actions('api')).toEqual(
      expect.arrayContaining([
        'states:CreateStateMachine',
        'states:PublishStateMachineVersion',
        'states:UpdateStateMachineAlias',
        'states:StartExecution',
        'states:StopExecution',
        'states:GetExecutionHistory',
        'states:SendTaskSuccess',
        'scheduler:CreateSchedule',
        'iam:PassRole',
        'kms:GenerateDataKey',
        'ses:SendEmail',
      ]),
    );
    // The deploy-time setup deploys the templates' state machines too, and only that.
    expect(actions('setup')).toEqual(expect.arrayContaining(['states:CreateStateMachine', 'iam:PassRole']));
    expect(actions('setup')).not.toContain('states:StartExecution');
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'api')) {
      if (name !== 'setup') expect(actions(name), name).not.toContain('states:CreateStateMachine');
      expect(actions(name), name).not.toContain('states:StopExecution');
      if (name !== 'setup') expect(actions(name), name).not.toContain('iam:PassRole');
      expect(actions(name), name).not.toContain('kms:GenerateDataKey');
    }
    expect(actions('tool-call')).toContain('s3:PutObject');
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'tool-call'))
      expect(actions(name), name).not.toContain('s3:PutObject');
    expect(actions('quorum').filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('logs:'))).toEqual([]);
    // run-status reads a completed run's execution history once, for what decided its path.
    expect(
      actions('run-status')
        .filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('logs:'))
        .sort(),
    ).toEqual(['lambda:InvokeFunction', 'states:GetExecutionHistory']);
    expect(actions('schedule-fire')).toContain('states:StartExecution');
    expect(actions('notify')).toContain('ses:SendEmail');
    expect(actions('quorum')).not.toContain('ses:SendEmail');
  });
});

describe('what runs the workflows', () => {
  it('lets the state machines invoke the four functions their definitions name and nothing else', () => {
    const role = Object.entries(resources).find(([, r]) =>
      JSON.stringify(r.Properties?.AssumeRolePolicyDocument ?? '').includes('states.amazonaws.com'),
    );
    expect(role).toBeDefined();
    const statements = statementsOf(role?.[0] ?? '');
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('lambda:InvokeFunction');
    const invoked = ((statements[0]?.Resource ?? []) as { 'Fn::GetAtt': string[] }[]).map(
      (r) => r['Fn::GetAtt'][0],
    );
    expect(invoked.sort()).toEqual(
      ['tool-call', 'notify', 'approval-request', 'quorum'].map((n) => lambda(n)[0]).sort(),
    );
  });

  it("hands the prefix's execution status changes to run-status", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ wildcard: Match.objectLike({}) }] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [lambda('run-status')[0], 'Arn'] } })],
    });
  });

  it('keeps schedules in a group whose role may invoke schedule-fire only', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'Stepgate-schedules' });
    const role = Object.entries(resources).find(([, r]) =>
      JSON.stringify(r.Properties?.AssumeRolePolicyDocument ?? '').includes('scheduler.amazonaws.com'),
    );
    const statements = statementsOf(role?.[0] ?? '');
    expect(statements).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: { 'Fn::GetAtt': [lambda('schedule-fire')[0], 'Arn'] },
      }),
    ]);
  });
});

describe('setup at deploy time', () => {
  it('runs the setup function once everything exists, giving it the first admin and its generated password', () => {
    const [setupId] = lambda('setup');
    const triggers = Object.values(resources).filter(
      (r) => (r as { Type?: string }).Type === 'Custom::Trigger',
    );
    expect(triggers).toHaveLength(1);
    expect(JSON.stringify(triggers[0]?.Properties.HandlerArn)).toContain(
      'StepgateFunctionsSetupCurrentVersion',
    );
    expect(triggers[0]?.DependsOn).toEqual(
      expect.arrayContaining([lambda('tool-call')[0], lambda('approval-request')[0], setupId]),
    );
    const withAdmin = stepgateTemplate({ 'stepgate:adminEmail': 'admin@example.com' }).toJSON()
      .Resources as Record<string, Resource>;
    const setup = Object.values(withAdmin).find((r) => r.Properties?.Description === 'Stepgate: setup');
    const variables = variablesOf(setup);
    expect(variables[ENV.adminEmail]).toBe('admin@example.com');
    expect(variables[ENV.adminPasswordArn]).toEqual({ Ref: expect.stringMatching(/^StepgateAdminPassword/) });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 24, ExcludePunctuation: true },
    });
    expect(() => stepgateTemplate({ 'stepgate:adminEmail': 'nobody' })).toThrow(
      'Stepgate: adminEmail must be an email address',
    );
  });
});

describe('the HTTP API', () => {
  it('sends every route to the api function and logs every request', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
  });

  it('is behind the distribution, whose URL the functions build links from, unless a domain is given', () => {
    const [, api] = lambda('api');
    const url = (api.Properties.Environment as { Variables: Record<string, unknown> }).Variables[
      ENV.publicUrl
    ];
    expect(JSON.stringify(url)).toMatch(
      /^\{"Fn::Join":\["",\["https:\/\/",\{"Fn::GetAtt":\["StepgateDashboardDistribution\w+","DomainName"\]\}\]\]\}$/,
    );
    const withDomain = stepgateTemplate({ 'stepgate:domain': 'flows.example.com' }).toJSON()
      .Resources as Record<string, Resource>;
    const fn = Object.values(withDomain).find((r) => r.Properties?.Description === 'Stepgate: api');
    expect(variablesOf(fn)[ENV.publicUrl]).toBe('https://flows.example.com');
  });
});

describe('alarms', () => {
  it('watch every function and the API, and go to a topic that mails the given address', () => {
    const t = constructTemplate({ alarms: { email: 'oncall@example.com' } });
    t.resourceCountIs('AWS::CloudWatch::Alarm', LAMBDA_NAMES.length * 2 + 1);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });
});

describe('props refused at synth', () => {
  const build = (props: StepgateProps) => () => constructTemplate(props);

  it('refuses a stdio MCP server, saying why and what to do instead', () => {
    expect(build({ mcpServers: { files: { command: 'npx', args: ['server-filesystem'] } } })).toThrow(
      /Stepgate: mcpServers cannot be used:\n {2}mcpServers\.files: MCP server 'files' is a stdio server .*Streamable HTTP/s,
    );
  });

  it('refuses a policy or limits the functions could not read, naming the field', () => {
    expect(build({ limits: { login: { perAccount: { max: -1 } } } })).toThrow(
      /Stepgate: limits cannot be used:\n {2}limits\.login/,
    );
  });

  it('passes the policy and the limits to the functions that read them', () => {
    const t = constructTemplate({ policy: {}, limits: {} });
    const fns = Object.values(t.toJSON().Resources as Record<string, Resource>).filter(
      (r) => r.Properties?.Description === 'Stepgate: api',
    );
    const variables = variablesOf(fns[0]);
    expect(variables[ENV.policy]).toBe('{}');
    expect(variables[ENV.limits]).toBe('{}');
  });

  it('passes Streamable HTTP servers to the functions that call tools', () => {
    const t = constructTemplate({ mcpServers: { crm: { url: 'https://crm.example.com/mcp' } } });
    const fns = Object.values(t.toJSON().Resources as Record<string, Resource>).filter(
      (r) => r.Properties?.Description === 'Stepgate: tool-call',
    );
    const value = variablesOf(fns[0])[ENV.mcpServers];
    expect(JSON.parse(value ?? '{}')).toMatchObject({ crm: { url: 'https://crm.example.com/mcp' } });
  });

  it('refuses a malformed state machine prefix or alarm address, naming it', () => {
    expect(build({ stateMachinePrefix: 'has spaces' })).toThrow('Stepgate: stateMachinePrefix must be');
    expect(build({ alarms: { email: 'nobody' } })).toThrow('Stepgate: alarms.email must be an email address');
    expect(build({ retention: { logDays: 0 } })).toThrow('Stepgate: retention.logDays');
  });
});
