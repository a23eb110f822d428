// The tool-call pipeline end to end on the embedded engine against a real MCP server (Streamable HTTP,
// in-process): the six stages run in order for every call and each decision is in the run's history;
// identity is injected only where the schema accepts it; arguments are checked against the schema;
// credentials come from the vault cascade (user → group → org) and reach the server as a header, never
// the history; a policy denial is not retried and follows onError.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { McpRegistry } from '../../adapters/mcp/registry.js';
import type { PolicyConfig } from '../../functions/core/policy.js';
import { ToolPipeline } from '../../functions/core/tool-pipeline.js';
import { validateWorkflow } from '../../translator/validate.js';
import { startMcpHttpServer, type TestMcpHttpServer } from './http-mcp-server.js';

const STAGES = [
  'tool.lookup',
  'tool.identity',
  'tool.credentials',
  'tool.policy',
  'tool.executed',
  'tool.result',
];

const ann = { email: 'ann@example.com', role: 'member', groups: ['finance', 'ops'], manager: null };
const vic = { email: 'vic@example.com', role: 'viewer', groups: ['ops'], manager: null };

function workflow(steps: string): NonNullable<ReturnType<typeof validateWorkflow>['ir']> {
  const ir = validateWorkflow(
    `version: 1\nid: pipe\nname: Pipe\ntriggers: [{ type: manual, minRole: viewer }]\ninputs: { type: object, properties: { n: { type: number } } }\nsteps:\n${steps}`,
  ).ir;
  if (ir === undefined) throw new Error('invalid test workflow');
  return ir;
}

describe('the tool-call pipeline on the embedded engine against a real MCP server', () => {
  let server: TestMcpHttpServer;
  let registry: McpRegistry;
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let seen: Array<Record<string, unknown>>;
  let authorization: Array<string | undefined>;
  const policy: PolicyConfig = {};

  beforeEach(async () => {
    seen = [];
    authorization = [];
    server = await startMcpHttpServer('ledger', (s) => {
      s.registerTool(
        'ledger-post',
        {
          description: 'posts an entry',
          inputSchema: { amount: z.number(), memo: z.string(), _user_email: z.string().optional() },
          annotations: { readOnlyHint: false },
        },
        async (args) => {
          seen.push(args);
          return { content: [{ type: 'text', text: JSON.stringify({ posted: args.amount }) }] };
        },
      );
      s.registerTool(
        'ledger-balance',
        { description: 'reads the balance', inputSchema: {}, annotations: { readOnlyHint: true } },
        async () => ({ content: [{ type: 'text', text: '{"balance": 42}' }] }),
      );
    });
    registry = new McpRegistry({
      ledger: {
        url: server.url,
        headers: {},
        credentials: [{ name: 'LEDGER_TOKEN', header: 'Authorization', prefix: 'Bearer ' }],
        identity: 'schema',
      },
    });
    const db = openDatabase(':memory:');
    const vault = new SqliteVault(db, randomBytes(32));
    await vault.set('org', 'LEDGER_TOKEN', 'org-secret-0001');
    await vault.set('group:ops', 'LEDGER_TOKEN', 'ops-secret-0002');
    await vault.set('user:ann@example.com', 'LEDGER_TOKEN', 'ann-secret-0003');
    clock = new VirtualClock();
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory([ann, vic]),
      tools: new ToolPipeline({ registry, vault, policy, limiter: new SqliteRateLimiter(db), clock }),
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    const originalCall = registry.call.bind(registry);
    registry.call = async (tool, args, options) => {
      authorization.push(options?.credentials?.LEDGER_TOKEN);
      return originalCall(tool, args, options);
    };
  });

  afterEach(async () => {
    await registry.close();
    await server.close();
    engine.db.close();
  });

  const run = async (steps: string, user = ann, input: Record<string, number> = { n: 7 }) => {
    const runId = await engine.host.startRun({
      workflowId: 'pipe',
      ir: workflow(steps),
      input,
      trigger: { type: 'manual', user },
    });
    await clock.run(engine.host);
    const record = await engine.host.getRun(runId);
    return { record, audit: await engine.host.audit(runId) };
  };

  it('walks the six stages in order and records each decision, identity where the schema takes it', async () => {
    const { record, audit } = await run(
      '  - { id: post, type: tool, tool: ledger-post, args: { amount: "{{n}}", memo: hello } }\n',
    );
    expect(record?.status).toBe('completed');
    expect(record?.outcome?.vars.post).toEqual({ posted: 7 });
    const stages = audit.filter((a) => a.type.startsWith('tool.'));
    expect(stages.map((a) => a.type)).toEqual(STAGES);
    expect(stages.every((a) => a.step === 'post')).toBe(true);
    expect(stages[0]?.data).toMatchObject({ requested: 'ledger-post', server: 'ledger', found: true });
    // The schema declares _user_email only: the role and groups are not sent to a strict server.
    expect(seen).toEqual([{ amount: 7, memo: 'hello', _user_email: 'ann@example.com' }]);
    expect(stages[1]?.data).toMatchObject({ mode: 'schema', injected: ['_user_email'], arguments: 'valid' });
    expect(stages[2]?.data).toMatchObject({ sources: { LEDGER_TOKEN: 'user' }, missing: [] });
    expect(stages[3]?.data).toMatchObject({ allowed: true });
    expect(stages[4]?.data).toMatchObject({ ok: true, server: 'ledger', tool: 'ledger-post' });
    expect(stages[5]?.data).toMatchObject({ stored: 'inline' });
    expect(authorization).toEqual(['ann-secret-0003']);
    // The secret reached the server as a header, and appears nowhere in the run's history or audit.
    const headers = [...server.initHeaders.values()].map((h) => h.authorization);
    expect(headers).toContain('Bearer ann-secret-0003');
    const everything = JSON.stringify([audit, engine.db.prepare('SELECT * FROM history').all()]);
    for (const secret of ['ann-secret-0003', 'ops-secret-0002', 'org-secret-0001'])
      expect(everything).not.toContain(secret);
  });

  it('takes the credential from the first group that has it, else the org', async () => {
    await run('  - { id: bal, type: tool, tool: ledger/ledger-balance }\n', vic);
    await engine.host.startRun({
      workflowId: 'pipe',
      ir: workflow('  - { id: bal, type: tool, tool: ledger-balance }\n'),
      input: {},
      trigger: { type: 'manual', user: { ...vic, email: 'nobody@example.com', groups: ['sales'] } },
    });
    await clock.run(engine.host);
    expect(authorization).toEqual(['ops-secret-0002', 'org-secret-0001']);
  });

  it('says which argument a misspelt one was meant to be', async () => {
    const { record } = await run(
      '  - { id: post, type: tool, tool: ledger-post, args: { ammount: 7, memo: hi } }\n',
    );
    expect(record?.outcome?.error).toMatchObject({ code: 'Stepgate.InvalidArguments', step: 'post' });
    expect(record?.outcome?.error?.message).toContain(
      "amount: is required (the arguments have 'ammount': did you mean 'amount'?)",
    );
    expect(seen).toEqual([]);
  });

  it('refuses arguments the schema does not accept, naming the field, without calling the server', async () => {
    const { record, audit } = await run(
      '  - { id: post, type: tool, tool: ledger-post, args: { amount: not-a-number, memo: hi }, retry: { maxAttempts: 3, interval: 1s } }\n',
    );
    expect(record?.status).toBe('failed');
    expect(record?.outcome?.error).toMatchObject({ code: 'Stepgate.InvalidArguments', step: 'post' });
    expect(record?.outcome?.error?.message).toContain('amount: must be a number, not text');
    expect(seen).toEqual([]);
    // Not retried: one lookup, one identity stage.
    expect(audit.filter((a) => a.type === 'tool.lookup')).toHaveLength(1);
  });

  it('denies a write tool to a viewer with PolicyDenied, not retried, and follows onError', async () => {
    const { record, audit } = await run(
      [
        '  - { id: post, type: tool, tool: ledger-post, args: { amount: 1, memo: x }, retry: { maxAttempts: 3, interval: 1s }, onError: told, next: end }',
        '  - { id: told, type: notify, channel: email, to: ops@example.com, message: "{{error.code}}: {{error.message}}" }',
        '',
      ].join('\n'),
      vic,
    );
    expect(record?.status).toBe('completed');
    expect(record?.outcome?.vars.error).toMatchObject({
      code: 'PolicyDenied',
      message: expect.stringContaining('role viewer may not call write tool ledger/ledger-post'),
    });
    expect(seen).toEqual([]);
    const policyStage = audit.filter((a) => a.type === 'tool.policy');
    expect(policyStage).toHaveLength(1);
    expect(policyStage[0]?.data).toMatchObject({ allowed: false });
  });

  it('names the closest tools for an unknown one and fails without retrying', async () => {
    const { record } = await run(
      '  - { id: post, type: tool, tool: ledger-pots, retry: { maxAttempts: 3, interval: 1s } }\n',
    );
    expect(record?.outcome?.error).toMatchObject({ code: 'Stepgate.ToolNotFound' });
    expect(record?.outcome?.error?.message).toContain('ledger-post');
  });
});
