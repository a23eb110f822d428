// The `approval.close` Lambda: closes levels so later decisions and links are refused, through the shared
// handler (functions/core/handlers/approval-close.ts). Invoked with one level's ApprovalClose message, or,
// by the run-status function when a run has ended (completed, failed, timed out, cancelled), with
// `{runId, workflowId, reason: 'run-ended'}`: every level of the run still open is closed (a state machine
// stops without telling the levels it waited on).
import middy from '@middy/core';
import { approvalSteps } from '../../translator/ir.js';
import { aslActivityFailure, closeApproval } from '../core/handlers/index.js';
import type { ApprovalClose } from '../core/protocol.js';
import { type AwsApprovalSeams, awsApprovals } from './approvals.js';
import { loadAwsConfig } from './config.js';
import { platformKeys } from './platform-keys.js';
import { AwsPorts, perContainer } from './ports.js';

/** Every level of a run that has ended: the run-status function's message. */
export interface RunEndedClose {
  runId: string;
  workflowId: string;
  reason: 'run-ended';
}

/** The most levels one step of a run can hold open at once (its visits in parallel branches); a bound. */
const MAX_OPEN_PER_STEP = 1_000;

/** Closes the level (or every open level of an ended run); answers null. */
export async function closeLevel(
  ports: AwsPorts,
  seams: AwsApprovalSeams,
  message: ApprovalClose | RunEndedClose,
): Promise<null> {
  const { approvals, store } = awsApprovals(ports, seams);
  if (!('stepId' in message)) {
    // The run's approval steps, in every version of its workflow (a run keeps the version it started on).
    const steps = new Set(
      (await ports.workflows().history(message.workflowId)).flatMap((v) => approvalSteps(v.ir.graph)),
    );
    for (const stepId of steps)
      for (let n = 0; n < MAX_OPEN_PER_STEP; n++) {
        const open = await store.openFor(message.runId, stepId);
        if (open === undefined) break;
        await closeApproval(approvals, { ...open, reason: 'run-ended' });
      }
    return null;
  }
  try {
    return await closeApproval(approvals, message);
  } catch (error) {
    throw aslActivityFailure(error, message.stepId);
  }
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'approval-close'));
  return { ports, seams: { keys: await platformKeys(ports) } };
});

export const handler = middy(async (event: ApprovalClose | RunEndedClose) => {
  const { ports, seams } = await parts();
  return closeLevel(ports, seams, event);
});
