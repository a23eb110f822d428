// The `run-status` Lambda, target of the stack's EventBridge rule for "Step Functions Execution Status
// Change" events of Stepgate's state machines: the run record follows its execution (completed, failed,
// timed out, cancelled; a completed one with what decided its path, read from its trail and execution
// history here, once, so the run list reads no trail) and the run's trail gets its end entry, once — a
// redelivered event, or the ABORTED event of a run cancelled through the API, changes nothing
// (StepFunctionsHost.applyExecutionStatus). Once the run has ended, the approval-close function is asked
// (asynchronously) to close the levels the run still had open: a stopped state machine does not tell the
// Tasks it waited on.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import middy from '@middy/core';
import type { ExecutionStatusDetail } from '../../adapters/aws/step-functions-host.js';
import type { RunEndedClose } from './approval-close.js';
import { loadAwsConfig, required } from './config.js';
import { AwsPorts, perContainer } from './ports.js';
import { AwsRuns } from './runs.js';

/** The EventBridge event: its `detail` is the execution's, with stopDate in ms since the epoch. */
export interface ExecutionStatusEvent {
  'detail-type': string;
  source: string;
  detail: ExecutionStatusDetail;
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'run-status'));
  return { ports, host: new AwsRuns(ports).host(), lambda: new LambdaClient(ports.clients) };
});

export const handler = middy(async (event: ExecutionStatusEvent) => {
  if (event.source !== 'aws.states' || event.detail === undefined)
    throw new Error(`run-status: not a Step Functions status event (source ${JSON.stringify(event.source)})`);
  const { ports, host, lambda } = await parts();
  const status = (await host.applyExecutionStatus(event.detail)) ?? null;
  const run = await host.getRun(event.detail.name);
  if (run !== undefined && run.status !== 'running') {
    const close: RunEndedClose = { runId: run.id, workflowId: run.workflowId, reason: 'run-ended' };
    await lambda.send(
      new InvokeCommand({
        FunctionName: required(ports.config, 'approvalCloseFunctionArn'),
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(close)),
      }),
    );
  }
  return { status };
});
