// The `run-status` Lambda, target of the stack's EventBridge rule for "Step Functions Execution Status
// Change" events of Stepgate's state machines: the run record follows its execution (completed, failed,
// timed out, cancelled) and the run's trail gets its end entry, once — a redelivered event, or the ABORTED
// event of a run cancelled through the API, changes nothing (StepFunctionsHost.applyExecutionStatus).
import middy from '@middy/core';
import type { ExecutionStatusDetail } from '../../adapters/aws/step-functions-host.js';
import { loadAwsConfig } from './config.js';
import { AwsPorts, perContainer } from './ports.js';
import { AwsRuns } from './runs.js';

/** The EventBridge event: its `detail` is the execution's, with stopDate in ms since the epoch. */
export interface ExecutionStatusEvent {
  'detail-type': string;
  source: string;
  detail: ExecutionStatusDetail;
}

const host = perContainer(async () =>
  new AwsRuns(new AwsPorts(loadAwsConfig(process.env, 'run-status'))).host(),
);

export const handler = middy(async (event: ExecutionStatusEvent) => {
  if (event.source !== 'aws.states' || event.detail === undefined)
    throw new Error(`run-status: not a Step Functions status event (source ${JSON.stringify(event.source)})`);
  return { status: (await (await host()).applyExecutionStatus(event.detail)) ?? null };
});
