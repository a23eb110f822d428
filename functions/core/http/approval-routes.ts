// The approval routes of the HTTP API: the caller's pending approvals and their decisions (the inbox and
// the dashboard; the emailed link pages are approval-pages.ts). Separation of duties, who may decide and
// what counts are the approval service's (functions/core/approvals.ts). Access: APPROVAL_PATHS.
//
//   GET    /api/approvals                     the caller's pending approvals
//   POST   /api/approvals/:runId/:stepId      decide { decision: approve|reject, comment? }
import type { Hono } from 'hono';
import type { ApprovalService } from '../approvals.js';
import { HttpError } from '../http-error.js';
import type { ApprovalStore } from '../ports.js';
import { requires } from './access.js';
import { errors, json } from './openapi-parts.js';
import { caller, jsonBody } from './request.js';
import type { Env } from './types.js';

export interface ApprovalRoutesDeps {
  approvals: Pick<ApprovalService, 'decide'>;
  approvalStore: Pick<ApprovalStore, 'pendingFor'>;
}

export function mountApprovals(app: Hono<Env>, deps: ApprovalRoutesDeps): void {
  app.get('/api/approvals', async (c) => {
    const identity = caller(c);
    return c.json(
      (await deps.approvalStore.pendingFor(identity.email)).map((a) => ({
        runId: a.runId,
        workflowId: a.workflowId,
        stepId: a.stepId,
        level: a.level,
        message: a.message,
        context: a.context ?? null,
        requestedBy: a.requestedBy,
        deadline: a.deadline,
        require: a.require,
        approvers: a.approvers,
      })),
    );
  });

  app.post('/api/approvals/:runId/:stepId', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    const decision = body.decision;
    if (decision !== 'approve' && decision !== 'reject')
      throw new HttpError(422, 'Invalid decision', "decision must be 'approve' or 'reject'", {
        field: 'decision',
      });
    if (body.comment !== undefined && body.comment !== null && typeof body.comment !== 'string')
      throw new HttpError(422, 'Invalid decision', 'comment must be a string', { field: 'comment' });
    const result = await deps.approvals.decide({
      runId: c.req.param('runId'),
      stepId: c.req.param('stepId'),
      by: identity.email,
      decision,
      comment: (body.comment as string | null | undefined) ?? null,
      channel: 'api',
    });
    if (!result.accepted && result.reason === 'self-approval')
      throw new HttpError(403, 'Forbidden', result.message);
    if (!result.accepted) throw new HttpError(409, 'Decision refused', result.reason);
    return c.json(result, 200);
  });
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const APPROVAL_PATHS = {
  '/api/approvals': {
    get: {
      ...requires('viewer', 'approvals:read'),
      summary: "The caller's pending approvals",
      responses: { '200': json('approvals'), ...errors },
    },
  },
  '/api/approvals/{runId}/{stepId}': {
    parameters: [
      { name: 'runId', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'stepId', in: 'path', required: true, schema: { type: 'string' } },
    ],
    post: {
      ...requires('viewer', 'approvals:decide'),
      summary: 'Decide an approval',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['decision'],
              properties: { decision: { enum: ['approve', 'reject'] }, comment: { type: 'string' } },
            },
          },
        },
      },
      responses: { '200': json('accepted'), '409': json('refused'), '422': json('invalid'), ...errors },
    },
  },
};
