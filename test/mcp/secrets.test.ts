// Secrets never leak: every template (templates/*.yaml) runs on the embedded engine, its tool steps going
// through the whole pipeline to the sandbox MCP servers (dist/mcp-servers, real stdio processes), each
// server configured to receive a vault credential `<SERVER>_API_KEY` as an environment variable. Distinct
// random values are planted at user, group and org level. Afterwards every table of every SQLite database
// (the engines', the vault's, the sandbox servers'), the raw bytes of every file in the temp directory
// (WAL files included), every captured log line (registry logger, console), every run record, outcome,
// error, history event and audit entry, and every notification are searched for each planted value and
// its base64 (at each byte alignment) — none may contain any. So that the test cannot pass vacuously, the
// vault must have resolved the credentials (the `tool.credentials` audit entries name a source for every
// name, with user, group and org all among them) and the values must have reached the server processes
// (their environment, read from /proc on Linux).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { createEmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import type { McpServersConfig } from '../../adapters/mcp/config.js';
import { McpRegistry } from '../../adapters/mcp/registry.js';
import type { PolicyConfig } from '../../functions/core/policy.js';
import type { VaultScope } from '../../functions/core/ports.js';
import { ToolPipeline } from '../../functions/core/tool-pipeline.js';
import {
  caseInput,
  identityFor,
  scenarioDirectory,
  scheduleDecisions,
  VIRTUAL_TIME_LIMIT_MS,
} from '../../testing/run-local.js';
import { parseScenario, type Scenario } from '../../testing/scenario.js';
import { validateWorkflow } from '../../translator/validate.js';

const root = join(import.meta.dirname, '..', '..');
const SERVERS = ['directory', 'calendar', 'expenses', 'payments', 'travel', 'incidents', 'email'] as const;
const credentialName = (server: string): string => `${server.toUpperCase()}_API_KEY`;
const templates = readdirSync(join(root, 'templates'))
  .filter((f) => /^[^.]+\.yaml$/.test(f))
  .sort();

function sandboxServers(dataDir: string): McpServersConfig {
  const config: McpServersConfig = {};
  for (const name of SERVERS) {
    const script = join(root, 'dist', 'mcp-servers', `${name}.js`);
    if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
    config[name] = {
      command: process.execPath,
      args: [script],
      env: { STEPGATE_SANDBOX_DIR: dataDir },
      credentials: [{ name: credentialName(name), env: credentialName(name) }],
      identity: 'schema',
    };
  }
  return config;
}

/** The value itself, and its base64 (standard and url-safe) at each of the three byte alignments. */
function forms(secret: string): string[] {
  const out = [secret];
  const bytes = Buffer.from(secret, 'utf8');
  [0, 1, 2].forEach((offset, i) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only the characters that depend on the secret's bytes alone, whatever comes before or after.
    const fragment = encoded.slice([0, 2, 3][i], Math.floor((offset + bytes.length) / 3) * 4);
    out.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  });
  return [...new Set(out)];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** Every row of every table of a SQLite file, as text (blobs both as UTF-8 and Latin-1). */
function dumpDatabase(file: string): { tables: string[]; text: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((t) => t.name);
    const parts: string[] = [];
    for (const table of tables) {
      for (const row of db.prepare(`SELECT * FROM "${table.replace(/"/g, '""')}"`).all() as Array<
        Record<string, unknown>
      >) {
        for (const value of Object.values(row)) {
          if (Buffer.isBuffer(value)) parts.push(value.toString('utf8'), value.toString('latin1'));
          else parts.push(String(value));
        }
      }
    }
    return { tables, text: parts.join('\n') };
  } finally {
    db.close();
  }
}

/** The NAME=value pairs of a process's environment (Linux), or null where /proc is not readable. */
function environOf(pid: number): Map<string, string> | null {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return new Map(
      raw
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]),
    );
  } catch {
    return null;
  }
}

interface Planted {
  scope: VaultScope;
  name: string;
  value: string;
}

describe('secrets never appear in history, logs, errors, state or responses', () => {
  let dir: string;
  let registry: McpRegistry;
  const logs: string[] = [];
  const planted: Planted[] = [];
  /** Everything a caller of the engine could be shown: run records, outcomes, history, audit, notifications. */
  const responses: unknown[] = [];
  const credentialAudits: Array<{ template: string; server: string; sources: Record<string, string> }> = [];
  const toolCallsByTemplate: Record<string, number> = {};
  /** Each credentialed child process: its server and the credential value in its environment. */
  const reachedServers: Array<[server: string, value: string]> = [];
  let procReadable = false;
  let rawFilesWhileOpen = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stepgate-secrets-'));
    const dataDir = join(dir, 'sandbox');
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logs.push(
          `console.${method}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`,
        );
      });
    }
    registry = new McpRegistry(sandboxServers(dataDir), {
      shutdownGraceMs: 500,
      logger: {
        debug: (message) => void logs.push(`debug: ${message}`),
        warn: (message) => void logs.push(`warn: ${message}`),
      },
    });

    const scenarios: Array<{ file: string; scenario: Scenario }> = templates.map((file) => {
      const text = readFileSync(join(root, 'templates', file.replace(/\.yaml$/, '.test.yaml')), 'utf8');
      const { scenario, diagnostics } = parseScenario(text);
      if (scenario === undefined) throw new Error(`${file}: ${JSON.stringify(diagnostics)}`);
      return { file, scenario };
    });

    // The vault, in its own database file (scanned like the rest). Server i gets, by i % 3: a user-level
    // value for every user of every scenario (plus shadowed group and org values), group-level values for
    // every group (plus a shadowed org value), or an org value only — so all three levels are resolved.
    const vaultDb = openDatabase(join(dir, 'vault.db'));
    const vault = new SqliteVault(vaultDb, randomBytes(32));
    const users = new Set(
      scenarios.flatMap(({ scenario }) => (scenario.directory ?? []).map((u) => u.email)),
    );
    const groups = new Set(
      scenarios.flatMap(({ scenario }) => (scenario.directory ?? []).flatMap((u) => u.groups ?? [])),
    );
    const plant = async (scope: VaultScope, name: string): Promise<void> => {
      const value = `sk-${randomBytes(18).toString('hex')}`;
      planted.push({ scope, name, value });
      await vault.set(scope, name, value);
    };
    for (const [i, server] of SERVERS.entries()) {
      const name = credentialName(server);
      await plant('org', name);
      if (i % 3 === 2) continue;
      for (const group of groups) await plant(`group:${group}`, name);
      if (i % 3 === 1) continue;
      for (const user of users) await plant(`user:${user.toLowerCase()}`, name);
    }
    const limiter = new SqliteRateLimiter(vaultDb);
    // A policy that allows what the templates do but is checked on every call (minRole, rate limits).
    const policy: PolicyConfig = {
      defaults: { minRole: 'viewer', rateLimit: '1000/minute', orgRateLimit: '10000/minute' },
    };

    for (const { file, scenario } of scenarios) {
      const name = file.replace(/\.yaml$/, '');
      const ir = validateWorkflow(readFileSync(join(root, 'templates', file), 'utf8')).ir;
      if (ir === undefined) throw new Error(`${file} is invalid`);
      const c = scenario.cases[0];
      if (c === undefined) throw new Error(`${file}: no scenario case`);
      const user = identityFor(scenario, c.as);
      const clock = new VirtualClock();
      const pipeline = new ToolPipeline({ registry, vault, policy, limiter, clock });
      const runId = `secrets-${name}`;
      const engine = createEmbeddedEngine({
        file: join(dir, `${name}.db`),
        clock,
        directory: scenarioDirectory(scenario),
        tools: {
          call: (request, context) => {
            toolCallsByTemplate[name] = (toolCallsByTemplate[name] ?? 0) + 1;
            return pipeline.call(request, context);
          },
        },
        notifier: {
          send: async (request) => {
            responses.push({ notification: request });
            return { messageId: `m-${responses.length}` };
          },
        },
        approvalNotifier: {
          requested: async (request) => void responses.push({ approvalRequested: request }),
        },
        onAudit: (id, entry) => {
          if (id !== runId || entry.type !== 'step.entered' || entry.step === null || entry.data.visit !== 1)
            return;
          scheduleDecisions(c, clock, engine.approvals, runId, entry.step, entry.at);
        },
      });
      try {
        await engine.host.startRun({
          runId,
          workflowId: ir.id,
          ir,
          input: caseInput(ir, c),
          trigger: { type: c.trigger ?? 'manual', user },
        });
        await clock.run(engine.host, clock.now() + VIRTUAL_TIME_LIMIT_MS);
        const audit = await engine.host.audit(runId);
        responses.push(
          { run: await engine.host.getRun(runId) },
          { runs: await engine.host.listRuns() },
          { history: engine.host.history(runId) },
          { audit },
        );
        for (const entry of audit) {
          if (entry.type !== 'tool.credentials') continue;
          const data = entry.data as { server: string; sources: Record<string, string> };
          credentialAudits.push({ template: name, server: data.server, sources: data.sources });
        }
      } finally {
        await engine.host.close();
        engine.db.close();
      }
    }

    // The credentialed children are still alive: what did they get in their environment?
    for (const connection of registry.connections()) {
      if (!connection.withCredentials || connection.pid === null) continue;
      const environ = environOf(connection.pid);
      if (environ === null) continue;
      procReadable = true;
      const value = environ.get(credentialName(connection.server));
      if (value !== undefined) reachedServers.push([connection.server, value]);
    }
    // Raw bytes while the servers' databases are open (their WAL files still hold the latest pages).
    rawFilesWhileOpen = filesUnder(dir)
      .map((f) => readFileSync(f).toString('latin1'))
      .join('\n');
    await registry.close();
    vaultDb.close();
  }, 120_000);

  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ran every template through the pipeline, with credentials resolved from the vault', () => {
    expect(templates).toHaveLength(4);
    for (const file of templates) {
      const name = file.replace(/\.yaml$/, '');
      expect(toolCallsByTemplate[name] ?? 0, `${name} made no tool call`).toBeGreaterThan(0);
      expect(
        credentialAudits.filter((a) => a.template === name),
        name,
      ).not.toHaveLength(0);
    }
    // Every resolution found its name, and user, group and org levels were all used.
    const sources = new Set<string>();
    for (const { server, sources: found } of credentialAudits) {
      expect(Object.keys(found), server).toEqual([credentialName(server)]);
      sources.add((found[credentialName(server)] ?? '').replace(/^group:.*/, 'group'));
    }
    expect([...sources].sort()).toEqual(['group', 'org', 'user']);
  });

  it('handed the resolved values to the server processes', (context) => {
    // Without /proc (not Linux) the audit entries above are the evidence: the check is reported as skipped.
    if (!procReadable) context.skip();
    const called = new Set(credentialAudits.map((a) => a.server));
    expect([...new Set(reachedServers.map(([server]) => server))].sort()).toEqual([...called].sort());
    const values = new Set(planted.map((p) => p.value));
    for (const [server, value] of reachedServers) {
      expect(values.has(value), `${server} got a value that was not planted`).toBe(true);
      expect(planted.find((p) => p.value === value)?.name).toBe(credentialName(server));
    }
  });

  it('appear in no table, file, log line, run record, history, audit entry or notification', () => {
    expect(planted.length).toBeGreaterThan(SERVERS.length * 3);
    const haystacks: Array<[string, string]> = [];
    const databases = filesUnder(dir).filter((f) => /\.(db|sqlite)$/.test(f));
    // The vault, four engines and the sandbox servers the templates started.
    expect(databases.length).toBeGreaterThanOrEqual(1 + templates.length + 5);
    const tablesSeen = new Set<string>();
    for (const file of databases) {
      const { tables, text } = dumpDatabase(file);
      for (const t of tables) tablesSeen.add(t);
      haystacks.push([`tables of ${file.slice(dir.length + 1)}`, text]);
    }
    // The engine's own tables (history, audit, approvals, results, the vault's secrets) were all read.
    expect([...tablesSeen]).toEqual(expect.arrayContaining(['history', 'secrets', 'rate_hits']));
    haystacks.push(['raw files while the servers ran', rawFilesWhileOpen]);
    haystacks.push([
      'raw files afterwards',
      filesUnder(dir)
        .map((f) => readFileSync(f).toString('latin1'))
        .join('\n'),
    ]);
    expect(logs.length).toBeGreaterThan(0);
    haystacks.push(['logs', logs.join('\n')]);
    haystacks.push(['run records, history, audit and notifications', JSON.stringify(responses)]);
    expect(haystacks.every(([, text]) => text.length > 0)).toBe(true);

    const leaks: string[] = [];
    for (const { scope, name, value } of planted) {
      for (const form of forms(value)) {
        for (const [where, text] of haystacks) {
          if (text.includes(form))
            leaks.push(`${name} (${scope}) ${form === value ? 'value' : 'base64'} in ${where}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it('would have been caught: the search finds a planted value where it is put', () => {
    const [first] = planted;
    if (first === undefined) throw new Error('nothing planted');
    const encoded = Buffer.from(`Authorization: ${first.value}`).toString('base64');
    expect(forms(first.value).some((form) => encoded.includes(form))).toBe(true);
    expect(forms(first.value).some((form) => `x${first.value}y`.includes(form))).toBe(true);
    expect(statSync(dir).isDirectory()).toBe(true);
  });
});
