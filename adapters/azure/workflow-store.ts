// Published workflow definitions in Azure Table Storage (or Cosmos DB for Table), as FirestoreWorkflowStore
// and DynamoWorkflowStore keep them: every version kept and never changed once written, one head per
// workflow naming its latest version and whether it was deleted. Table `workflows` (adapters/azure/tables.ts),
// all of it ONE partition, so that a save is one entity-group transaction and `list` one RowKey range:
//
// | entity | PartitionKey | RowKey | properties |
// | --- | --- | --- | --- |
// | workflow head | `workflows` | `head|<id>` | id, version (the latest), deleted |
// | version, part n | `workflows` | `version|<id>|<version, 10 digits>|<n, 3 digits>` | part 0: id, version, name, format, createdAt, createdBy, parts (how many); every part: its slices of `source` and `ir` (the IR as JSON text), packed (packText) |
//
// (`<id>` is entityKey(id).) A version's text goes into as many entities as it needs, each at most
// ENTITY_CHARS characters (about 900 KB of UTF-16; an entity holds 1 MiB), so a definition as large as the
// HTTP layer accepts (1 MB by default) is stored whole; the small one fits one entity. A save creates the
// version's parts and creates or replaces the head (If-Match: the ETag it read) in ONE transaction: of
// concurrent saves one takes each number, the others lost the race (409 or 412), read the head again and
// take the next. A transaction carries at most 2 MB on Cosmos DB for Table (4 MiB on Table Storage): a
// version larger than MAX_VERSION_BYTES on the wire is refused (413) naming its size, writing nothing.
//
// One partition serves about 2,000 entity operations a second on Table Storage, far more than definitions
// are saved or read (each instance parses a version once and keeps the latest read of each workflow).
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { HttpError } from '../../functions/core/http-error.js';
import type { StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { entitiesWithPrefix } from './prefix-query.js';
import {
  type AzureTables,
  digits,
  entityKey,
  MAX_TRANSACTION,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

const PARTITION = 'workflows';
/** The most characters of text one version entity holds (see the header). */
export const ENTITY_CHARS = 450_000;
/** The most bytes a version's source and IR take in a save's request (see the header). */
export const MAX_VERSION_BYTES = 1_900_000;

interface Head {
  id: string;
  version: number;
  deleted: boolean;
}

const headKey = (id: string) => `head|${entityKey(id)}`;
const versionPrefix = (id: string, version?: number) =>
  `version|${entityKey(id)}|${version === undefined ? '' : `${digits(version, 10)}|`}`;

export class AzureWorkflowStore implements WorkflowStore {
  /** Parsed once per version: callers get the same IR object, so what is cached per IR stays cached. */
  private readonly parsed = new Map<string, StoredWorkflowView>();
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('workflows');
  }

  /** Saves a new version (one after the latest kept, deleted or not); returns it. */
  async save(input: {
    ir: IrWorkflow;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): Promise<StoredWorkflowView> {
    const id = input.ir.id;
    const ir = JSON.stringify(input.ir);
    const bytes = Buffer.byteLength(JSON.stringify(input.source)) + Buffer.byteLength(JSON.stringify(ir));
    if (bytes > MAX_VERSION_BYTES)
      throw new HttpError(
        413,
        'Definition too large',
        `workflow ${id} takes ${bytes} bytes to store (source and IR); a version holds at most ${MAX_VERSION_BYTES}`,
      );
    return retryRaces(`saving workflow ${id}`, async () => {
      const head = await readEntity<Head>(this.client, PARTITION, headKey(id));
      const saved: StoredWorkflowView = {
        id,
        version: (head?.version ?? 0) + 1,
        name: input.ir.name,
        format: input.format,
        source: input.source,
        ir: input.ir,
        createdAt: input.at,
        createdBy: input.by,
      };
      const parts = spreadText([
        ['source', input.source],
        ['ir', ir],
      ]);
      const actions: TransactionAction[] = parts.map((text, n) => [
        'create',
        {
          partitionKey: PARTITION,
          rowKey: `${versionPrefix(id, saved.version)}${digits(n, 3)}`,
          ...(n === 0 ? { ...metadata(saved), parts: parts.length } : {}),
          ...text,
        },
      ]);
      const next = {
        partitionKey: PARTITION,
        rowKey: headKey(id),
        id,
        version: saved.version,
        deleted: false,
      };
      actions.push(head === undefined ? ['create', next] : ['update', next, 'Replace', { etag: head.etag }]);
      if (actions.length > MAX_TRANSACTION) throw new Error(`workflow ${id} needs too many entities`);
      await this.client.submitTransaction(actions);
      this.parsed.set(id, saved);
      return saved;
    });
  }

  async get(id: string): Promise<StoredWorkflowView | undefined> {
    const head = await readEntity<Head>(this.client, PARTITION, headKey(id));
    return head === undefined || head.deleted ? undefined : this.load(id, head.version);
  }

  /** The latest versions: one range of the heads, and a range per version not cached. */
  async list(): Promise<StoredWorkflowView[]> {
    const heads = await entitiesWithPrefix<Head>(this.client, PARTITION, 'head|', 'deleted eq false');
    const listed = await Promise.all(heads.map((head) => this.load(head.id, head.version)));
    return listed
      .flatMap((workflow) => (workflow === undefined ? [] : [workflow]))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async history(id: string): Promise<StoredWorkflowView[]> {
    const entities = await entitiesWithPrefix(this.client, PARTITION, versionPrefix(id));
    const versions: StoredWorkflowView[] = [];
    for (let at = 0; at < entities.length; ) {
      const parts = Number(entities[at]?.parts);
      if (!(parts >= 1)) throw new Error(`workflow ${id} has a version part without its first part`);
      versions.push(toWorkflow(entities.slice(at, at + parts)));
      at += parts;
    }
    return versions;
  }

  /** False when there was no such workflow (or it was deleted already). Versions are kept. */
  async delete(id: string): Promise<boolean> {
    return retryRaces(`deleting workflow ${id}`, async () => {
      const head = await readEntity<Head>(this.client, PARTITION, headKey(id));
      if (head === undefined || head.deleted) return false;
      const deleted = { partitionKey: PARTITION, rowKey: headKey(id), deleted: true };
      await this.client.updateEntity(deleted, 'Merge', { etag: head.etag });
      return true;
    });
  }

  /** A version of a workflow, parsed once (the cache keeps each workflow's latest read). */
  private async load(id: string, version: number): Promise<StoredWorkflowView | undefined> {
    const cached = this.parsed.get(id);
    if (cached !== undefined && cached.version === version) return cached;
    const parts = await entitiesWithPrefix(this.client, PARTITION, versionPrefix(id, version));
    if (parts.length === 0) return undefined;
    const workflow = toWorkflow(parts);
    this.parsed.set(id, workflow);
    return workflow;
  }
}

function metadata(saved: StoredWorkflowView) {
  const { id, version, name, format, createdAt, createdBy } = saved;
  return { id, version, name, format, createdAt, createdBy };
}

/**
 * `fields` (name, text) spread over entities of at most ENTITY_CHARS characters each, in order: each
 * entity holds its slice of each field it reaches, packed; never between the halves of a surrogate pair.
 */
export function spreadText(fields: Array<[string, string]>): Array<Record<string, string | number>> {
  const entities: Array<Record<string, string | number>> = [{}];
  let room = ENTITY_CHARS;
  for (const [name, text] of fields) {
    let at = 0;
    for (;;) {
      let end = Math.min(text.length, at + room);
      if (end < text.length && end > at && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
      Object.assign(entities[entities.length - 1] as object, packText(name, text.slice(at, end)));
      room -= end - at;
      at = end;
      if (at >= text.length) break;
      entities.push({});
      room = ENTITY_CHARS;
    }
  }
  return entities;
}

/** The version the entities of its parts (in RowKey order) hold. */
function toWorkflow(parts: Array<TableEntityResult<Record<string, unknown>>>): StoredWorkflowView {
  const first = parts[0] as Record<string, unknown>;
  if (parts.length !== Number(first.parts))
    throw new Error(`version ${String(first.version)} of workflow ${String(first.id)} lost parts`);
  const text = (name: string) => parts.map((part) => unpackText(part, name) ?? '').join('');
  return {
    id: String(first.id),
    version: Number(first.version),
    name: String(first.name),
    format: first.format as StoredWorkflowView['format'],
    source: text('source'),
    ir: JSON.parse(text('ir')) as IrWorkflow,
    createdAt: Number(first.createdAt),
    createdBy: String(first.createdBy),
  };
}
