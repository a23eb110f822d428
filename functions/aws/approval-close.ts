// The `approval.close` Lambda: a level timed out, or its branch or run was cancelled; the shared handler
// (functions/core/handlers/approval-close.ts) closes it so later decisions and links are refused. Invoked
// with the ApprovalClose message by whoever learns of it (the run-status handler on AWS).
import middy from '@middy/core';
import { aslActivityFailure, closeApproval } from '../core/handlers/index.js';
import type { ApprovalClose } from '../core/protocol.js';
import { type AwsApprovalSeams, awsApprovals } from './approvals.js';
import { loadAwsConfig } from './config.js';
import { platformKeys } from './platform-keys.js';
import { AwsPorts, perContainer } from './ports.js';

/** Closes the level; answers null. */
export async function closeLevel(
  ports: AwsPorts,
  seams: AwsApprovalSeams,
  message: ApprovalClose,
): Promise<null> {
  try {
    return await closeApproval(awsApprovals(ports, seams).approvals, message);
  } catch (error) {
    throw aslActivityFailure(error, message.stepId);
  }
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'approval-close'));
  return { ports, seams: { keys: await platformKeys(ports) } };
});

export const handler = middy(async (event: ApprovalClose) => {
  const { ports, seams } = await parts();
  return closeLevel(ports, seams, event);
});
