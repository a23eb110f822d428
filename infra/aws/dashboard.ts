// The dashboard on AWS (issue 14): the built React app (web/, built by Vite into dist/web) in a private S3
// bucket, served by a CloudFront distribution that is also the front door of the API, so the dashboard,
// the API and the emailed approval pages share one origin (the session cookie is host-only and the CSRF
// token travels with it; functions/aws/api-app.ts). Behaviours:
//   /api/*, /approve/*  → the HTTP API (webhooks are /api routes): never cached, every method, every viewer
//                         header but Host (API Gateway routes by its own Host), cookies, query strings, bodies
//   everything else     → the bucket through Origin Access Control, with the dashboard's security headers;
//                         a viewer-request CloudFront Function turns a client route (/runs/123, an
//                         extension-less path) into /index.html so a reload of any dashboard page works.
// Why a function and not 403/404 → index.html error responses: those are distribution-wide, so they would
// also turn the API's own 403s and 404s (a missing run, a forbidden route, an expired link) into a 200 with
// the dashboard's HTML; the function touches only the static behaviour's client routes, and a missing asset
// stays an error instead of HTML served as JavaScript. Hashed assets are cached for a year; index.html is
// revalidated on every load, so a deploy is visible at once without an invalidation.
// Given a domain and its ACM certificate (us-east-1), the distribution also answers on the domain, TLS 1.2
// at least; otherwise its own *.cloudfront.net name is the public URL.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as deployment from 'aws-cdk-lib/aws-s3-deployment';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ORIGIN_KEY_HEADER, VIEWER_ADDRESS_HEADER } from '../../functions/aws/origin.js';
import { DASHBOARD_CSP } from '../../functions/core/http/dashboard.js';
import { privateBucket } from './stepgate.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Where `npm run build` writes the dashboard (web/vite.config.ts's outDir). */
export const DASHBOARD_DIR = join(ROOT, 'dist', 'web');

/** The path patterns CloudFront sends to the API: its routes (webhooks included) and the approval link pages. */
export const API_PATHS = ['/api/*', '/approve/*'] as const;

/**
 * The viewer-request function of the static behaviour (CloudFront Functions, cloudfront-js-2.0): an
 * extension-less path outside the API's prefixes is a client route of the dashboard, answered by
 * /index.html; a file (/assets/index-1a2b.js, /favicon.svg) is fetched as it is. The API's prefixes are
 * other behaviours and never reach it; they are left alone here too, should a behaviour be removed.
 */
export const SPA_REWRITE_CODE = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/api' || uri.startsWith('/api/') || uri === '/approve' || uri.startsWith('/approve/')) return request;
  var name = uri.substring(uri.lastIndexOf('/') + 1);
  if (name.indexOf('.') === -1) request.uri = '/index.html';
  return request;
}
`;

/**
 * The viewer-request function of the API's behaviours: the viewer's address in VIEWER_ADDRESS_HEADER,
 * overwriting any value the client sent, so the API's login throttle counts viewers, not CloudFront edges.
 */
export const VIEWER_ADDRESS_CODE = `function handler(event) {
  var request = event.request;
  request.headers['${VIEWER_ADDRESS_HEADER}'] = { value: event.viewer.ip };
  return request;
}
`;

export interface StepgateDashboardProps {
  /** The HTTP API's host name (`<id>.execute-api.<region>.amazonaws.com`), the origin of API_PATHS. */
  readonly apiDomainName: string;
  /** The host name the distribution also answers on, with its ACM certificate (us-east-1). */
  readonly alias?: { readonly domainName: string; readonly certificateArn: string } | undefined;
  /** The bucket the dashboard bucket's server access logs go to (prefix `dashboard/`). */
  readonly accessLogs: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
  /** How long the deployment function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** The built dashboard; default dist/web. Without its index.html the synth ends, saying to build it. */
  readonly directory?: string;
  /**
   * The key CloudFront sends the API in ORIGIN_KEY_HEADER (a CloudFormation dynamic reference: the value is
   * not in the template); the API refuses requests without it, so nobody calls it around the distribution.
   */
  readonly originKey: secretsmanager.ISecret;
}

/** The dashboard's bucket, its deployment and the distribution in front of it and of the API. */
export class StepgateDashboard extends Construct {
  /** The dashboard's files (private: read by this distribution only, through OAC). */
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>`: the dashboard, the API and the approval links, on one origin. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: StepgateDashboardProps) {
    super(scope, id);
    const directory = props.directory ?? DASHBOARD_DIR;
    if (!existsSync(join(directory, 'index.html')))
      throw new Error(
        `Stepgate: the dashboard is not built (no index.html in ${directory}): run \`npm run build\` first`,
      );
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...privateBucket(props.removalPolicy),
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'dashboard/',
    });
    this.distribution = this.distributionFor(props.apiDomainName, props.alias, props.originKey);
    this.url = `https://${this.distribution.distributionDomainName}`;
    this.deploy(directory, props.logRetention);
    this.acknowledge(props.alias === undefined);
  }

  /** Static files from the bucket by default, API_PATHS to the API uncached with all but the Host header. */
  private distributionFor(
    apiDomainName: string,
    alias: StepgateDashboardProps['alias'],
    originKey: secretsmanager.ISecret,
  ): cloudfront.Distribution {
    const viewerAddress = new cloudfront.Function(this, 'ViewerAddress', {
      comment: "Stepgate: the viewer's address to the API",
      code: cloudfront.FunctionCode.fromInline(VIEWER_ADDRESS_CODE),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const spaRewrite = new cloudfront.Function(this, 'SpaRewrite', {
      comment: 'Stepgate: dashboard client routes to /index.html',
      code: cloudfront.FunctionCode.fromInline(SPA_REWRITE_CODE),
      runtime: cloudfront.FunctionRuntime.JS_2_0,
    });
    const api: cloudfront.BehaviorOptions = {
      origin: new origins.HttpOrigin(apiDomainName, {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        customHeaders: { [ORIGIN_KEY_HEADER]: originKey.secretValue.unsafeUnwrap() },
      }),
      functionAssociations: [
        { function: viewerAddress, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
      ],
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      compress: true,
    };
    return new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Stepgate: dashboard, API and approval pages',
      defaultRootObject: 'index.html',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      ...(alias === undefined
        ? {}
        : {
            domainNames: [alias.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', alias.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }),
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.securityHeaders(),
        functionAssociations: [
          { function: spaRewrite, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST },
        ],
        compress: true,
      },
      additionalBehaviors: Object.fromEntries(API_PATHS.map((path) => [path, api])),
    });
  }

  /** The local server's page headers (functions/core/http/dashboard.ts) plus HSTS, on every static response. */
  private securityHeaders(): cloudfront.ResponseHeadersPolicy {
    return new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Stepgate: dashboard security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: DASHBOARD_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.SAME_ORIGIN,
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });
  }

  /**
   * The built files to the bucket in two passes: the hashed assets (cached a year), then index.html
   * (revalidated on every load), so a new index.html never names an asset not yet uploaded.
   */
  private deploy(directory: string, logRetention: logs.RetentionDays): void {
    const source = deployment.Source.asset(directory);
    const logGroup = new logs.LogGroup(this, 'DeploymentLogs', { retention: logRetention });
    const assets = new deployment.BucketDeployment(this, 'Assets', {
      sources: [source],
      destinationBucket: this.bucket,
      exclude: ['index.html'],
      cacheControl: [
        deployment.CacheControl.setPublic(),
        deployment.CacheControl.maxAge(Duration.days(365)),
        deployment.CacheControl.immutable(),
      ],
      logGroup,
    });
    const index = new deployment.BucketDeployment(this, 'Index', {
      sources: [source],
      destinationBucket: this.bucket,
      exclude: ['*'],
      include: ['index.html'],
      prune: false,
      cacheControl: [deployment.CacheControl.noCache()],
      logGroup,
    });
    index.node.addDependency(assets);
    this.acknowledgeDeployment(assets);
  }

  /**
   * cdk-nag's findings on BucketDeployment's own function (CDK's, shared by the stack's deployments: it
   * runs the AWS CLI's `s3 sync` from the asset to the bucket at deploy), each with its reason.
   */
  private acknowledgeDeployment(assets: deployment.BucketDeployment): void {
    const role = assets.handlerRole;
    const ack = (scope: Construct, id: string, reason: string) =>
      Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
    const cdkOwn = "CDK's BucketDeployment function (not Stepgate code) copies the built dashboard at deploy";
    ack(
      role,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      `${cdkOwn}; CDK gives its role the basic execution policy, which allows writing its logs only.`,
    );
    for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'])
      ack(
        role,
        `IAM5[Action::${action}]`,
        `${cdkOwn}: CDK's read (asset) and read/write (dashboard bucket) grants, which s3 sync with prune needs.`,
      );
    for (const objects of this.deploymentObjectArns(role))
      ack(
        role,
        `IAM5[Resource::${objects}]`,
        `${cdkOwn}: it reads the asset's zip from the bootstrap bucket and syncs every dashboard file.`,
      );
    const fn = role.node.scope;
    if (fn instanceof lambda.Function)
      ack(
        fn,
        'L1',
        `${cdkOwn}; its runtime is chosen by aws-cdk-lib and moves forward with it, not with Stepgate.`,
      );
  }

  /** The `…/*` resources of the deployment role's policy, written as cdk-nag prints them. */
  private deploymentObjectArns(role: iam.IRole): string[] {
    const policy = (role as iam.Role).node.tryFindChild('DefaultPolicy') as iam.Policy | undefined;
    if (policy === undefined) return [];
    const document = Stack.of(this).resolve(policy.document.toJSON()) as {
      Statement: { Resource: unknown }[];
    };
    const resources = document.Statement.flatMap((s) =>
      Array.isArray(s.Resource) ? s.Resource : [s.Resource],
    );
    return [...new Set(resources.map(nagString).filter((r) => r.endsWith('/*')))];
  }

  /** cdk-nag's findings on the distribution that are decisions, each with its reason. */
  private acknowledge(defaultCertificate: boolean): void {
    const ack = (id: string, reason: string) =>
      Validations.of(this.distribution).acknowledge({ id: `AwsSolutions-${id}`, reason });
    ack(
      'CFR1',
      'Stepgate is reachable from wherever its approvers are; a team that serves known countries only adds ' +
        'a geo restriction (Distribution geoRestriction) in its own stack.',
    );
    ack(
      'CFR2',
      'No WAF web ACL by default (it costs per ACL and per rule, and the rules are a team decision); the app ' +
        'throttles logins and run starts itself and API Gateway throttles the whole API. A team should attach ' +
        'a web ACL (AWS managed core rule set, known bad inputs, an IP rate limit) through webAclId.',
    );
    ack(
      'CFR3',
      "CloudFront standard logging writes with S3 ACLs, which Stepgate's buckets keep disabled (bucket owner " +
        "enforced); every API request is logged by API Gateway's access log, and the dashboard bucket's " +
        'reads by its server access log.',
    );
    if (defaultCertificate)
      ack(
        'CFR4',
        "The distribution's default *.cloudfront.net certificate cannot carry a security policy (CloudFront " +
          'still allows TLSv1 on it). Given a `domain` and its `certificateArn`, the distribution serves the ' +
          'domain with that certificate and TLSv1.2_2021 as minimum, and this finding is gone.',
      );
  }
}

/** A resolved CloudFormation value as cdk-nag prints it: Refs and GetAtts in angle brackets, joins joined. */
function nagString(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${v['Fn::GetAtt'].join('.')}>`;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (Array.isArray(join)) return join[1].map(nagString).join(join[0]);
  const sub = v['Fn::Sub'];
  if (typeof sub === 'string') return sub.replace(/\$\{([^}]+)\}/g, '<$1>');
  return JSON.stringify(value);
}
