// Approval requests in Azure Table Storage: one entity per (run, step, visit, level) in the run's partition
// of `runs` (RowKey `<entityKey('approval', stepId)>|<visit>|<level>`, fixed-width digits), beside the run's
// record and trail, so a step's requests are one partition query and a decision and its audit entry are ONE
// entity-group transaction (the request replaced on the ETag it was read at, the trail's head and entry:
// audit.ts entriesActions): both or neither. `create` is a create (409: exactly once); `update` is
// compare-and-set on `version` (read, check, replace if the ETag still matches; a racer that wrote first
// makes it fail with 412, and the re-read finds the version moved on).
//
// Requests are found across runs through index entities in `runIndex`: partition `approver|<email>` (one
// per approver, normalised) while a request is open, `undelivered` while decided but not delivered; RowKey
// `<createdAt>|<hash of the request's key>|<version>`, where the version is the one at which the request
// enters that listing. An index entity is written BEFORE the write that puts the request in its listing,
// and the request entity is the truth: a listing reads each request and returns it only while it is in that
// listing. An entity ahead of its request (a version not reached yet: the write is under way, or lost its
// race, or died) is skipped and kept; one whose request has reached its version and is not (or no longer)
// in the listing, or that another create wrote for a request created otherwise, is skipped and deleted.
// Requests never re-enter a listing they left (open → decided → delivered), so a deleted entity is never
// needed again; `update` deletes those of the listing a request leaves, and readers prune the rest.
//
// The callback handle is sealed as in adapters/local/approval-store.ts (AES-256-GCM, bound to the
// request's run, step, visit and level) and stored as binary. JSON-shaped and free-text fields are packed
// (packText): a property holds at most 32 K characters.
import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { AuditEntry } from '../../functions/core/audit.js';
import { normalizeEmail } from '../../functions/core/identity.js';
import type { ApprovalRecord, ApprovalStore, Clock } from '../../functions/core/ports.js';
import { CallbackSeal } from '../local/callback-seal.js';
import { type AzureRunAudit, runPartition } from './audit.js';
import {
  type AzureTables,
  alreadyExists,
  deleteAsRead,
  digits,
  entityKey,
  ownProperties,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

const UNDELIVERED = 'undelivered';
const WIDTH = 10;

type Key = Pick<ApprovalRecord, 'runId' | 'stepId' | 'visit' | 'level'>;
type Entity = Record<string, unknown>;

export interface AzureApprovalStoreOptions {
  /** 32 bytes (see `approvalCallbackKey`); without it, storing a callback handle is refused. */
  callbackKey?: Uint8Array;
  /** The runs' audit trail, which `update` writes its entry to; without it, an update with one is refused. */
  trail?: AzureRunAudit;
  /** When a decision's entry is recorded (now by default). */
  clock?: Pick<Clock, 'now'>;
}

export class AzureApprovalStore implements ApprovalStore {
  private readonly callbacks: CallbackSeal;
  private readonly runs: TableClient;
  private readonly index: TableClient;

  constructor(
    tables: AzureTables,
    private readonly options: AzureApprovalStoreOptions = {},
  ) {
    this.callbacks = new CallbackSeal(options.callbackKey);
    this.runs = tables.client('runs');
    this.index = tables.client('runIndex');
  }

  async create(r: ApprovalRecord): Promise<boolean> {
    if (!Number.isSafeInteger(r.createdAt) || r.createdAt < 0)
      throw new Error(
        `approval ${r.runId}/${r.stepId}: createdAt must be ms since epoch, got ${r.createdAt}`,
      );
    const record = { ...r, version: 1 };
    const entity = { partitionKey: runPartition(r.runId), rowKey: approvalRow(r), ...this.toEntity(record) };
    await this.enter(record, listingsOf(record));
    try {
      await this.runs.createEntity(entity);
      return true;
    } catch (error) {
      if (alreadyExists(error)) return false;
      throw error;
    }
  }

  async get(
    runId: string,
    stepId: string,
    visit: number,
    level: number,
  ): Promise<ApprovalRecord | undefined> {
    const found = await readEntity<Entity>(
      this.runs,
      runPartition(runId),
      approvalRow({ runId, stepId, visit, level }),
    );
    return found && this.toRecord(found);
  }

  async openFor(runId: string, stepId: string): Promise<ApprovalRecord | undefined> {
    const prefix = `${entityKey('approval', stepId)}|`;
    const found = this.runs.listEntities<Entity>({
      queryOptions: {
        filter: `PartitionKey eq '${runPartition(runId)}' and RowKey ge '${prefix}0' and RowKey lt '${prefix}:' and status eq 'open'`,
      },
    });
    let latest: Entity | undefined;
    for await (const entity of found) latest = entity;
    return latest && this.toRecord(latest);
  }

  async pendingFor(email: string): Promise<ApprovalRecord[]> {
    const who = normalizeEmail(email);
    const open = await this.listing(approverListing(who));
    return open.filter((r) => !r.decisions.some((d) => d.by === who));
  }

  undelivered(): Promise<ApprovalRecord[]> {
    return this.listing(UNDELIVERED);
  }

  async update(r: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined> {
    const trail = this.options.trail;
    if (audit !== undefined && trail === undefined)
      throw new Error(
        `approval ${r.runId}/${r.stepId} level ${r.level}: an update carries an audit entry, but this store was given no audit trail to write it to`,
      );
    const partitionKey = runPartition(r.runId);
    const rowKey = approvalRow(r);
    const next = { ...r, version: r.version + 1 };
    let left: string[] = [];
    const written = await retryRaces(`deciding approval ${r.runId}/${r.stepId}`, async () => {
      const stored = await readEntity<Entity>(this.runs, partitionKey, rowKey);
      if (stored === undefined || stored.version !== r.version) return false;
      const before = listingsOf(this.toRecord(stored));
      await this.enter(
        next,
        listingsOf(next).filter((l) => !before.includes(l)),
      );
      left = before.filter((l) => !listingsOf(next).includes(l));
      const { callback: _, ...kept } = ownProperties(stored);
      const entity = { partitionKey, rowKey, ...kept, ...this.mutableFields(next) };
      const etag = { etag: stored.etag };
      if (audit === undefined || trail === undefined) await this.runs.updateEntity(entity, 'Replace', etag);
      else {
        const at = this.options.clock?.now() ?? Date.now();
        const { actions } = trail.entriesActions(r.runId, await trail.head(r.runId), [{ entry: audit, at }]);
        await this.runs.submitTransaction([['update', entity, 'Replace', etag], ...actions]);
      }
      return true;
    });
    if (!written) return undefined;
    await this.leave(next, left);
    return next;
  }

  /** Writes the index entities that put `r` (at its version) in `listings`, before the write that does. */
  private async enter(r: ApprovalRecord, listings: string[]): Promise<void> {
    await Promise.all(
      listings.map((partitionKey) =>
        this.index.upsertEntity(
          {
            partitionKey,
            rowKey: `${indexPrefix(r)}${digits(r.version, WIDTH)}`,
            runId: r.runId,
            stepId: r.stepId,
            visit: r.visit,
            level: r.level,
          },
          'Replace',
        ),
      ),
    );
  }

  /** Deletes the index entities of the listings `r` left; what fails here, a listing's readers prune. */
  private async leave(r: ApprovalRecord, listings: string[]): Promise<void> {
    try {
      for (const partitionKey of listings) {
        const prefix = indexPrefix(r);
        const found = this.index.listEntities({
          queryOptions: {
            filter: `PartitionKey eq '${partitionKey}' and RowKey ge '${prefix}' and RowKey lt '${prefix}~'`,
          },
        });
        for await (const entity of found) await deleteAsRead(this.index, entity);
      }
    } catch {
      // The decision is written: the entities left behind are pruned by the next listing that reads them.
    }
  }

  /** The requests of one listing, oldest first, each read from its entity (see the header). */
  private async listing(partitionKey: string): Promise<ApprovalRecord[]> {
    const found = new Map<string, ApprovalRecord>();
    const pages = this.index
      .listEntities<Entity>({ queryOptions: { filter: `PartitionKey eq '${partitionKey}'` } })
      .byPage({ maxPageSize: 200 });
    for await (const page of pages) {
      const listed = await Promise.all(page.map((entity) => this.listed(entity)));
      for (const r of listed) if (r !== undefined) found.set(approvalKey(r), r);
    }
    return [...found.values()];
  }

  /** The request an index entity lists while it is in that listing; undefined otherwise (see the header). */
  private async listed(entity: TableEntityResult<Entity>): Promise<ApprovalRecord | undefined> {
    const key = entity as unknown as Key;
    const r = await this.get(key.runId, key.stepId, key.visit, key.level);
    if (r === undefined) return undefined;
    const rowKey = String(entity.rowKey);
    const entersAt = Number(rowKey.slice(rowKey.lastIndexOf('|') + 1));
    const ours = rowKey.startsWith(indexPrefix(r));
    if (ours && listingsOf(r).includes(String(entity.partitionKey))) return r;
    if (!ours || r.version >= entersAt) await deleteAsRead(this.index, entity);
    return undefined;
  }

  /** The fields an update may change, as stored (the callback sealed). */
  private mutableFields(r: ApprovalRecord): Entity {
    const callback = this.callbacks.seal(r);
    return {
      status: r.status,
      ...packText('decisions', JSON.stringify(r.decisions)),
      delivered: r.delivered,
      ...(callback === null ? {} : { callback: new Uint8Array(callback) }),
      version: r.version,
    };
  }

  private toEntity(r: ApprovalRecord): Entity {
    return {
      runId: r.runId,
      workflowId: r.workflowId,
      stepId: r.stepId,
      visit: r.visit,
      level: r.level,
      eventName: r.eventName,
      ...packText('approvers', JSON.stringify(r.approvers)),
      require: JSON.stringify(r.require),
      ...packText('message', r.message),
      ...(r.context === undefined ? {} : packText('context', JSON.stringify(r.context))),
      requestedBy: r.requestedBy,
      ...packText('requesters', JSON.stringify(r.requesters)),
      allowSelfApproval: r.allowSelfApproval,
      ...(r.deadline === null ? {} : { deadline: r.deadline }),
      createdAt: r.createdAt,
      ...this.mutableFields(r),
    };
  }

  private toRecord(e: Entity): ApprovalRecord {
    const key: Key = {
      runId: String(e.runId),
      stepId: String(e.stepId),
      visit: Number(e.visit),
      level: Number(e.level),
    };
    const json = (name: string) => JSON.parse(unpackText(e, name) ?? 'null');
    const context = unpackText(e, 'context');
    return {
      ...key,
      workflowId: String(e.workflowId),
      eventName: String(e.eventName),
      approvers: json('approvers'),
      require: JSON.parse(String(e.require)),
      message: unpackText(e, 'message') ?? '',
      ...(context === undefined ? {} : { context: JSON.parse(context) }),
      requestedBy: String(e.requestedBy),
      requesters: json('requesters'),
      allowSelfApproval: e.allowSelfApproval === true,
      deadline: typeof e.deadline === 'number' ? e.deadline : null,
      status: e.status as ApprovalRecord['status'],
      decisions: json('decisions'),
      createdAt: Number(e.createdAt),
      delivered: e.delivered === true,
      callback: this.callbacks.open(key, e.callback instanceof Uint8Array ? e.callback : null),
      version: Number(e.version),
    };
  }
}

/** The request's RowKey in its run's partition: a step's requests together, by visit then level. */
function approvalRow(k: Key): string {
  for (const field of ['visit', 'level'] as const)
    if (!Number.isSafeInteger(k[field]) || k[field] < 0)
      throw new Error(
        `approval ${k.runId}/${k.stepId}: ${field} must be a non-negative integer, got ${k[field]}`,
      );
  return `${entityKey('approval', k.stepId)}|${digits(k.visit, WIDTH)}|${digits(k.level, WIDTH)}`;
}

function approvalKey(k: Key): string {
  return JSON.stringify([k.runId, k.stepId, k.visit, k.level]);
}

/** The start of a request's index RowKeys: its creation time, then its key's hash. */
function indexPrefix(r: Key & Pick<ApprovalRecord, 'createdAt'>): string {
  return `${digits(r.createdAt)}|${createHash('sha256').update(approvalKey(r)).digest('hex')}|`;
}

function approverListing(email: string): string {
  return entityKey('approver', email);
}

/** The index partitions listing a request as it stands. */
function listingsOf(r: Pick<ApprovalRecord, 'status' | 'delivered' | 'approvers'>): string[] {
  if (r.status === 'open') return [...new Set(r.approvers.map((a) => approverListing(normalizeEmail(a))))];
  if ((r.status === 'approved' || r.status === 'rejected') && !r.delivered) return [UNDELIVERED];
  return [];
}
