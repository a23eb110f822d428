// Benchmark: what the tool-call pipeline adds to one MCP tool call. The same read-only tool
// (`expenses-validate` of the sandbox expenses server, dist/mcp-servers/expenses.js, over stdio) is called
//   pipeline  ToolPipeline.call with a real McpRegistry, a SqliteVault holding the credential the server is
//             configured to receive (so the registry's pooled connection is the credentialed one), a
//             SqliteRateLimiter with a rate limit too large to deny and a policy entry with a minRole, all
//             on a file database (WAL, durability normal, as the embedded engine opens it)
//   direct    the SDK's Client.callTool over its own stdio connection to another child of the same server,
//             with the same final arguments (identity fields included)
// one call at a time, in interleaved blocks (pipeline block, direct block, then the other order) so drift
// in machine load hits both alike. Reports median/p90/p99 of each and the overhead (pipeline - direct) of
// the medians. Goal: overhead median < 1 ms. A third phase times the pipeline's stages with clock wrappers
// around the registry, vault and limiter (not part of the main figures).
//   npm run bench:tools       (= npx tsx bench/tool-pipeline.ts; BENCH_CALLS=2000, BENCH_WARMUP=200,
//                              BENCH_BLOCK=100, BENCH_PROFILE=<dir> for a CPU profile of the measured phase)
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SystemClock } from '../adapters/local/clock.js';
import { openDatabase } from '../adapters/local/database.js';
import { SqliteRateLimiter } from '../adapters/local/rate-limiter.js';
import { SqliteVault } from '../adapters/local/vault.js';
import type { McpServersConfig } from '../adapters/mcp/config.js';
import { McpRegistry } from '../adapters/mcp/registry.js';
import type { AuditEntry } from '../functions/core/durable.js';
import type { PolicyConfig } from '../functions/core/policy.js';
import type { RateLimiter, ToolCallContext, Vault } from '../functions/core/ports.js';
import type { ToolCallRequest } from '../functions/core/protocol.js';
import { ToolPipeline } from '../functions/core/tool-pipeline.js';
import {
  envNumber,
  fmt,
  load,
  nowMs,
  profilePhase,
  type Summary,
  summarize,
  USER,
  verdict,
} from './engine-common.js';

const CALLS = envNumber('BENCH_CALLS', 2_000);
const WARMUP = envNumber('BENCH_WARMUP', 200);
const BLOCK = envNumber('BENCH_BLOCK', 100);
const STAGE_CALLS = envNumber('BENCH_STAGE_CALLS', Math.max(200, Math.floor(CALLS / 4)));
const GOAL_MS = 1;

const SERVER = 'expenses';
const TOOL = 'expenses-validate';
const CREDENTIAL = 'EXPENSES_API_KEY';
const script = join(import.meta.dirname, '..', 'dist', 'mcp-servers', 'expenses.js');
if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);

const dir = mkdtempSync(join(tmpdir(), 'stepgate-bench-tools-'));
const sandboxEnv = { STEPGATE_SANDBOX_DIR: join(dir, 'sandbox') };
const servers: McpServersConfig = {
  [SERVER]: {
    command: process.execPath,
    args: [script],
    env: sandboxEnv,
    credentials: [{ name: CREDENTIAL, env: CREDENTIAL }],
    identity: 'schema',
  },
};
const policy: PolicyConfig = {
  tools: { [`${SERVER}/${TOOL}`]: { minRole: 'member', rateLimit: '100000000/hour' } },
};
const secret = `bench-${randomBytes(16).toString('hex')}`;
const input = { amount: 42.5, description: 'Taxi to the airport', category: 'travel' };
// What the pipeline ends up sending (the tool's schema accepts the three identity fields, no idempotency key).
const directArgs = {
  ...input,
  _user_email: USER.email,
  _user_role: USER.role,
  _user_groups: [...USER.groups],
};

let sequence = 0;
function request(): ToolCallRequest {
  sequence++;
  return {
    workflowId: 'bench-tools',
    runId: `bench-${sequence}`,
    stepId: 'validate',
    visit: 1,
    attempt: 1,
    idempotencyKey: `bench-${sequence}:validate:1`,
    server: null,
    tool: TOOL,
    args: input,
    identity: USER,
    timeoutMs: null,
  };
}

// The engine writes audit entries to the run's history; here they are only kept, so their construction
// counts but no database write does (that is the engine's cost, measured by the engine benchmarks).
let audited: AuditEntry[] = [];
const context: ToolCallContext = { audit: (entry) => void audited.push(entry) };

async function main(): Promise<void> {
  const db = openDatabase(join(dir, 'engine.db'));
  const vault = new SqliteVault(db, randomBytes(32));
  await vault.set(`user:${USER.email}`, CREDENTIAL, secret);
  const limiter = new SqliteRateLimiter(db);
  const registry = new McpRegistry(servers);
  const clock = new SystemClock();
  const pipeline = new ToolPipeline({ registry, vault, policy, limiter, clock });

  const direct = new Client({ name: 'stepgate-bench', version: '0.0.0' }, { capabilities: {} });
  await direct.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [script],
      env: { ...sandboxEnv, [CREDENTIAL]: secret },
      stderr: 'pipe',
    }),
  );

  const viaPipeline = async (): Promise<unknown> => {
    const result = await pipeline.call(request(), context);
    if (audited.length > 200) audited = [];
    return result;
  };
  const viaDirect = (): Promise<unknown> => direct.callTool({ name: TOOL, arguments: directArgs });

  try {
    // Sanity: both answer the same.
    const a = JSON.stringify(await viaPipeline());
    const b = (await viaDirect()) as { structuredContent?: unknown; content?: Array<{ text?: string }> };
    const bValue = b.structuredContent ?? JSON.parse(b.content?.[0]?.text ?? 'null');
    if (a !== JSON.stringify(bValue))
      throw new Error(`pipeline and direct differ: ${a} vs ${JSON.stringify(bValue)}`);
    if (registry.connections().filter((c) => c.withCredentials).length !== 1)
      throw new Error('the pipeline did not use a credentialed connection');

    for (let i = 0; i < WARMUP; i++) {
      await viaPipeline();
      await viaDirect();
    }

    const pipelineMs: number[] = [];
    const directMs: number[] = [];
    const time = async (fn: () => Promise<unknown>, into: number[], count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const start = nowMs();
        await fn();
        into.push(nowMs() - start);
      }
    };
    const wall = nowMs();
    await profilePhase('tool-pipeline', async () => {
      for (let done = 0, block = 0; done < CALLS; done += BLOCK, block++) {
        const count = Math.min(BLOCK, CALLS - done);
        if (block % 2 === 0) {
          await time(viaPipeline, pipelineMs, count);
          await time(viaDirect, directMs, count);
        } else {
          await time(viaDirect, directMs, count);
          await time(viaPipeline, pipelineMs, count);
        }
      }
    });
    const wallS = (nowMs() - wall) / 1000;
    const p = summarize(pipelineMs);
    const d = summarize(directMs);
    const overhead = p.median - d.median;
    console.log(
      `${CALLS} sequential calls each of ${SERVER}/${TOOL} (stdio), blocks of ${BLOCK} interleaved, after ${WARMUP} warm-up calls each; ${fmt(wallS, 1)} s`,
    );
    console.log(line('pipeline', p));
    console.log(line('direct  ', d));
    console.log(
      `overhead (pipeline - direct): median ${fmt(overhead)} ms, p90 ${fmt(p.p90 - d.p90)} ms, p99 ${fmt(p.p99 - d.p99)} ms, mean ${fmt(p.mean - d.mean)} ms`,
    );

    const stages = await stageBreakdown(registry, vault, limiter, policy, clock);

    console.log(
      `RESULT tool-pipeline calls=${CALLS} pipeline_median_ms=${fmt(p.median)} pipeline_p99_ms=${fmt(p.p99)} direct_median_ms=${fmt(d.median)} direct_p99_ms=${fmt(d.p99)} overhead_median_ms=${fmt(overhead)} goal<${GOAL_MS}ms ${verdict(overhead < GOAL_MS)} stages_mean_ms=${stages} | ${load()}`,
    );
  } finally {
    await direct.close();
    await registry.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(label: string, s: Summary): string {
  return `${label}  median ${fmt(s.median)} ms  p90 ${fmt(s.p90)} ms  p99 ${fmt(s.p99)} ms  min ${fmt(s.min)}  max ${fmt(s.max)}  mean ${fmt(s.mean)}`;
}

/**
 * The pipeline's stages, timed by wrapping its dependencies: lookup (registry.lookup), credentials
 * (vault.resolve), rate limit (limiter.takeAll, the only costly part of the policy stage), execution
 * (registry.call, which includes the MCP round trip) and the rest (identity injection, schema validation,
 * the rest of the policy check, audit entries). Means over STAGE_CALLS calls, in ms.
 */
async function stageBreakdown(
  registry: McpRegistry,
  vault: Vault,
  limiter: RateLimiter,
  policyConfig: PolicyConfig,
  clock: SystemClock,
): Promise<string> {
  const spent = { lookup: 0, credentials: 0, rateLimit: 0, execution: 0, total: 0 };
  const timedAsync =
    <A extends unknown[], R>(key: keyof typeof spent, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const start = nowMs();
      try {
        return await fn(...args);
      } finally {
        spent[key] += nowMs() - start;
      }
    };
  const timedRegistry = Object.create(registry) as McpRegistry;
  timedRegistry.lookup = timedAsync('lookup', registry.lookup.bind(registry));
  timedRegistry.call = timedAsync('execution', registry.call.bind(registry));
  const timedVault = Object.create(vault) as Vault;
  timedVault.resolve = timedAsync('credentials', vault.resolve.bind(vault));
  const timedLimiter: RateLimiter = {
    take: limiter.take.bind(limiter),
    takeAll: async (buckets, now) => {
      const start = nowMs();
      try {
        return await limiter.takeAll(buckets, now);
      } finally {
        spent.rateLimit += nowMs() - start;
      }
    },
  };
  const timed = new ToolPipeline({
    registry: timedRegistry,
    vault: timedVault,
    policy: policyConfig,
    limiter: timedLimiter,
    clock,
  });
  for (let i = 0; i < 50; i++) await timed.call(request(), context);
  for (const key of Object.keys(spent) as Array<keyof typeof spent>) spent[key] = 0;
  for (let i = 0; i < STAGE_CALLS; i++) {
    const start = nowMs();
    await timed.call(request(), context);
    spent.total += nowMs() - start;
    if (audited.length > 200) audited = [];
  }
  const mean = (v: number): string => fmt(v / STAGE_CALLS);
  const rest = spent.total - spent.lookup - spent.credentials - spent.rateLimit - spent.execution;
  console.log(
    `stages (mean of ${STAGE_CALLS} calls, ms): total ${mean(spent.total)} = lookup ${mean(spent.lookup)} + credentials (vault) ${mean(spent.credentials)} + rate limit ${mean(spent.rateLimit)} + execution (registry.call, incl. the round trip) ${mean(spent.execution)} + rest (identity, schema check, policy rules, audit) ${mean(rest)}`,
  );
  return [
    `lookup:${mean(spent.lookup)}`,
    `vault:${mean(spent.credentials)}`,
    `ratelimit:${mean(spent.rateLimit)}`,
    `execution:${mean(spent.execution)}`,
    `rest:${mean(rest)}`,
  ].join(',');
}

await main();
