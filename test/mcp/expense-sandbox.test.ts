// End to end, no mocks of the tool side: the expense template on the embedded engine, its tool steps going
// through the whole pipeline to the sandbox MCP servers (dist/mcp-servers, real stdio processes with their
// state in SQLite). The payments server is made to crash right after committing the first charge, before
// answering: the step's retry must not charge twice, because the pipeline passes the step's idempotency
// key, the same for every attempt.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import type { McpServersConfig } from '../../adapters/mcp/config.js';
import { McpRegistry } from '../../adapters/mcp/registry.js';
import { ToolPipeline } from '../../functions/core/tool-pipeline.js';
import { validateWorkflow } from '../../translator/validate.js';

const root = join(import.meta.dirname, '..', '..');
const ir = validateWorkflow(readFileSync(join(root, 'templates', 'expense-approval.yaml'), 'utf8')).ir;

function sandbox(dir: string, fault: boolean): McpServersConfig {
  const server = (name: string) => ({
    command: process.execPath,
    args: [join(root, 'dist', 'mcp-servers', `${name}.js`)],
    env: { STEPGATE_SANDBOX_DIR: dir, ...(fault ? { STEPGATE_SANDBOX_FAULT: 'crash-after-charge' } : {}) },
    credentials: [],
    identity: 'schema' as const,
  });
  return { expenses: server('expenses'), payments: server('payments') };
}

describe('the expense template against the sandbox MCP servers', () => {
  let dir: string;
  let registry: McpRegistry | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepgate-sandbox-'));
  });

  afterEach(async () => {
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pays once although the first charge attempt dies after charging', async () => {
    if (ir === undefined) throw new Error('invalid template');
    registry = new McpRegistry(sandbox(dir, true));
    const db = openDatabase(':memory:');
    const clock = new VirtualClock();
    const alice = {
      email: 'alice@example.com',
      role: 'member',
      groups: ['engineering'],
      manager: 'bob@example.com',
    };
    const sent: string[] = [];
    const engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory([alice]),
      tools: new ToolPipeline({
        registry,
        vault: new SqliteVault(db, randomBytes(32)),
        policy: {},
        limiter: new SqliteRateLimiter(db),
        clock,
      }),
      notifier: {
        send: async (request) => {
          sent.push(request.message);
          return {};
        },
      },
      approvalNotifier: { requested: async () => {} },
    });
    const runId = await engine.host.startRun({
      workflowId: ir.id,
      ir,
      input: { amount: 120, description: 'Taxi to the airport', category: 'travel' },
      trigger: { type: 'manual', user: alice },
    });
    await clock.run(engine.host);
    const run = await engine.host.getRun(runId);
    expect(run?.status, JSON.stringify(run?.outcome?.error)).toBe('completed');

    const charges = new Database(join(dir, 'payments.sqlite'), { readonly: true });
    const rows = charges
      .prepare('SELECT id, amount_cents, payee, idempotency_key FROM charges')
      .all() as Array<{
      id: string;
      amount_cents: number;
      payee: string;
      idempotency_key: string;
    }>;
    charges.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      amount_cents: 12_000,
      payee: 'alice@example.com',
      idempotency_key: `${runId}:process_payment`,
    });
    expect(run?.outcome?.vars.process_payment).toMatchObject({ id: rows[0]?.id, replayed: true });
    expect(sent.join('\n')).toContain(`payment reference ${rows[0]?.id}`);

    const executed = (await engine.host.audit(runId))
      .filter((a) => a.type === 'tool.executed' && a.step === 'process_payment')
      .map((a) => a.data);
    expect(executed).toHaveLength(2);
    expect(executed[0]).toMatchObject({
      ok: false,
      error: { code: 'Stepgate.ToolUnavailable', retryable: true },
    });
    expect(executed[1]).toMatchObject({ ok: true });
    engine.db.close();
  });
});
