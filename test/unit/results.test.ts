// Large tool results: the offloading wrapper (threshold in UTF-8 bytes, the ResultRef, undefined and
// non-JSON results), the SQLite result store (exact round trip, idempotent puts), and an embedded-engine
// run whose 100 KB tool result ends up in the store while the variable holds the reference.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteResultStore } from '../../adapters/local/result-store.js';
import {
  ActivityError,
  type ResultKey,
  type ResultStore,
  type ToolInvoker,
} from '../../functions/core/ports.js';
import {
  isResultRef,
  RESULT_INLINE_LIMIT_BYTES,
  RESULT_PREVIEW_CHARS,
  RESULT_REF,
  type ResultRef,
  type ToolCallRequest,
} from '../../functions/core/protocol.js';
import { INVALID_RESULT, offloadLargeResults } from '../../functions/core/results.js';
import { alice, compile, define, ok, runWorkflow } from '../engine/harness.js';

const request = (overrides: Partial<ToolCallRequest> = {}): ToolCallRequest => ({
  workflowId: 'wf',
  runId: 'run-1',
  stepId: 'fetch',
  visit: 1,
  identity: alice,
  attempt: 1,
  idempotencyKey: 'run-1:fetch:1',
  server: null,
  tool: 'rows-export',
  args: {},
  timeoutMs: null,
  ...overrides,
});

const answering = (result: unknown): ToolInvoker => ({ call: async () => result });

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A JSON string value whose JSON text is exactly `bytes` UTF-8 bytes long (ASCII). */
const asciiOfBytes = (bytes: number): string => 'x'.repeat(bytes - 2);

const dbs: Db[] = [];
function database(): Db {
  const db = openDatabase(':memory:');
  dbs.push(db);
  return db;
}
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function rows(db: Db): number {
  return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM tool_results').get()?.n ?? 0;
}

describe('offloadLargeResults', () => {
  it('returns a small result untouched (the same value) and stores nothing', async () => {
    const db = database();
    const result = { id: 'ch_1', items: [1, 2, 3], note: 'naïve café' };
    const tools = offloadLargeResults(answering(result), new SqliteResultStore(db));
    expect(await tools.call(request())).toBe(result);
    expect(rows(db)).toBe(0);
  });

  it('keeps a result of exactly the limit inline and references one byte more (default 16 KiB)', async () => {
    expect(RESULT_INLINE_LIMIT_BYTES).toBe(16 * 1024);
    const db = database();
    const store = new SqliteResultStore(db);
    const atLimit = asciiOfBytes(RESULT_INLINE_LIMIT_BYTES);
    expect(utf8(JSON.stringify(atLimit))).toBe(RESULT_INLINE_LIMIT_BYTES);
    expect(await offloadLargeResults(answering(atLimit), store).call(request())).toBe(atLimit);
    const over = asciiOfBytes(RESULT_INLINE_LIMIT_BYTES + 1);
    const ref = await offloadLargeResults(answering(over), store).call(request());
    expect(isResultRef(ref)).toBe(true);
    expect((ref as ResultRef).bytes).toBe(RESULT_INLINE_LIMIT_BYTES + 1);
  });

  it('counts UTF-8 bytes, not string length: multi-byte text under the limit in characters is referenced', async () => {
    const db = database();
    const store = new SqliteResultStore(db);
    // 400 euro signs: 402 characters of JSON, but 1,202 UTF-8 bytes.
    const result = { text: '€'.repeat(400), emoji: '😀'.repeat(50) };
    const json = JSON.stringify(result);
    expect(json.length).toBeLessThan(1_000);
    expect(utf8(json)).toBeGreaterThan(1_000);
    const ref = (await offloadLargeResults(answering(result), store, 1_000).call(request())) as ResultRef;

    expect(ref).toEqual({
      $ref: RESULT_REF,
      uri: expect.stringMatching(/^sqlite:tool_results\/run-1\/fetch\/1\/1\/[0-9a-f]{64}$/),
      bytes: utf8(json),
      sha256: sha256(json),
      preview: json.slice(0, RESULT_PREVIEW_CHARS),
    });
    expect(await store.get(ref.uri)).toBe(json);
    expect(JSON.parse((await store.get(ref.uri)) ?? 'null')).toEqual(result);
    expect(utf8(JSON.stringify(ref))).toBeLessThan(1_024);
  });

  it('never cuts the preview inside a surrogate pair', async () => {
    const db = database();
    // '"' then emoji (two UTF-16 units each): the 200th unit is the high half of an emoji.
    const result = '😀'.repeat(5_000);
    const ref = (await offloadLargeResults(answering(result), new SqliteResultStore(db)).call(
      request(),
    )) as ResultRef;
    expect(ref.preview).toBe(`"${'😀'.repeat(99)}`);
    expect(ref.preview.length).toBe(RESULT_PREVIEW_CHARS - 1);
    expect(Buffer.from(ref.preview, 'utf8').toString('utf8')).toBe(ref.preview); // no lone surrogate
  });

  it('stores the same attempt once; different JSON under the same key gets its own uri', async () => {
    const db = database();
    const store = new SqliteResultStore(db);
    const big = { rows: Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `row ${i}` })) };
    const tools = offloadLargeResults(answering(big), store);
    const first = (await tools.call(request())) as ResultRef;
    const again = (await tools.call(request())) as ResultRef; // a redelivered attempt
    expect(again).toEqual(first);
    expect(rows(db)).toBe(1);

    const changed = { rows: [...big.rows, { id: -1, name: 'late row' }] };
    const other = (await offloadLargeResults(answering(changed), store).call(request())) as ResultRef;
    expect(other.uri).not.toBe(first.uri);
    expect(rows(db)).toBe(2);
    expect(await store.get(first.uri)).toBe(JSON.stringify(big));
    expect(await store.get(other.uri)).toBe(JSON.stringify(changed));

    const nextAttempt = (await tools.call(request({ attempt: 2 }))) as ResultRef;
    const nextVisit = (await tools.call(request({ visit: 2 }))) as ResultRef;
    expect(new Set([first.uri, nextAttempt.uri, nextVisit.uri]).size).toBe(3);
    expect(rows(db)).toBe(4);
  });

  it('turns undefined into null and refuses results JSON cannot encode, without retries', async () => {
    const store = new SqliteResultStore(database());
    expect(await offloadLargeResults(answering(undefined), store).call(request())).toBeNull();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [{ amount: 10n }, cyclic, () => 1]) {
      const error = await offloadLargeResults(answering(bad), store)
        .call(request())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ActivityError);
      expect(error).toMatchObject({ code: INVALID_RESULT, retryable: false });
    }
  });

  it('passes a failing tool’s error through unchanged', async () => {
    const failure = new ActivityError('Upstream.Busy', 'busy');
    const tools = offloadLargeResults(
      {
        call: async () => {
          throw failure;
        },
      },
      new SqliteResultStore(database()),
    );
    await expect(tools.call(request())).rejects.toBe(failure);
  });
});

describe('SqliteResultStore', () => {
  it('round-trips ids that need escaping and answers undefined for uris it did not make', async () => {
    const store = new SqliteResultStore(database());
    const key: ResultKey = { runId: 'run/ä 1', stepId: 'step%2', visit: 3, attempt: 2 };
    const json = JSON.stringify({ text: '日本語 ✓' });
    const uri = await store.put(key, json);
    expect(await store.get(uri)).toBe(json);
    for (const other of [
      'sqlite:tool_results/nope/fetch/1/1/00',
      uri.replace(/\/2\/([0-9a-f]+)$/, '/1/$1'),
      'sqlite:tool_results/%E0%A4%A/x/1/1/00',
      'sqlite:tool_results/a/b/0/1/00',
      's3://bucket/key',
      '',
    ])
      expect(await store.get(other)).toBeUndefined();
  });

  it('keeps its rows in the database file across reopening', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-results-'));
    try {
      const file = join(dir, 'engine.db');
      const first = openDatabase(file);
      const uri = await new SqliteResultStore(first).put(
        { runId: 'r', stepId: 's', visit: 1, attempt: 1 },
        '[1,2,3]',
      );
      first.close();
      const second = openDatabase(file);
      expect(await new SqliteResultStore(second).get(uri)).toBe('[1,2,3]');
      second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the embedded engine', () => {
  const big = {
    rows: Array.from({ length: 1_000 }, (_, i) => ({ id: i, name: `ligne ${i} — données` })),
    pad: 'é'.repeat(32_000),
  };
  const bigJson = JSON.stringify(big);

  it('stores a 100 KB tool result, keeps the reference in the variable and resolves {{s1.uri}}', async () => {
    expect(utf8(bigJson)).toBeGreaterThan(100 * 1024);
    const run = await runWorkflow({
      workflow: define({
        id: 'large-result',
        steps: [
          { id: 's1', type: 'tool', tool: 'rows-export', args: {} },
          {
            id: 's2',
            type: 'tool',
            tool: 'rows-import',
            args: { source: '{{s1.uri}}', bytes: '{{s1.bytes}}', first: '{{s1.rows.0.id}}' },
          },
        ],
      }),
      tools: { 'rows-export': ok(big), 'rows-import': ok({ imported: 1_000 }) },
    });
    try {
      expect(run.status).toBe('completed');
      const ref = run.vars.s1;
      expect(isResultRef(ref)).toBe(true);
      if (!isResultRef(ref)) return;
      expect(ref).toMatchObject({ $ref: RESULT_REF, bytes: utf8(bigJson), sha256: sha256(bigJson) });
      expect(await run.harness.engine.results.get(ref.uri)).toBe(bigJson);
      // A small result is untouched.
      expect(run.vars.s2).toEqual({ imported: 1_000 });
      // Templates see the ref's fields; the original result's fields are not there.
      expect(run.toolCalls[1]?.args).toEqual({ source: ref.uri, bytes: utf8(bigJson), first: null });
      // Neither the run's outcome, its history nor its audit trail carries the result.
      const stored = JSON.stringify([run.record.outcome, run.harness.history(), run.audit]);
      expect(stored).not.toContain('ligne 999');
      expect(utf8(stored)).toBeLessThan(20_000);
    } finally {
      await run.harness.close();
    }
  });

  it('uses a result store and limit it is given', async () => {
    const saved = new Map<string, string>();
    const results: ResultStore = {
      put: async (key, json) => {
        const uri = `mem:${key.runId}/${key.stepId}/${key.visit}/${key.attempt}`;
        saved.set(uri, json);
        return uri;
      },
      get: async (uri) => saved.get(uri),
    };
    const clock = new VirtualClock();
    const engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory([alice]),
      tools: { call: async () => ({ text: 'a'.repeat(200) }) },
      results,
      resultLimitBytes: 100,
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    try {
      const ir = compile(
        define({ id: 'small-limit', steps: [{ id: 's1', type: 'tool', tool: 't', args: {} }] }),
      );
      const runId = await engine.host.startRun({
        workflowId: ir.id,
        ir,
        input: {},
        trigger: { type: 'manual', user: alice },
      });
      await clock.run(engine.host);
      const vars = (await engine.host.getRun(runId))?.outcome?.vars;
      expect(vars?.s1).toMatchObject({ $ref: RESULT_REF, uri: `mem:${runId}/s1/1/1` });
      expect(engine.results).toBe(results);
      expect(await results.get(`mem:${runId}/s1/1/1`)).toBe(JSON.stringify({ text: 'a'.repeat(200) }));
      expect(rows(engine.db)).toBe(0);
    } finally {
      await engine.host.close();
      engine.db.close();
    }
  });
});
