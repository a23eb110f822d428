// The Azure replay harness's stores (testing/run-azure.ts AzureCaseStores) as the Functions app composes them
// (functions/azure/services.ts), on Azurite (test/support/azurite.ts): the approvals in AzureApprovalStore with
// the runs' trail AzureRunAudit (a decision and its entry in one transaction), the `record` batches, the tool
// stages and the run's end through AzureRunRecorder over AzureRunStore (the record created with its
// `run.started` before the orchestration starts, as AzureDurableHost.startRun does), a refused decision's
// entry appended to the trail, large results in BlobResultStore on Azurite's blob service. Each case gets
// tables of its own (a fresh prefix: run ids and approver listings never meet another case's; only the two
// tables the run's stores write are created); the factory's cases share one results container (a blob's name is its run, step, visit, attempt and content hash).
//
// When a case's stores close, what they committed is checked against what went through them: no store call
// in flight, the trail gapless and holding exactly the entries written (one `run.started`, each orchestrator
// entry once, every decision, refusal and tool stage), the record ended with the outcome the run-end
// activity was given (running when none was). A mismatch is a line in `problems`, naming the run.
import { randomBytes } from 'node:crypto';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { AzureApprovalStore } from '../../adapters/azure/approval-store.js';
import { AzureRunAudit } from '../../adapters/azure/audit.js';
import { BlobResultStore } from '../../adapters/azure/result-store.js';
import { AzureRunRecorder } from '../../adapters/azure/run-records.js';
import { AzureRunStore } from '../../adapters/azure/run-store.js';
import { AzureTables, type TableId } from '../../adapters/azure/tables.js';
import type { AuditEntry, AuditRecord } from '../../functions/core/audit.js';
import type { ApprovalRecord, Clock } from '../../functions/core/ports.js';
import type { RunOutcome } from '../../functions/core/protocol.js';
import type { AzureCaseStores, AzureCaseStoresFactory } from '../../testing/run-azure.js';
import { type Azurite, DEV_ACCOUNT, DEV_KEY } from './azurite.js';

export interface AzuriteCaseStores {
  /** The factory to give runCaseAzure. */
  stores: AzureCaseStoresFactory;
  /** What a case's stores committed otherwise than it went through them (see the header); empty when none. */
  problems: string[];
  /** The calls made to the stores so far (so a suite knows its cases went through them). */
  calls: {
    cases: number;
    batches: number;
    decisions: number;
    refusals: number;
    stages: number;
    ends: number;
    results: number;
  };
  /** Each case's tables, in the order the cases started. */
  tables: AzureTables[];
  /** The results container's client. */
  container(): Promise<ContainerClient>;
}

let containers = 0;

/** Stores over `azurite` for the harness's cases, checked as each case closes. */
export function azuriteCaseStores(azurite: Azurite): AzuriteCaseStores {
  const problems: string[] = [];
  const calls = { cases: 0, batches: 0, decisions: 0, refusals: 0, stages: 0, ends: 0, results: 0 };
  let made: Promise<ContainerClient> | undefined;
  const container = (): Promise<ContainerClient> => {
    made ??= (async () => {
      // Blob Storage's own key credential: the tables' AzureNamedKeyCredential is not one it takes.
      const key = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY);
      const client = new ContainerClient(
        `${azurite.blobEndpoint}/results-${process.pid}-${++containers}`,
        key,
      );
      await client.create();
      return client;
    })();
    return made;
  };
  const opened: AzureTables[] = [];
  const stores: AzureCaseStoresFactory = async (clock) => {
    calls.cases++;
    const tables = await caseTables(azurite);
    opened.push(tables);
    return caseStores(tables, new BlobResultStore(await container()), clock, { calls, problems });
  };
  return { stores, problems, calls, tables: opened, container };
}

type Tally = Pick<AzuriteCaseStores, 'calls' | 'problems'>;

/** The tables a run's stores write (a fresh prefix): the runs' partitions and their index, created. */
const CASE_TABLES: TableId[] = ['runs', 'runIndex'];

/**
 * Tables nobody else uses, of which only CASE_TABLES exist (creating all ten took some 50 ms of a case's
 * 350, measured under load): a store writing another table fails, TableNotFound.
 */
async function caseTables(azurite: Azurite): Promise<AzureTables> {
  const tables = new AzureTables({
    endpoint: azurite.tableEndpoint,
    credential: azurite.credential,
    prefix: azurite.freshPrefix(),
    allowInsecureConnection: true,
  });
  await Promise.all(CASE_TABLES.map((id) => tables.client(id).createTable()));
  return tables;
}

/** One case's stores over `tables`, checked when they close. */
function caseStores(
  tables: AzureTables,
  blobs: BlobResultStore,
  clock: Pick<Clock, 'now'>,
  { calls, problems }: Tally,
): AzureCaseStores {
  const trail = new AzureRunAudit(tables);
  const records = new AzureRunStore(tables, trail);
  const recorder = new AzureRunRecorder({ records, trail, clock });
  /** The entry types the trail must hold once the case ends. */
  const written: string[] = [];
  const applied = new Set<number>();
  const run: { id?: string; ended?: RunOutcome } = {};
  let inFlight = 0;
  const tracked = async <T>(counter: keyof Tally['calls'], work: () => Promise<T>): Promise<T> => {
    calls[counter]++;
    inFlight++;
    try {
      return await work();
    } finally {
      inFlight--;
    }
  };
  class HeardApprovalStore extends AzureApprovalStore {
    constructor(private readonly heard: (runId: string, entry: AuditEntry) => void) {
      super(tables, { callbackKey: randomBytes(32), trail, clock });
    }

    override async update(r: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined> {
      inFlight++;
      try {
        const stored = await super.update(r, audit);
        if (stored !== undefined && audit !== undefined) {
          calls.decisions++;
          written.push(audit.type);
          this.heard(r.runId, audit);
        }
        return stored;
      } finally {
        inFlight--;
      }
    }
  }
  return {
    approvals: (recordAudit) => new HeardApprovalStore(recordAudit),
    results: {
      put: (key, json) => tracked('results', () => blobs.put(key, json)),
      get: (uri) => blobs.get(uri),
    },
    audit: {
      append: (batch) =>
        tracked('batches', () => {
          for (const entry of batch.entries)
            if (!applied.has(entry.seq)) {
              applied.add(entry.seq);
              if (entry.type !== 'run.started') written.push(entry.type);
            }
          return recorder.append(batch);
        }),
      record: (runId, entry) =>
        tracked('refusals', async () => {
          written.push(entry.type);
          await trail.append(runId, entry, clock.now());
        }),
    },
    runs: {
      create: async (start) => {
        run.id = start.runId;
        written.push('run.started');
        await records.create(start, clock.now(), { version: null });
      },
      stages: (runId, entries) =>
        tracked('stages', () => {
          written.push(...entries.map((e) => e.type));
          return recorder.stages(runId, entries);
        }),
      end: (runId, outcome) =>
        tracked('ends', () => {
          run.ended ??= outcome;
          return recorder.end(runId, outcome);
        }),
    },
    close: async () => {
      const runId = run.id;
      if (inFlight > 0) problems.push(`${runId}: the stores closed with ${inFlight} calls in flight`);
      if (runId === undefined) return;
      const [stored, record] = await Promise.all([trail.list(runId), records.get(runId)]);
      problems.push(...trailProblems(runId, stored, written));
      const status = run.ended?.status ?? 'running';
      if (record?.status !== status)
        problems.push(`${runId}: the record is ${record?.status ?? 'missing'}, the run ended ${status}`);
    },
  };
}

/** How the stored trail differs from the entries written to it (gapless seqs, the same entries). */
function trailProblems(runId: string, stored: AuditRecord[], written: string[]): string[] {
  const found: string[] = [];
  if (stored.some((r, i) => r.seq !== i + 1))
    found.push(`${runId}: the trail's seqs are not 1..n: ${stored.map((r) => r.seq).join(',')}`);
  const held = stored.map((r) => r.type).sort();
  const sent = [...written].sort();
  if (JSON.stringify(held) !== JSON.stringify(sent))
    found.push(`${runId}: the trail holds [${held.join(', ')}], the run wrote [${sent.join(', ')}]`);
  return found;
}
