// The `api` Lambda behind API Gateway's HTTP API (payload v2): the Hono app of api-app.ts through
// `hono/aws-lambda`'s handle, built once per container, with the run host on Step Functions, approval
// decisions answering task tokens, schedules in EventBridge Scheduler and the platform keys (integration.ts).
import middy from '@middy/core';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createAwsApi } from './api-app.js';
import { loadAwsConfig } from './config.js';
import { apiParts } from './integration.js';
import { AwsPorts, perContainer } from './ports.js';

const app = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'api'));
  return handle(createAwsApi(ports, await apiParts(ports)));
});

export const handler = middy(async (event: LambdaEvent, context: LambdaContext) =>
  (await app())(event, context),
);
