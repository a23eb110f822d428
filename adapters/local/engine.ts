// Wires the embedded engine: SQLite, the durable host, and the activities the orchestrator calls (tool
// calls, notifications, approval requests) through their ports. Tool results too large for a run's variables
// are stored in a ResultStore (the database's `tool_results` table by default) and referenced.
import { type ApprovalNotifier, ApprovalService } from '../../functions/core/approvals.js';
import {
  closeApproval,
  notifyHandler,
  openApproval,
  toolCallHandler,
} from '../../functions/core/handlers/index.js';
import type {
  AuditRecord,
  Clock,
  Directory,
  Notifier,
  ResultStore,
  ToolInvoker,
} from '../../functions/core/ports.js';
import {
  ACTIVITY,
  type ApprovalClose,
  type ApprovalRequest,
  type NotifyRequest,
  type ToolCallRequest,
} from '../../functions/core/protocol.js';
import { SqliteApprovalStore } from './approval-store.js';
import { type Db, type Durability, openDatabase } from './database.js';
import { LocalDurableHost } from './durable-host.js';
import { SqliteResultStore } from './result-store.js';

export interface EmbeddedEngineOptions {
  /** SQLite file, or ':memory:'. */
  file: string;
  durability?: Durability;
  clock: Clock;
  directory: Directory;
  tools: ToolInvoker;
  /** Where tool results larger than `resultLimitBytes` go; the database's `tool_results` table by default. */
  results?: ResultStore;
  /** JSON size (UTF-8 bytes) above which a tool result is stored and referenced; 16 KiB by default. */
  resultLimitBytes?: number;
  notifier: Notifier;
  approvalNotifier: ApprovalNotifier;
  cacheSize?: number;
  onAudit?: (runId: string, entry: AuditRecord) => void;
}

export interface EmbeddedEngine {
  db: Db;
  host: LocalDurableHost;
  approvals: ApprovalService;
  store: SqliteApprovalStore;
  /** Where large tool results are kept (ResultRef uris resolve here). */
  results: ResultStore;
  /** After a restart: re-dispatches outstanding work, re-arms timers, redelivers decided approvals. */
  recover(): Promise<{ work: number; timers: number; approvals: number }>;
}

export function createEmbeddedEngine(options: EmbeddedEngineOptions): EmbeddedEngine {
  const db = openDatabase(options.file, options.durability);
  // A decision's audit entry is written in the transaction of its update, on this database.
  const store = new SqliteApprovalStore(db, {
    recordAudit: (runId, entry) => host.recordAudit(runId, entry),
  });
  const results = options.results ?? new SqliteResultStore(db);
  // The activities are the handlers every host shares; the orchestrator hands them protocol messages.
  const toolCall = toolCallHandler({
    tools: options.tools,
    results,
    resultLimitBytes: options.resultLimitBytes,
  });
  const notify = notifyHandler(options.notifier);
  let approvals: ApprovalService | undefined;
  const host = new LocalDurableHost({
    db,
    clock: options.clock,
    cacheSize: options.cacheSize,
    onAudit: options.onAudit,
    pendingOutside: () => approvals?.pending() ?? 0,
    activities: {
      [ACTIVITY.toolCall]: (input, meta) => toolCall(input as ToolCallRequest, meta),
      [ACTIVITY.notify]: (input) => notify(input as NotifyRequest),
      [ACTIVITY.approvalRequest]: (input) => openApproval(service(), input as ApprovalRequest),
      [ACTIVITY.approvalClose]: (input) => closeApproval(service(), input as ApprovalClose),
    },
  });
  approvals = new ApprovalService({
    store,
    directory: options.directory,
    clock: options.clock,
    notifier: options.approvalNotifier,
    raiseEvent: (runId, name, payload) => host.raiseEvent(runId, name, payload),
    recordAudit: async (runId, entry) => host.recordAudit(runId, entry),
    runActive: async (runId) => (await host.getRun(runId))?.status === 'running',
  });
  function service(): ApprovalService {
    if (approvals === undefined) throw new Error('approvals are not wired yet');
    return approvals;
  }
  const recover = async (): Promise<{ work: number; timers: number; approvals: number }> => {
    const resumed = host.recover();
    return { ...resumed, approvals: await service().redeliver() };
  };
  return { db, host, approvals, store, results, recover };
}
