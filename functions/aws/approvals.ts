// The approval service of the AWS deployment: ApprovalService over the DynamoDB approval store (each
// level's task token sealed with the callback key) and the signed links it emails, which decide through
// it. What other parts of the deployment provide (the platform keys from Secrets Manager, answering a
// decided level's task token, whether a run still runs) comes in as AwsApprovalSeams: parameters, never
// stand-ins. A function given no decisions (approval-request, approval-close) never decides a level.

import { DynamoApprovalStore } from '../../adapters/aws/approval-store.js';
import { ApprovalLinks, linkNotifier } from '../core/approval-links.js';
import { type ApprovalDeps, type ApprovalNotifier, ApprovalService } from '../core/approvals.js';
import type { ApprovalKeys } from '../core/platform-keys.js';
import type { Notifier } from '../core/ports.js';
import { required } from './config.js';
import type { AwsPorts } from './ports.js';

/**
 * The keys derived from the platform secret kept in Secrets Manager (STEPGATE_LINK_SECRET_ARN, read by the
 * platform-secrets module; functions/core/platform-keys.ts): the link-signing and callback-sealing keys,
 * and the HMAC key of chat's pending starts (the API's).
 */
export type PlatformKeys = ApprovalKeys & { chatKey: Uint8Array };

/** How a decided level reaches its run: only the functions that take decisions (the API) need it. */
export interface ApprovalDecisions {
  /** Answers the level's task token (SendTaskSuccess / SendTaskFailure: `aslCallbackAnswer` says which). */
  raiseEvent: ApprovalDeps['raiseEvent'];
  /** Whether the run's execution still runs. */
  runActive: ApprovalDeps['runActive'];
}

/** What the approval service needs from the rest of the AWS deployment. */
export interface AwsApprovalSeams {
  keys: PlatformKeys;
  /** Absent in the activity functions (approval-request, approval-close): they never decide a level. */
  decisions?: ApprovalDecisions;
  /** Sends the approvers' emails (`channelNotifier`); absent where no level is opened (approval-close). */
  notifier?: Notifier;
  /** The links also need the approver logged in. Default false. */
  requireLogin?: boolean;
}

/** The service of a function that opens and closes levels: deciding one is the API's, refused here. */
const NO_DECISIONS: ApprovalDecisions = {
  raiseEvent: async () => {
    throw new Error("this function opens and closes approval levels; deciding one is the API function's");
  },
  runActive: async () => {
    throw new Error("this function opens and closes approval levels; deciding one is the API function's");
  },
};

/** The ApprovalService and the signed links it emails (the links decide through the service). */
export interface AwsApprovals {
  approvals: ApprovalService;
  links: ApprovalLinks;
  store: DynamoApprovalStore;
}

/** Refuses what a function given no notifier never does: open a level, whose approvers it would email. */
const NO_NOTIFIER: ApprovalNotifier = {
  requested: async () => {
    throw new Error('this function was given no notifier: it closes approval levels, never opens one');
  },
};

/**
 * The approval service and its emailed links over the ports; the links decide through the service, which
 * emails them through the seams' notifier.
 */
export function awsApprovals(ports: AwsPorts, seams: AwsApprovalSeams): AwsApprovals {
  const store = new DynamoApprovalStore(ports.table, {
    callbackKey: seams.keys.callbackKey,
    audit: ports.audit(),
  });
  const late: { links?: ApprovalLinks } = {};
  const notifier = seams.notifier;
  const approvals = new ApprovalService({
    store,
    directory: ports.directory(),
    clock: ports.clock,
    notifier:
      notifier === undefined
        ? NO_NOTIFIER
        : {
            requested: (record) =>
              linkNotifier({
                links: late.links as ApprovalLinks,
                notifier,
                directory: ports.directory(),
                recordAudit: ports.recordAudit,
              }).requested(record),
          },
    ...(seams.decisions ?? NO_DECISIONS),
    recordAudit: ports.recordAudit,
  });
  late.links = new ApprovalLinks({
    secret: seams.keys.linkSecret,
    store: ports.linkStore(),
    approvals,
    approvalStore: store,
    recordAudit: ports.recordAudit,
    clock: ports.clock,
    baseUrl: required(ports.config, 'publicUrl'),
    requireLogin: seams.requireLogin === true,
  });
  return { approvals, links: late.links, store };
}
