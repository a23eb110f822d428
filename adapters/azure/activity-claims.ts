// The ActivityClaims port (functions/core/activity-claims.ts) on Azure Table Storage (adapters/azure/
// tables.ts, table `claims`): one entity per claimed attempt, alone in its partition.
//
// | PartitionKey    | RowKey  | properties                                                                |
// | --------------- | ------- | ------------------------------------------------------------------------- |
// | entityKey(key)  | `claim` | `key`, `status` (`held` / `done`), `leaseUntil` (ms), `delivered`,        |
// |                 |         | `answer` (packText: the answer as JSON text, once done)                   |
//
// A claim reads the entity and then creates it (409 when another claim created it first), takes a lapsed
// lease over by replacing it at the ETag read (412 when another took it first), or answers from it; a lost
// race reads again and sees the winner's claim — so of racing claims exactly one wins. `finish` replaces a
// held claim at its ETag with the answer: the first answer stays. The answer is JSON text (a tool's result
// may nest arrays, and may be longer than one property holds). Table Storage keeps no TTL: claims stay
// until the table is pruned (a few hundred bytes each).
import type { TableClient } from '@azure/data-tables';
import type { ActivityClaim, ActivityClaims } from '../../functions/core/activity-claims.js';
import type { JsonValue } from '../../translator/template.js';
import { type AzureTables, entityKey, packText, readEntity, retryRaces, unpackText } from './tables.js';

const ROW = 'claim';

type ClaimEntity = Record<string, unknown> & {
  key: string;
  status: 'held' | 'done';
  leaseUntil: number;
  delivered?: boolean;
};

const answerOf = (entity: Readonly<Record<string, unknown>>): JsonValue =>
  JSON.parse(unpackText(entity, 'answer') ?? 'null') as JsonValue;

export class AzureActivityClaims implements ActivityClaims {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('claims');
  }

  claim(key: string, now: number, leaseMs: number): Promise<ActivityClaim> {
    const until = now + leaseMs;
    const partitionKey = entityKey(key);
    return retryRaces(`activity claim ${key}`, async () => {
      const found = await readEntity<ClaimEntity>(this.client, partitionKey, ROW);
      if (found?.status === 'done')
        return { status: 'done', answer: answerOf(found), delivered: found.delivered === true };
      if (found !== undefined && found.leaseUntil > now) return { status: 'held', until: found.leaseUntil };
      const entity = { partitionKey, rowKey: ROW, key, status: 'held', leaseUntil: until };
      if (found === undefined) await this.client.createEntity(entity);
      else await this.client.updateEntity(entity, 'Replace', { etag: found.etag });
      return { status: 'claimed', takenOver: found !== undefined, until };
    });
  }

  finish(key: string, answer: JsonValue): Promise<JsonValue> {
    const partitionKey = entityKey(key);
    return retryRaces(`activity claim ${key}`, async () => {
      const found = await readEntity<ClaimEntity>(this.client, partitionKey, ROW);
      if (found === undefined) throw new Error(`activity claim ${key}: finished without being claimed`);
      if (found.status === 'done') return answerOf(found);
      const done = {
        partitionKey,
        rowKey: ROW,
        key,
        status: 'done',
        leaseUntil: found.leaseUntil,
        delivered: false,
        ...packText('answer', JSON.stringify(answer)),
      };
      await this.client.updateEntity(done, 'Replace', { etag: found.etag });
      return answer;
    });
  }

  async delivered(key: string): Promise<void> {
    await this.client.updateEntity({ partitionKey: entityKey(key), rowKey: ROW, delivered: true }, 'Merge');
  }
}
