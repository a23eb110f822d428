// The core services the GCP functions share, composed over the ports: the platform keys (derived from the
// Secret Manager secret as every host derives them, functions/core/platform-keys.ts), the MCP registry and
// tool pipeline, the notifier (the local server's ChannelNotifier: email through the deployment's SMTP relay
// unless the vault names an SMTP_URL of the sender's own) and the approval service with its signed links.
// A decided level's outcome is posted to the level's callback URL (its event name, a Workflows callback)
// with the function's identity; only the API decides, the other functions are given no decisions.
import { type CloudTools, cloudTools } from '../../adapters/mcp/cloud-tools.js';
import { ApprovalLinks, linkNotifier } from '../core/approval-links.js';
import { type ApprovalNotifier, ApprovalService } from '../core/approvals.js';
import type { AuditEntry } from '../core/audit.js';
import { ChannelNotifier } from '../core/notify/notifier.js';
import { createSsrfGuard } from '../core/notify/ssrf.js';
import { type ApprovalKeys, approvalKeys, chatConfirmKey } from '../core/platform-keys.js';
import type { ApprovalStore, Notifier } from '../core/ports.js';
import { required } from './config.js';
import type { GcpDeps, GcpPorts } from './ports.js';

export type PlatformKeys = ApprovalKeys & { chatKey: Uint8Array };

export async function platformKeys(ports: GcpPorts): Promise<PlatformKeys> {
  const secret = await ports.platformSecret();
  return { ...approvalKeys(secret), chatKey: chatConfirmKey(secret) };
}

export type GcpTools = CloudTools;

/** The registry over the configured Streamable HTTP servers and the pipeline over the ports. */
export function gcpTools(ports: GcpPorts): GcpTools {
  return cloudTools(ports.config, { vault: ports.vault(), limiter: ports.limiter(), clock: ports.clock });
}

/** The ChannelNotifier, its default SMTP server the deployment's relay (none: email needs a vault SMTP_URL). */
export async function gcpNotifier(ports: GcpPorts): Promise<ChannelNotifier> {
  const relay = await ports.smtpRelayUrl();
  return new ChannelNotifier({
    vault: ports.vault(),
    config: {
      email: {
        from: required(ports.config, 'emailFrom'),
        ...(relay === undefined ? {} : { defaultUrl: relay }),
      },
    },
    ssrf: createSsrfGuard(),
    clock: ports.clock,
  });
}

export interface GcpApprovals {
  approvals: ApprovalService;
  links: ApprovalLinks;
  store: ApprovalStore;
}

/** What the approval service is given: the API also decides (`deps`), the others never do. */
export interface ApprovalSeams {
  keys: PlatformKeys;
  /** Emails the approvers their links; absent where no level is opened (approval-close). */
  notifier?: Notifier;
  /** The API's: decided levels answer their callbacks, `runActive` asks the host. */
  deciding?: Pick<GcpDeps, 'host' | 'callbacks'>;
}

const refuse = (what: string) => async (): Promise<never> => {
  throw new Error(`this function ${what}; deciding or notifying is another function's`);
};

/** The approval service and its emailed links over the ports. */
export function gcpApprovals(ports: GcpPorts, seams: ApprovalSeams): GcpApprovals {
  const store = ports.approvalStore(seams.keys.callbackKey);
  const recordAudit = async (runId: string, entry: AuditEntry): Promise<void> => {
    await ports.audit().append(runId, entry);
  };
  const late: { links?: ApprovalLinks } = {};
  const { notifier, deciding } = seams;
  const approvalNotifier: ApprovalNotifier =
    notifier === undefined
      ? { requested: refuse('opens no approval level') }
      : {
          requested: (record) =>
            linkNotifier({
              links: late.links as ApprovalLinks,
              notifier,
              directory: ports.directory(),
              recordAudit,
            }).requested(record),
        };
  const approvals = new ApprovalService({
    store,
    directory: ports.directory(),
    clock: ports.clock,
    notifier: approvalNotifier,
    raiseEvent:
      deciding === undefined
        ? refuse('opens and closes approval levels')
        : async (_runId, callbackUrl, outcome) => {
            await deciding.callbacks().post(callbackUrl, outcome);
          },
    runActive:
      deciding === undefined
        ? refuse('opens and closes approval levels')
        : async (runId) => (await deciding.host().getRun(runId))?.status === 'running',
    recordAudit,
  });
  late.links = new ApprovalLinks({
    secret: seams.keys.linkSecret,
    store: ports.linkStore(),
    approvals,
    approvalStore: store,
    recordAudit,
    clock: ports.clock,
    baseUrl: required(ports.config, 'publicUrl'),
  });
  return { approvals, links: late.links, store };
}
