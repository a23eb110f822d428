// Proves that many runs at once lose and duplicate nothing: 1,000 runs started together on one embedded
// engine (a SQLite file, the system clock) — a 10-step tool chain, a 4-branch parallel fan-out, and an
// approval the test approves or rejects — all end as expected, with every step entered and finished
// exactly once, every tool called exactly once per step, and ended runs gone from memory. The same holds
// with a cache of 50 live runs, which forces evictions and lazy replays while the runs are in flight.
// How fast is not asserted here (the machine may be shared and busy): `npm run bench:engine:throughput`
// measures it; the test fails only when the runs stop ending.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import type { FinalStatus, Identity } from '../../functions/core/protocol.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

const RUNS = 1_000;
/** How long without any run ending counts as stuck. */
const STALL_MS = 10_000;

const REQUESTER: Identity = { email: 'alice@example.com', role: 'member', groups: [], manager: null };
const APPROVER: Identity = { email: 'approve@example.com', role: 'manager', groups: [], manager: null };

const CHAIN_STEPS = Array.from({ length: 10 }, (_, i) => `s${i + 1}`);

const CHAIN = `
version: 1
id: chain
steps:
${CHAIN_STEPS.map((id) => `  - id: ${id}\n    type: tool\n    tool: work\n    args: { step: ${id} }`).join('\n')}
`;

const FANOUT = `
version: 1
id: fanout
steps:
  - id: fan
    type: parallel
    branches:
${['a', 'b', 'c', 'd']
  .map(
    (b) =>
      `      - name: ${b}\n        steps:\n          - id: branch_${b}\n            type: tool\n            tool: work\n            args: { branch: ${b} }`,
  )
  .join('\n')}
  - id: join
    type: tool
    tool: work
    args: { joined: "{{branch_a.step}}" }
`;

const APPROVAL = `
version: 1
id: approval
steps:
  - id: prepare
    type: tool
    tool: work
  - id: sign_off
    type: approval
    approvers: [approve@example.com]
    onReject: tell_rejected
  - id: book
    type: tool
    tool: work
    next: end
  - id: tell_rejected
    type: notify
    channel: email
    to: alice@example.com
    message: rejected
`;

function compile(source: string): IrWorkflow {
  const result = validateWorkflow(source);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const WORKFLOWS = { chain: compile(CHAIN), fanout: compile(FANOUT), approval: compile(APPROVAL) };
type Kind = 'chain' | 'fanout' | 'approve' | 'reject';

/** Every run's kind, by its index: a third chains, a third fans out, a third waits for a decision. */
function kindOf(index: number): Kind {
  if (index % 3 === 0) return 'chain';
  if (index % 3 === 1) return 'fanout';
  return index % 2 === 0 ? 'approve' : 'reject';
}

/** The steps a run of each kind enters and finishes, once each, and the tools and messages it sends. */
const EXPECTED: Record<Kind, { steps: string[]; toolCalls: number; messages: number }> = {
  chain: { steps: CHAIN_STEPS, toolCalls: 10, messages: 0 },
  fanout: {
    steps: ['fan', 'branch_a', 'branch_b', 'branch_c', 'branch_d', 'join'],
    toolCalls: 5,
    messages: 0,
  },
  approve: { steps: ['prepare', 'sign_off', 'book'], toolCalls: 2, messages: 0 },
  reject: { steps: ['prepare', 'sign_off', 'tell_rejected'], toolCalls: 1, messages: 1 },
};

interface Outcome {
  engine: EmbeddedEngine;
  runs: Array<{ runId: string; kind: Kind; status: FinalStatus }>;
  /** Calls per idempotency key, tool calls and notifications alike. */
  calls: Map<string, number>;
  toolCallsByRun: Map<string, number>;
  messagesByRun: Map<string, number>;
  maxLive: number;
  liveAfter: number;
  seconds: number;
}

/** Starts RUNS runs at once, decides their approvals as the requests come in, and waits for all of them. */
async function runMany(file: string, cacheSize: number | undefined): Promise<Outcome> {
  const calls = new Map<string, number>();
  const toolCallsByRun = new Map<string, number>();
  const messagesByRun = new Map<string, number>();
  const kinds = new Map<string, Kind>();
  const count = (map: Map<string, number>, key: string): void => {
    map.set(key, (map.get(key) ?? 0) + 1);
  };
  const jitter = async (): Promise<void> => {
    const roll = Math.random();
    if (roll < 0.3) return;
    if (roll < 0.6) await new Promise((resolve) => setImmediate(resolve));
    else await sleep(Math.floor(Math.random() * 4));
  };
  const engine: EmbeddedEngine = createEmbeddedEngine({
    file,
    clock: new SystemClock(),
    cacheSize,
    directory: new InMemoryDirectory([REQUESTER, APPROVER]),
    tools: {
      call: async (request) => {
        count(calls, request.idempotencyKey);
        count(toolCallsByRun, request.runId);
        await jitter();
        return { step: request.stepId };
      },
    },
    notifier: {
      send: async (request) => {
        count(calls, request.idempotencyKey);
        count(messagesByRun, request.runId);
        await jitter();
        return {};
      },
    },
    approvalNotifier: {
      requested: async (record) => {
        const decision = kinds.get(record.runId) === 'reject' ? 'reject' : 'approve';
        setTimeout(
          () =>
            void engine.approvals.decide({
              runId: record.runId,
              stepId: record.stepId,
              by: APPROVER.email,
              decision,
              channel: 'test',
            }),
          Math.floor(Math.random() * 20),
        );
      },
    },
  });

  let maxLive = 0;
  const sampler = setInterval(() => {
    maxLive = Math.max(maxLive, engine.host.liveCount);
  }, 1);
  const started = Date.now();
  const runIds = await Promise.all(
    Array.from({ length: RUNS }, (_, i) => {
      const kind = kindOf(i);
      const runId = `run-${i}-${kind}`;
      kinds.set(runId, kind);
      const ir = kind === 'approve' || kind === 'reject' ? WORKFLOWS.approval : WORKFLOWS[kind];
      return engine.host.startRun({
        runId,
        workflowId: ir.id,
        ir,
        input: {},
        trigger: { type: 'manual', user: REQUESTER },
      });
    }),
  );
  const statuses = await allEnded(engine, runIds, STALL_MS);
  await engine.host.idle();
  clearInterval(sampler);
  return {
    engine,
    runs: runIds.map((runId, i) => ({ runId, kind: kindOf(i), status: statuses[i] ?? 'failed' })),
    calls,
    toolCallsByRun,
    messagesByRun,
    maxLive,
    liveAfter: engine.host.liveCount,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * The final status of every run, once all have ended. Fails, naming runs not ended, only when no run
 * ended for `stallMs`: an engine that stopped making progress, not a slow machine.
 */
async function allEnded(engine: EmbeddedEngine, runIds: string[], stallMs: number): Promise<FinalStatus[]> {
  const waiting = new Set(runIds);
  let all: FinalStatus[] | undefined;
  void Promise.all(
    runIds.map((runId) =>
      engine.host.waitForRun(runId).then((status) => {
        waiting.delete(runId);
        return status;
      }),
    ),
  ).then((statuses) => {
    all = statuses;
  });
  let left = waiting.size;
  let progressAt = Date.now();
  while (all === undefined) {
    await sleep(25);
    if (waiting.size < left) {
      left = waiting.size;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) {
      const some = [...waiting].slice(0, 10).join(', ');
      throw new Error(`no run ended for ${stallMs / 1000} s; ${waiting.size} not ended, e.g. ${some}`);
    }
  }
  return all;
}

function tally(values: Array<string | null>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value ?? ''] = (counts[value ?? ''] ?? 0) + 1;
  return counts;
}

describe.each([
  { cache: 'the default cache', cacheSize: undefined },
  { cache: 'a cache of 50 live runs', cacheSize: 50 },
])('1,000 concurrent runs with $cache', ({ cacheSize }) => {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-concurrency-'));
  let outcome: Outcome;

  beforeAll(async () => {
    outcome = await runMany(join(dir, 'engine.sqlite'), cacheSize);
    console.log(
      `${RUNS} runs (cache ${cacheSize ?? 'default'}) in ${outcome.seconds.toFixed(1)} s, at most ${outcome.maxLive} live`,
    );
  }, 300_000);

  afterAll(async () => {
    await outcome?.engine.host.close();
    outcome?.engine.db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes every run', async () => {
    expect(tally(outcome.runs.map((r) => r.status))).toEqual({ completed: RUNS });
    expect(tally((await outcome.engine.host.listRuns({ limit: RUNS + 1 })).map((r) => r.status))).toEqual({
      completed: RUNS,
    });
  });

  it("enters and finishes each of a run's steps exactly once", async () => {
    for (const { runId, kind } of outcome.runs) {
      const audit = await outcome.engine.host.audit(runId);
      const expected = Object.fromEntries(EXPECTED[kind].steps.map((step) => [step, 1]));
      const entered = tally(audit.filter((e) => e.type === 'step.entered').map((e) => e.step));
      const finished = tally(audit.filter((e) => e.type === 'step.finished').map((e) => e.step));
      expect({ runId, entered, finished }).toEqual({ runId, entered: expected, finished: expected });
    }
  });

  it('calls each tool and sends each message exactly once per step', () => {
    for (const { runId, kind } of outcome.runs) {
      expect({
        runId,
        toolCalls: outcome.toolCallsByRun.get(runId) ?? 0,
        messages: outcome.messagesByRun.get(runId) ?? 0,
      }).toEqual({ runId, toolCalls: EXPECTED[kind].toolCalls, messages: EXPECTED[kind].messages });
    }
    const repeated = [...outcome.calls].filter(([, n]) => n > 1);
    expect(repeated).toEqual([]);
  });

  it('completes no task twice in any history', () => {
    for (const { runId } of outcome.runs) {
      const ended = outcome.engine.host
        .history(runId)
        .flatMap((e) =>
          e.type === 'TaskCompleted' || e.type === 'TaskFailed' || e.type === 'TimerFired' ? [e.taskId] : [],
        );
      expect({ runId, ended: ended.length }).toEqual({ runId, ended: new Set(ended).size });
    }
  });

  it('leaves no approval request open', async () => {
    expect(await outcome.engine.store.pendingFor(APPROVER.email)).toEqual([]);
  });

  it('keeps no ended run in memory, and no more live runs than the cache holds', () => {
    expect(outcome.liveAfter).toBe(0);
    if (cacheSize !== undefined) expect(outcome.maxLive).toBeLessThanOrEqual(cacheSize);
    else expect(outcome.maxLive).toBeGreaterThan(50);
  });
});
