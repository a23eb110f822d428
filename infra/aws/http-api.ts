// The front door (issue 14): an API Gateway HTTP API whose every route goes to the `api` function, the same
// Hono app the local server mounts (webhooks are its run route, as locally; the approval link pages are its
// routes too). Users reach it through the dashboard's CloudFront distribution (dashboard.ts), which sends
// /api/* and /approve/* here so the dashboard and the API share one origin. It authenticates nothing itself: the app's one route table decides who
// may call what (functions/core/http/access.ts), as it does on one machine. Its $default stage logs every
// request (JSON, standard fields) and is throttled as a whole; per-user and per-login limits are the app's.
import { Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Requests per second across the API before API Gateway answers 429 (the app limits per user below that). */
const RATE_LIMIT = 500;
const BURST_LIMIT = 1_000;

export interface StepgateHttpApiProps {
  readonly handler: lambda.IFunction;
  readonly logRetention: logs.RetentionDays;
}

export class StepgateHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** `<api id>.execute-api.<region>.amazonaws.com` (a token until deployed): CloudFront's origin for the API. */
  readonly domainName: string;
  /** `https://` + `domainName`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: StepgateHttpApiProps) {
    super(scope, id);
    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Stepgate: API, webhooks and approval pages',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('App', props.handler),
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigw.HttpStage(this, 'Default', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: RATE_LIMIT, burstLimit: BURST_LIMIT },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.jsonWithStandardFields(),
      },
    });
    this.domainName = `${this.api.apiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
    this.url = `https://${this.domainName}`;
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        "Every route is authorized by the app's route table (role and scope per route, functions/core/http/" +
        'access.ts): sessions, API tokens, OIDC JWTs, signed webhooks and signed approval links are checked ' +
        'there, the same code as on one machine; an API Gateway authorizer would be a second, divergent table.',
    });
  }
}
