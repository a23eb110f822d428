// The ResultStore contract (functions/core/ports.ts), written once and run against every adapter: a put is
// idempotent per (key, JSON), different JSON under one key is kept beside it under its own uri, and a uri
// the store did not hand out reads as undefined. Concurrent puts of one result agree on one uri.
import { describe, expect, it } from 'vitest';
import type { ResultKey, ResultStore } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const KEY: ResultKey = { runId: 'r1', stepId: 'fetch', visit: 1, attempt: 1 };

/** The contract of `ResultStore`; `make` gives adapters over one fresh store. */
export function describeResultStoreContract(
  name: string,
  make: () => Contenders<ResultStore> | Promise<Contenders<ResultStore>>,
): void {
  describe(`ResultStore contract: ${name}`, () => {
    it('gives back what was put under the uri it answered, from any connection', async () => {
      const [store, other] = await fresh(make);
      const json = JSON.stringify({ rows: [1, 2, 3], text: 'é ✓' });
      const uri = await store.put(KEY, json);
      expect(await store.get(uri)).toBe(json);
      expect(await other.get(uri)).toBe(json);
    });

    it('answers the same uri for the same key and JSON, storing once', async () => {
      const [store, other] = await fresh(make);
      const first = await store.put(KEY, '{"a":1}');
      expect(await other.put(KEY, '{"a":1}')).toBe(first);
      expect(await store.get(first)).toBe('{"a":1}');
    });

    it('keeps different JSON under one key beside the first, each under its own uri', async () => {
      const [store] = await fresh(make);
      const first = await store.put(KEY, '{"a":1}');
      const second = await store.put(KEY, '{"a":2}');
      expect(second).not.toBe(first);
      expect(await store.get(first)).toBe('{"a":1}');
      expect(await store.get(second)).toBe('{"a":2}');
    });

    it('keeps the same JSON of different attempts, visits, steps and runs apart', async () => {
      const [store] = await fresh(make);
      const keys: ResultKey[] = [
        KEY,
        { ...KEY, attempt: 2 },
        { ...KEY, visit: 2 },
        { ...KEY, stepId: 'other' },
        { ...KEY, runId: 'r2' },
      ];
      const uris = await Promise.all(keys.map((k) => store.put(k, '{"same":true}')));
      expect(new Set(uris).size).toBe(keys.length);
    });

    it('answers undefined for a uri it did not hand out', async () => {
      const [store] = await fresh(make);
      const uri = await store.put(KEY, '{"a":1}');
      expect(await store.get(`${uri}0`)).toBeUndefined();
      expect(await store.get(uri.replace('r1', 'r9'))).toBeUndefined();
      expect(await store.get('s3://bucket/nothing')).toBeUndefined();
      expect(await store.get('')).toBeUndefined();
    });

    it('answers one uri to many concurrent puts of one result', async () => {
      const stores = await fresh(make);
      const outcomes = await race(12, (i) => connectionFor(stores, i).put(KEY, '{"big":"result"}'));
      const uris = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      expect(new Set(uris).size).toBe(1);
      expect(await stores[0].get(uris[0] as string)).toBe('{"big":"result"}');
    });
  });
}
