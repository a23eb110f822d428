// The dashboard on AWS (infra/aws/dashboard.ts), synthesized offline without bundling: the CloudFront
// distribution's behaviours (the API's paths to the HTTP API uncached with every viewer header but Host,
// the rest to the private bucket through OAC with the dashboard's security headers), the bucket readable by
// this distribution only, the SPA rewrite function run in node on sample requests as CloudFront would run
// it, the two-pass upload, the public URL the functions get (and the deploy order it leaves acyclic), and
// the synth refusing an unbuilt dashboard.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/aws/config.js';
import { ORIGIN_KEY_HEADER, VIEWER_ADDRESS_HEADER } from '../../functions/aws/origin.js';
import { DASHBOARD_CSP } from '../../functions/core/http/dashboard.js';
import { API_PATHS, StepgateDashboard } from '../../infra/aws/dashboard.js';
import { addStepgateStack } from '../../infra/aws/stack.js';
import { Stepgate, type StepgateProps } from '../../infra/aws/stepgate.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CDK_JSON = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
};

function stepgateTemplate(context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { ...CDK_JSON.context, ...NO_BUNDLING, ...context } });
  return Template.fromStack(addStepgateStack(app));
}

const template = stepgateTemplate();
const resources = template.toJSON().Resources as Record<string, Resource>;

/** The one resource of `type`, with its logical id. */
/** The CloudFront function whose comment contains `what`. */
function cloudFrontFunction(what: string): [string, Resource] {
  const found = Object.entries(resources).filter(
    ([, r]) =>
      r.Type === 'AWS::CloudFront::Function' &&
      String((r.Properties.FunctionConfig as { Comment?: string }).Comment).includes(what),
  );
  expect(found, what).toHaveLength(1);
  return found[0] as [string, Resource];
}

function only(type: string): [string, Resource] {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resource];
}

type Behavior = Record<string, unknown> & { TargetOriginId: string };
type Origin = Record<string, unknown> & { Id: string; DomainName: unknown };

const [distributionId, distribution] = only('AWS::CloudFront::Distribution');
const config = distribution.Properties.DistributionConfig as {
  DefaultCacheBehavior: Behavior;
  CacheBehaviors: (Behavior & { PathPattern: string })[];
  Origins: Origin[];
  DefaultRootObject: string;
};
const origin = (id: string) => config.Origins.find((o) => o.Id === id);

/** The bucket holding the dashboard: the one served through an origin access control. */
function dashboardBucketId(): string {
  const s3Origin = config.Origins.find((o) => o.OriginAccessControlId !== undefined);
  const domain = s3Origin?.DomainName as { 'Fn::GetAtt'?: string[] } | undefined;
  return domain?.['Fn::GetAtt']?.[0] ?? '';
}

describe('the CloudFront distribution', () => {
  it('sends /api/* and /approve/* to the HTTP API: uncached, every method, every viewer header but Host', () => {
    const [apiId] = only('AWS::ApiGatewayV2::Api');
    expect(config.CacheBehaviors.map((b) => b.PathPattern).sort()).toEqual([...API_PATHS].sort());
    for (const behavior of config.CacheBehaviors) {
      expect(behavior).toMatchObject({
        CachePolicyId: cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId,
        OriginRequestPolicyId:
          cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        ViewerProtocolPolicy: 'redirect-to-https',
      });
      expect(behavior.ResponseHeadersPolicyId).toBeUndefined();
      // The viewer's address for the login throttle, set by CloudFront, whatever the client sent.
      const [viewerId] = cloudFrontFunction("the viewer's address");
      expect(behavior.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [viewerId, 'FunctionARN'] } },
      ]);
      const api = origin(behavior.TargetOriginId);
      expect(api?.CustomOriginConfig).toEqual({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
      // The origin key as a dynamic reference to the generated secret: its value is not in the template.
      const headers = api?.OriginCustomHeaders as { HeaderName: string; HeaderValue: unknown }[];
      expect(headers.map((h) => h.HeaderName)).toEqual([ORIGIN_KEY_HEADER]);
      expect(JSON.stringify(headers[0]?.HeaderValue)).toMatch(
        /\{\{resolve:secretsmanager:.*:SecretString:::\}\}/,
      );
      expect(JSON.stringify(headers[0]?.HeaderValue)).toContain('StepgateOriginKey');
      expect(api?.DomainName).toEqual({
        'Fn::Join': [
          '',
          [{ Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }],
        ],
      });
    }
  });

  it('serves everything else from the bucket through OAC, HTTPS only, with the dashboard’s security headers', () => {
    const behavior = config.DefaultCacheBehavior;
    expect(behavior).toMatchObject({
      AllowedMethods: ['GET', 'HEAD'],
      CachePolicyId: cloudfront.CachePolicy.CACHING_OPTIMIZED.cachePolicyId,
      ViewerProtocolPolicy: 'redirect-to-https',
    });
    expect(config.DefaultRootObject).toBe('index.html');
    const s3Origin = origin(behavior.TargetOriginId);
    expect(s3Origin?.DomainName).toEqual({ 'Fn::GetAtt': [dashboardBucketId(), 'RegionalDomainName'] });
    const [oacId, oac] = only('AWS::CloudFront::OriginAccessControl');
    expect(s3Origin?.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    const [functionId] = cloudFrontFunction('client routes');
    expect(behavior.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
    ]);
    const [policyId, policy] = only('AWS::CloudFront::ResponseHeadersPolicy');
    expect(behavior.ResponseHeadersPolicyId).toEqual({ Ref: policyId });
    const headers = (policy.Properties.ResponseHeadersPolicyConfig as Record<string, unknown>)
      .SecurityHeadersConfig;
    expect(headers).toEqual({
      ContentSecurityPolicy: { ContentSecurityPolicy: DASHBOARD_CSP, Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'same-origin', Override: true },
      StrictTransportSecurity: {
        AccessControlMaxAgeSec: 31_536_000,
        IncludeSubdomains: true,
        Override: true,
      },
    });
  });
});

describe('the dashboard bucket', () => {
  it('is private, TLS-only, logged, and readable by this distribution only', () => {
    const bucket = dashboardBucketId();
    const props = resources[bucket]?.Properties ?? {};
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(props.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(props.LoggingConfiguration).toMatchObject({ LogFilePrefix: 'dashboard/' });
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::S3::BucketPolicy' &&
        JSON.stringify(r.Properties.Bucket) === JSON.stringify({ Ref: bucket }),
    );
    expect(policies).toHaveLength(1);
    const document = policies[0]?.Properties.PolicyDocument as
      | { Statement: Record<string, unknown>[] }
      | undefined;
    const statements = document?.Statement ?? [];
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/*']] },
        Condition: {
          StringEquals: {
            'AWS:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudfront::',
                  { Ref: 'AWS::AccountId' },
                  ':distribution/',
                  { Ref: distributionId },
                ],
              ],
            },
          },
        },
      },
    ]);
    expect(statements.filter((s) => s.Effect === 'Deny')).toEqual([
      expect.objectContaining({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
  });

  it('gets the built files in two passes: hashed assets cached a year, then index.html revalidated', () => {
    const deployments = Object.entries(resources).filter(([, r]) => r.Type === 'Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(2);
    const [assetsId, assets] = deployments.find(([, r]) => r.Properties.Prune === true) ?? [];
    const [, index] = deployments.find(([, r]) => r.Properties.Prune === false) ?? [];
    const bucketRef = { Ref: dashboardBucketId() };
    expect(assets?.Properties).toMatchObject({
      DestinationBucketName: bucketRef,
      Exclude: ['index.html'],
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
    expect(index?.Properties).toMatchObject({
      DestinationBucketName: bucketRef,
      Exclude: ['*'],
      Include: ['index.html'],
      SystemMetadata: { 'cache-control': 'no-cache' },
    });
    expect(index?.Properties.SourceObjectKeys).toEqual(assets?.Properties.SourceObjectKeys);
    expect(index?.DependsOn).toContain(assetsId);
  });
});

describe('the viewer-address function', () => {
  it("sets the viewer's address, overwriting what the client claimed", () => {
    const [, fn] = cloudFrontFunction("the viewer's address");
    const handler = new Function(`${String(fn.Properties.FunctionCode)}\nreturn handler;`)() as (
      event: unknown,
    ) => { headers: Record<string, { value: string }> };
    const request = handler({
      viewer: { ip: '198.51.100.7' },
      request: {
        method: 'POST',
        uri: '/api/login',
        headers: { [VIEWER_ADDRESS_HEADER]: { value: '10.0.0.1' } },
      },
    });
    expect(request.headers[VIEWER_ADDRESS_HEADER]).toEqual({ value: '198.51.100.7' });
  });
});

describe('the SPA rewrite function', () => {
  const [, fn] = cloudFrontFunction('client routes');
  const code = String(fn.Properties.FunctionCode);
  // CloudFront Functions are plain JavaScript with a `handler(event)`: run the deployed code as it is.
  const handler = new Function(`${code}\nreturn handler;`)() as (event: unknown) => { uri: string };
  const rewrite = (uri: string) =>
    handler({
      version: '1.0',
      context: { eventType: 'viewer-request' },
      request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} },
    }).uri;

  it('runs on CloudFront’s JavaScript 2.0 runtime', () => {
    expect(fn.Properties.FunctionConfig).toMatchObject({ Runtime: 'cloudfront-js-2.0' });
    expect(fn.Properties.AutoPublish).toBe(true);
  });

  it('answers the dashboard’s client routes with /index.html', () => {
    for (const uri of ['/', '/runs/123', '/workflows/expense/edit', '/inbox', '/runs/123/'])
      expect(rewrite(uri), uri).toBe('/index.html');
  });

  it('leaves files and the API’s paths alone', () => {
    for (const uri of [
      '/assets/x.js',
      '/assets/index-CHQdkfKd.css',
      '/favicon.svg',
      '/index.html',
      '/api/runs',
      '/api',
      '/api/runs/123/events',
      '/approve/abc.def',
      '/approve/token',
    ])
      expect(rewrite(uri), uri).toBe(uri);
  });
});

describe('the public URL', () => {
  const distributionUrl = {
    'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]],
  };
  const variables = (t: Template, name: string) => {
    const fn = Object.values(t.toJSON().Resources as Record<string, Resource>).find(
      (r) => r.Properties?.Description === `Stepgate: ${name}`,
    );
    const environment = fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined;
    return environment?.Variables ?? {};
  };

  it('is the distribution’s, for the functions that build links and in the Url output; the API’s URL is kept', () => {
    for (const name of ['api', 'approval-request', 'approval-close'])
      expect(variables(template, name)[ENV.publicUrl], name).toEqual(distributionUrl);
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const output = (prefix: string) =>
      Object.entries(outputs).find(([id]) => id.startsWith(prefix))?.[1].Value;
    expect(output('StepgateUrl')).toEqual(distributionUrl);
    expect(JSON.stringify(output('StepgateApiUrl'))).toContain('.execute-api.');
    expect(output('StepgateDistributionDomain')).toEqual({ 'Fn::GetAtt': [distributionId, 'DomainName'] });
  });

  it('is https://<domain> when a domain is given, the distribution still in front', () => {
    const withDomain = stepgateTemplate({ 'stepgate:domain': 'flows.example.com' });
    expect(variables(withDomain, 'api')[ENV.publicUrl]).toBe('https://flows.example.com');
    withDomain.resourceCountIs('AWS::CloudFront::Distribution', 1);
    withDomain.hasOutput('*', { Value: 'https://flows.example.com' });
  });
});

/** What each resource waits for: its DependsOn, and every resource its properties Ref or GetAtt. */
function dependencies(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const found = (value: unknown, into: Set<string>): void => {
    if (Array.isArray(value)) for (const item of value) found(item, into);
    else if (value !== null && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (typeof v.Ref === 'string' && v.Ref in resources) into.add(v.Ref);
      const getAtt = v['Fn::GetAtt'];
      if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && getAtt[0] in resources)
        into.add(getAtt[0]);
      for (const item of Object.values(v)) found(item, into);
    }
  };
  for (const [id, resource] of Object.entries(resources)) {
    const into = new Set<string>(resource.DependsOn ?? []);
    found(resource.Properties, into);
    graph.set(id, into);
  }
  return graph;
}

/** Every resource `id` waits for, directly or not. */
function upstream(graph: Map<string, Set<string>>, id: string): Set<string> {
  const seen = new Set<string>();
  const visit = (at: string) => {
    for (const next of graph.get(at) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      visit(next);
    }
  };
  visit(id);
  return seen;
}

describe('a domain with its certificate', () => {
  const certificateArn =
    'arn:aws:acm:us-east-1:123456789012:certificate/1f0c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';

  it('is served by the distribution with that certificate, TLS 1.2 at least, and passes cdk-nag without CFR4', () => {
    const app = new App({
      context: {
        ...CDK_JSON.context,
        ...NO_BUNDLING,
        'stepgate:domain': 'flows.example.com',
        'stepgate:certificateArn': certificateArn,
      },
    });
    const t = Template.fromStack(addStepgateStack(app));
    t.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['flows.example.com'],
        ViewerCertificate: {
          AcmCertificateArn: certificateArn,
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        },
      }),
    });
    t.hasOutput('*', { Value: 'https://flows.example.com' });
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    const acknowledged = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data as Record<string, string>));
    expect(acknowledged.some((rule) => rule.includes('CFR4'))).toBe(false);
  });

  it('is refused without a domain, or outside us-east-1, naming the prop', () => {
    const build = (props: StepgateProps) => () =>
      new Stepgate(new Stack(new App({ context: NO_BUNDLING })), 'Stepgate', props);
    expect(build({ certificateArn })).toThrow('Stepgate: certificateArn needs the domain it covers (domain)');
    expect(
      build({
        domain: 'flows.example.com',
        certificateArn: certificateArn.replace('us-east-1', 'eu-west-1'),
      }),
    ).toThrow('Stepgate: certificateArn must be the ARN of an ACM certificate in us-east-1');
  });
});

describe('the deploy order', () => {
  it('has no cycle: the functions wait for the distribution, which waits for the API but not its integration', () => {
    const graph = dependencies();
    for (const id of graph.keys()) expect(upstream(graph, id).has(id), id).toBe(false);
    const fn = (name: string) =>
      Object.entries(resources).find(([, r]) => r.Properties?.Description === `Stepgate: ${name}`)?.[0] ?? '';
    expect(upstream(graph, fn('api')).has(distributionId)).toBe(true);
    const [apiId] = only('AWS::ApiGatewayV2::Api');
    const [integrationId] = only('AWS::ApiGatewayV2::Integration');
    const beforeDistribution = upstream(graph, distributionId);
    expect(beforeDistribution.has(apiId)).toBe(true);
    expect(beforeDistribution.has(integrationId)).toBe(false);
    expect(beforeDistribution.has(fn('api'))).toBe(false);
  });
});

describe('an unbuilt dashboard', () => {
  it('ends the synth saying to run `npm run build`', () => {
    const stack = new Stack(new App({ context: NO_BUNDLING }), 'Unbuilt');
    const empty = mkdtempSync(join(tmpdir(), 'stepgate-web-'));
    dirs.push(empty);
    expect(
      () =>
        new StepgateDashboard(stack, 'Dashboard', {
          apiDomainName: 'example.execute-api.eu-west-1.amazonaws.com',
          accessLogs: new s3.Bucket(stack, 'Logs'),
          removalPolicy: RemovalPolicy.DESTROY,
          logRetention: logs.RetentionDays.ONE_MONTH,
          directory: empty,
          originKey: new secretsmanager.Secret(stack, 'OriginKey'),
        }),
    ).toThrow(/Stepgate: the dashboard is not built \(no index\.html in .*\): run `npm run build` first/);
  });
});
