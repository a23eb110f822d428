// The `approval.close` activity on every host: a level timed out, or its branch or run was cancelled; the
// ApprovalService closes it so later decisions are refused. Every target sends the ApprovalClose as is.
import type { ApprovalService } from '../approvals.js';
import type { ApprovalClose } from '../protocol.js';
import type { GcpApprovalCloseBody } from '../wire.js';

/** A GCP workflow's `approval.close` body as the message (it is one already; the fields are copied). */
export function approvalCloseFromGcp(body: GcpApprovalCloseBody): ApprovalClose {
  const { runId, stepId, visit, level, reason } = body;
  return { runId, stepId, visit, level, reason };
}

/** Closes the level; answers null. */
export function closeApproval(
  approvals: Pick<ApprovalService, 'close'>,
  message: ApprovalClose,
): Promise<null> {
  return approvals.close(message);
}
