// The `tool.call` Lambda (${ToolCallFunctionArn} in the compiled ASL): a thin wrapper of the shared
// handler (functions/core/handlers/tool-call.ts) over the AWS ports. The visit comes from the payload's
// entered time (StepVisits), large results go to S3, the pipeline's stages are appended to the run's
// audit trail, and a failure is thrown as the ASL error the state machine retries or catches.
import middy from '@middy/core';
import type { JsonValue } from '../../translator/template.js';
import type { AuditEntry } from '../core/audit.js';
import { aslActivityFailure, aslVisit, toolCallFromAsl, toolCallHandler } from '../core/handlers/index.js';
import type { AslToolCallPayload } from '../core/wire.js';
import { loadAwsConfig } from './config.js';
import { AwsPorts, perContainer } from './ports.js';
import { type AwsTools, awsTools } from './tools.js';

/** Runs one attempt of the Task's tool; answers its result (a reference to S3 when large). */
export async function callTool(
  ports: AwsPorts,
  tools: AwsTools,
  payload: AslToolCallPayload,
): Promise<JsonValue> {
  const trail: AuditEntry[] = [];
  try {
    const request = toolCallFromAsl(payload, await aslVisit(ports.visits(), payload));
    const call = toolCallHandler({ tools: tools.pipeline, results: ports.results() });
    try {
      return await call(request, { audit: (entry) => void trail.push(entry) });
    } finally {
      for (const entry of trail) await ports.recordAudit(payload.ctx.runId, entry);
    }
  } catch (error) {
    throw aslActivityFailure(error, payload.stepId);
  }
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'tool-call'));
  return { ports, tools: awsTools(ports) };
});

export const handler = middy(async (event: AslToolCallPayload) => {
  const { ports, tools } = await parts();
  return callTool(ports, tools, event);
});
