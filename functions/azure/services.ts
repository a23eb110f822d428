// The core services the Azure functions share, composed over AzureDeps: the platform keys (derived from
// the Key Vault platform secret as every host derives them, functions/core/platform-keys.ts), the MCP
// registry and tool pipeline, the approval service with its signed links, and the ports the orchestrator's
// activities are given (registerStepgate, app.ts). A decided level's outcome is raised on the run's
// orchestration instance (its id is the run id) as the level's event, through the DurableHost; only the
// API decides — the activities open and close levels, never deciding, so they are given no run host.
import { AzureRunRecorder } from '../../adapters/azure/run-records.js';
import { type CloudTools, cloudTools } from '../../adapters/mcp/cloud-tools.js';
import { ApprovalLinks, linkNotifier } from '../core/approval-links.js';
import { type ApprovalNotifier, ApprovalService } from '../core/approvals.js';
import type { AuditEntry } from '../core/audit.js';
import { perInstance } from '../core/per-instance.js';
import { type ApprovalKeys, approvalKeys, chatConfirmKey } from '../core/platform-keys.js';
import type { ApprovalStore, DurableHost } from '../core/ports.js';
import type { AzureActivityPorts } from './activities.js';
import type { AzureDeps } from './deps.js';

export type PlatformKeys = ApprovalKeys & { chatKey: Uint8Array };

/** The keys the platform secret derives. */
export async function platformKeys(deps: Pick<AzureDeps, 'platformSecret'>): Promise<PlatformKeys> {
  const secret = await deps.platformSecret();
  return { ...approvalKeys(secret), chatKey: chatConfirmKey(secret) };
}

export type AzureTools = CloudTools;

/** The registry over the configured Streamable HTTP servers and the pipeline over the ports. */
export function azureTools(deps: AzureDeps): AzureTools {
  return cloudTools(deps.config, { vault: deps.vault(), limiter: deps.limiter(), clock: deps.clock });
}

export interface AzureApprovals {
  approvals: ApprovalService;
  links: ApprovalLinks;
  store: ApprovalStore;
}

const refuse = async (): Promise<never> => {
  throw new Error('an activity opens and closes approval levels; deciding them is the API function');
};

/**
 * The approval service and its emailed links. `host` is the API's run host: decided levels are raised on
 * the run through it; without one (the activities) the service opens and closes levels only.
 */
export function azureApprovals(deps: AzureDeps, keys: PlatformKeys, host?: DurableHost): AzureApprovals {
  const store = deps.approvalStore(keys.callbackKey);
  const recordAudit = async (runId: string, entry: AuditEntry): Promise<void> => {
    await deps.trail().append(runId, entry);
  };
  const late: { links?: ApprovalLinks } = {};
  const notifier: ApprovalNotifier = {
    requested: (record) =>
      linkNotifier({
        links: late.links as ApprovalLinks,
        notifier: deps.notifier(),
        directory: deps.directory(),
        recordAudit,
      }).requested(record),
  };
  const approvals = new ApprovalService({
    store,
    directory: deps.directory(),
    clock: deps.clock,
    notifier,
    raiseEvent: host === undefined ? refuse : (runId, name, outcome) => host.raiseEvent(runId, name, outcome),
    runActive:
      host === undefined ? refuse : async (runId) => (await host.getRun(runId))?.status === 'running',
    recordAudit,
  });
  late.links = new ApprovalLinks({
    secret: keys.linkSecret,
    store: deps.linkStore(),
    approvals,
    approvalStore: store,
    recordAudit,
    clock: deps.clock,
    baseUrl: deps.config.publicUrl,
  });
  return { approvals, links: late.links, store };
}

/**
 * The ports the orchestrator's activities run on, each made on the first activity that needs it: the
 * substituted tool invoker or the pipeline, the result store, the notifier, the approval service (no
 * deciding), and the run recorder: the `record` activity's batches, a tool attempt's stage entries and the
 * run's end.
 */
export function activityPorts(deps: () => Promise<AzureDeps>): AzureActivityPorts {
  const tools = perInstance(async () => {
    const made = await deps();
    return made.tools?.() ?? azureTools(made).pipeline;
  });
  const approvals = perInstance(async () => {
    const made = await deps();
    return azureApprovals(made, await platformKeys(made)).approvals;
  });
  const recorder = perInstance(async () => {
    const made = await deps();
    return new AzureRunRecorder({ records: made.records(), trail: made.trail(), clock: made.clock });
  });
  return {
    tools: { call: async (request, context) => (await tools()).call(request, context) },
    results: {
      put: async (key, json) => (await deps()).results().put(key, json),
      get: async (uri) => (await deps()).results().get(uri),
    },
    notifier: { send: async (request) => (await deps()).notifier().send(request) },
    approvals: {
      request: async (input) => (await approvals()).request(input),
      close: async (input) => (await approvals()).close(input),
    },
    audit: { append: async (batch) => (await recorder()).append(batch) },
    runs: {
      stages: async (runId, entries) => (await recorder()).stages(runId, entries),
      end: async (runId, outcome) => (await recorder()).end(runId, outcome),
    },
  };
}
