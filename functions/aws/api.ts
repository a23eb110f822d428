// The `api` Lambda behind API Gateway's HTTP API (payload v2): the Hono app of api-app.ts through
// `hono/aws-lambda`'s handle, built once per container. For the integrator: the run host (Step Functions
// DurableHost), approval decisions (SendTaskSuccess / SendTaskFailure), schedules (EventBridge Scheduler)
// and the platform keys (Secrets Manager) come from `apiParts` in integration.ts, which refuses by name
// until those modules are wired in; everything else is here.
import middy from '@middy/core';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createAwsApi } from './api-app.js';
import { loadAwsConfig } from './config.js';
import { apiParts } from './integration.js';
import { AwsPorts, perContainer } from './ports.js';

const app = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'api'));
  return handle(createAwsApi(ports, await apiParts()));
});

export const handler = middy(async (event: LambdaEvent, context: LambdaContext) =>
  (await app())(event, context),
);
