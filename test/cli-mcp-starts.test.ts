// `stepgate validate` over several files asks each configured MCP server for its tools once (issue 15
// item 20): one registry serves the whole run, and a server is started only when a file needs it. Counted
// from the servers' start log (a wrapper appends the server's name as its process starts), not from timing.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'cli', 'stepgate.js');
const WRAPPER = join(ROOT, 'test', 'fixtures', 'mcp', 'start-logged.mjs');

interface Setup {
  dir: string;
  config: string;
  log: string;
}

/** A config whose expenses and payments sandbox servers log each start to `log`. */
function setup(): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-starts-'));
  const log = join(dir, 'starts.log');
  const server = (name: string): string =>
    `  ${name}:\n    command: ${JSON.stringify(process.execPath)}\n` +
    `    args: [${JSON.stringify(WRAPPER)}, ${JSON.stringify(join(ROOT, 'dist', 'mcp-servers', `${name}.js`))}]\n` +
    `    env: { START_LOG: ${JSON.stringify(log)}, SERVER_NAME: ${name}, STEPGATE_SANDBOX_DIR: ${JSON.stringify(join(dir, 'sandbox'))} }\n`;
  const config = join(dir, 'stepgate.config.yaml');
  writeFileSync(config, `mcpServers:\n${server('expenses')}${server('payments')}`);
  return { dir, config, log };
}

function workflow(dir: string, id: string, tools: string[]): string {
  const file = join(dir, `${id}.yaml`);
  const steps = tools.map((tool, i) => `  - { id: s${i}, type: tool, tool: ${tool} }`).join('\n');
  writeFileSync(file, `version: 1\nid: ${id}\nsteps:\n${steps}\n`);
  return file;
}

async function validate(config: string, files: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [BIN, 'validate', '--config', config, ...files]);
    return { code: 0, stderr };
  } catch (error) {
    const failure = error as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
}

function starts(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').sort() : [];
}

describe('stepgate validate over several files', () => {
  it('starts each MCP server once, however many files use its tools', async () => {
    const { dir, config, log } = setup();
    const files = ['one', 'two', 'three'].map((id) =>
      workflow(dir, id, [
        'expenses-validate',
        'payments-charge',
        'payments/payments-charge',
        'payments-chrage',
      ]),
    );

    const result = await validate(config, files);

    expect(result.code).toBe(0);
    // Every file's tools were looked up: each one's misspelled tool is named, with the closest name.
    for (const file of files) {
      expect(result.stderr).toContain(
        `${file}:7:33: warning: unknown tool 'payments-chrage' (did you mean 'payments-charge'?)`,
      );
    }
    expect(starts(log)).toEqual(['expenses', 'payments']);
  });

  it('starts only the pinned server when every tool a file uses is pinned', async () => {
    const { dir, config, log } = setup();
    const files = ['a', 'b'].map((id) => workflow(dir, id, ['payments/payments-charge']));

    const result = await validate(config, files);

    expect(result).toEqual({ code: 0, stderr: '' });
    expect(starts(log)).toEqual(['payments']);
  });

  it('starts no server when no file has a tool step', async () => {
    const { dir, config, log } = setup();
    const file = join(dir, 'wait.yaml');
    writeFileSync(file, 'version: 1\nid: wait\nsteps:\n  - { id: pause, type: delay, duration: 1m }\n');

    expect((await validate(config, [file])).code).toBe(0);
    expect(starts(log)).toEqual([]);
  });
});
