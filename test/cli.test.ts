// The `stepgate` binary as a user runs it: built by `npm test` (and `npm install`'s prepare) into dist/.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'stepgate.js');
const TEMPLATES = ['expense-approval', 'travel-booking', 'incident-response', 'employee-onboarding'].map(
  (name) => join(import.meta.dirname, '..', 'templates', `${name}.yaml`),
);

// Run where no stepgate.config.yaml is, unless a test passes --config: the tool check is tested on its own.
const NO_CONFIG = mkdtempSync(join(tmpdir(), 'stepgate-cwd-'));

async function stepgate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: NO_CONFIG });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

function scratchFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'stepgate-cli-')), name);
  writeFileSync(file, text);
  return file;
}

const BROKEN = `version: 1
id: broken
steps:
  - id: ask
    type: approval
    aprovers: [role:manager]
  - id: pay
    type: tool
    tool: payments-charge
    timeout: 2 hours
`;

describe('stepgate validate', () => {
  it('accepts the four seed templates with exit code 0', async () => {
    const result = await stepgate('validate', ...TEMPLATES);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('4 definitions valid');
    expect(result.code).toBe(0);
  });

  it('prints every problem of a file as file:line:col: error: message and exits 1', async () => {
    const file = scratchFile('broken.yaml', BROKEN);
    const result = await stepgate('validate', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${file}:6:5: error: unknown key 'aprovers' in an approval step (did you mean 'approvers'?)`,
    );
    expect(result.stderr).toContain(`${file}:10:14: error: invalid duration '2 hours'`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports a file that does not exist as a diagnostic, not a stack trace', async () => {
    const result = await stepgate('validate', '/nonexistent/workflow.yaml');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/nonexistent/workflow.yaml:1:1: error: cannot read file: no such file');
  });

  it('prints the same diagnostics as JSON with --json', async () => {
    const file = scratchFile('broken.yaml', BROKEN);
    const result = await stepgate('validate', '--json', file, TEMPLATES[0] ?? '');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Array<{
      file: string;
      valid: boolean;
      diagnostics: Array<Record<string, unknown>>;
    }>;
    expect(report.map((r) => r.valid)).toEqual([false, true]);
    expect(report[0]?.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: 'error',
        code: 'unknown-key',
        line: 6,
        col: 5,
        pointer: '/steps/0/aprovers',
      }),
    );
  });

  it('prints the IR of a valid definition with --ir, byte-identical on every run', async () => {
    const first = await stepgate('validate', '--ir', TEMPLATES[0] ?? '');
    const second = await stepgate('validate', '--ir', TEMPLATES[0] ?? '');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const ir = JSON.parse(first.stdout) as { id: string; graph: { start: string } };
    expect(ir.id).toBe('expense-approval');
    expect(ir.graph.start).toBe('validate');
  });

  it('exits 2 on a usage error', async () => {
    const result = await stepgate('validat', 'x.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'validat'");
  });
});

describe('stepgate validate against the configured MCP servers', () => {
  const ROOT = join(import.meta.dirname, '..');
  const config = (servers: string): string => scratchFile('stepgate.config.yaml', `mcpServers:\n${servers}`);
  const expenses = (sandbox: string): string =>
    `  expenses:\n    command: ${JSON.stringify(process.execPath)}\n    args: [${JSON.stringify(join(ROOT, 'dist', 'mcp-servers', 'expenses.js'))}]\n    env: { STEPGATE_SANDBOX_DIR: ${JSON.stringify(sandbox)} }\n`;

  it('warns, at the tool, about a tool no registered server offers, naming the closest', async () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'stepgate-sandbox-'));
    const file = scratchFile(
      'w.yaml',
      'version: 1\nid: w\nsteps:\n  - { id: check, type: tool, tool: expenses-validat }\n  - { id: ok, type: tool, tool: expenses/expenses-validate }\n',
    );
    const result = await stepgate('validate', '--config', config(expenses(sandbox)), file);
    expect(result.stderr).toContain(
      `${file}:4:36: warning: unknown tool 'expenses-validat' (did you mean 'expenses-validate'?)`,
    );
    expect(result.stderr).not.toContain("'expenses/expenses-validate'");
    expect(result.code).toBe(0);
    const skipped = await stepgate('validate', '--no-tools', '--config', config(expenses(sandbox)), file);
    expect(skipped.stderr).not.toContain('warning');
  });

  it('refuses a config with a problem, at its line and column', async () => {
    const bad = config('  expenses:\n    comand: node\n');
    const result = await stepgate('validate', '--config', bad, TEMPLATES[0] as string);
    expect(result.stderr).toContain(`${bad}:3:5: error: unknown key 'comand'`);
    expect(result.code).toBe(1);
  });
});

describe('stepgate test', () => {
  const scenario = (expectation: string): string =>
    scratchFile(
      'case.test.yaml',
      `workflow: ${TEMPLATES[0]}
directory:
  - { email: alice@example.com, role: member, manager: bob@example.com }
  - { email: bob@example.com, role: manager }
cases:
  - name: under the threshold it pays at once
    as: alice@example.com
    input: { amount: 120, description: Taxi }
    tools:
      expenses-validate: { result: { ok: true } }
      payments-charge: { result: { id: ch_9 } }
    expect:
${expectation}
`,
    );

  it('passes a case whose expectations hold, with exit code 0', async () => {
    const file = scenario(
      '      status: completed\n      path: [validate, over_threshold, process_payment, notify_paid]\n      vars: { process_payment: { id: ch_9 } }',
    );
    const result = await stepgate('test', file);
    expect(result.stdout).toContain('✓ under the threshold it pays at once');
    expect(result.stdout).toContain('1 passed, 0 failed');
    expect(result.code).toBe(0);
  });

  it('fails a case and says what differed, with exit code 1', async () => {
    const file = scenario('      status: completed\n      vars: { process_payment: { id: ch_1 } }');
    const result = await stepgate('test', file);
    expect(result.stdout).toContain('✗ under the threshold it pays at once');
    expect(result.stdout).toContain('vars.process_payment.id: expected "ch_1", got "ch_9"');
    expect(result.code).toBe(1);
  });

  it('reports a scenario file with an unknown key at its line and column', async () => {
    const file = scratchFile(
      'bad.test.yaml',
      'workflow: x.yaml\ncases:\n  - name: a\n    expct: { status: completed }\n',
    );
    const result = await stepgate('test', file);
    expect(result.stdout).toContain(`${file}:4:5: error: unknown key 'expct' (did you mean 'expect'?)`);
    expect(result.stdout).toContain('0 passed, 0 failed, 1 file not run');
    expect(result.code).toBe(1);
  });

  it('refuses a target that does not exist with exit code 2', async () => {
    const result = await stepgate('test', '--target', 'mars', 'x.test.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown target 'mars'");
  });
});

describe('stepgate compile', () => {
  it('writes the Azure plan and manifest of a template, the same bytes every time', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'stepgate-compile-')), 'azure');
    const first = await stepgate('compile', TEMPLATES[0] ?? '', '--target', 'azure', '-o', out);
    expect(first.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'expense-approval.azure-manifest.json'), 'utf8')) as {
      activities: string[];
    };
    expect(manifest.activities).toContain('approval-request');
    const plan = readFileSync(join(out, 'expense-approval.azure-plan.json'), 'utf8');
    const again = await stepgate('compile', TEMPLATES[0] ?? '', '--target', 'azure');
    expect(again.stdout).toContain(plan.trimEnd());
  });

  it('refuses an invalid definition with its diagnostics and exit code 1', async () => {
    const file = scratchFile('broken.yaml', BROKEN);
    const result = await stepgate('compile', file, '--target', 'azure');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:6:5: error: unknown key 'aprovers'`);
  });
});
