// The `approval.request` Lambda (${ApprovalRequestFunctionArn}, invoked by
// `lambda:invoke.waitForTaskToken`): counts the step's visit, opens the level through the shared handler
// (functions/core/handlers/approval-request.ts) with the task token sealed in its record, and emails the
// approvers their links. The Task then waits: the level's decision answers the token later. A level with
// nobody to ask fails with Stepgate.NoApprovers (the state machine escalates), any other failure with
// Stepgate.Retryable / Stepgate.Fatal.
import middy from '@middy/core';
import { aslActivityFailure, aslApprovalRequest, openAslApproval } from '../core/handlers/index.js';
import type { ApprovalRequestResult } from '../core/protocol.js';
import type { AslApprovalPayload } from '../core/wire.js';
import { type AwsApprovalSeams, awsApprovals } from './approvals.js';
import { loadAwsConfig } from './config.js';
import { channelNotifier } from './notifier.js';
import { platformKeys } from './platform-keys.js';
import { AwsPorts, perContainer } from './ports.js';

/** Opens the level the Task asks for; answers its approvers (Step Functions ignores the answer). */
export async function requestApproval(
  ports: AwsPorts,
  seams: AwsApprovalSeams,
  payload: AslApprovalPayload,
): Promise<ApprovalRequestResult> {
  const { approvals } = awsApprovals(ports, seams);
  let request: Awaited<ReturnType<typeof aslApprovalRequest>>;
  try {
    request = await aslApprovalRequest({ clock: ports.clock, visits: ports.visits() }, payload);
  } catch (error) {
    throw aslActivityFailure(error, payload.stepId);
  }
  return openAslApproval(approvals, request);
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'approval-request'));
  return { ports, seams: { keys: await platformKeys(ports), notifier: channelNotifier(ports) } };
});

export const handler = middy(async (event: AslApprovalPayload) => {
  const { ports, seams } = await parts();
  return requestApproval(ports, seams, event);
});
