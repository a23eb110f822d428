// `stepgate validate <file...>`: check definitions (and scenario files, `*.test.yaml`) and print each
// problem as file:line:col, or the IR.
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfig } from '../adapters/local/config.js';
import { McpRegistry } from '../adapters/mcp/registry.js';
import { parseScenario } from '../testing/scenario.js';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../translator/diagnostics.js';
import { MAX_SOURCE_BYTES } from '../translator/source.js';
import { toolSteps, unknownToolDiagnostics } from '../translator/tool-check.js';
import { formatOf, type ValidationResult, validateWorkflow } from '../translator/validate.js';

export interface ValidateOptions {
  json?: boolean;
  ir?: boolean;
  /** The Stepgate config whose MCP servers must offer the workflows' tools (default stepgate.config.yaml). */
  config?: string;
  /** false: do not ask the registered MCP servers for their tools. */
  tools?: boolean;
}

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface FileResult {
  file: string;
  text: string | undefined;
  result: ValidationResult;
}

/** Returns the process exit code: 0 when every file is valid (warnings allowed), 1 otherwise. */
export async function runValidate(files: string[], options: ValidateOptions, io: CommandIo): Promise<number> {
  const tools = options.tools === false ? undefined : new ToolCheck(options.config);
  const results: FileResult[] = [];
  try {
    for (const file of files) {
      const result: FileResult = { file, ...(await validateFile(file)) };
      results.push(result);
      tools?.start(result);
    }
    await tools?.check(results);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) io.err(problem);
    return 1;
  } finally {
    await tools?.close();
  }
  const failed = results.filter((r) => !r.result.valid).length;

  if (options.json) {
    const report = results.map(({ file, result }) => ({
      file,
      valid: result.valid,
      diagnostics: result.diagnostics,
      ...(options.ir && result.ir ? { ir: result.ir } : {}),
    }));
    io.out(JSON.stringify(report, null, 2));
    return failed === 0 ? 0 : 1;
  }
  for (const { file, result } of results) {
    for (const d of result.diagnostics) io.err(formatDiagnostic(file, d));
  }
  if (options.ir) {
    const irs = results.filter((r) => r.result.ir).map((r) => [r.file, r.result.ir] as const);
    if (irs.length > 0)
      io.out(JSON.stringify(irs.length === 1 ? irs[0]?.[1] : Object.fromEntries(irs), null, 2));
  } else {
    const summary =
      failed === 0
        ? `${results.length} ${results.length === 1 ? 'definition' : 'definitions'} valid`
        : `${failed} of ${results.length} ${results.length === 1 ? 'definition' : 'definitions'} invalid`;
    (failed === 0 ? io.out : io.err)(summary);
  }
  return failed === 0 ? 0 : 1;
}

async function validateFile(file: string): Promise<{ text: string | undefined; result: ValidationResult }> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_SOURCE_BYTES)
      return {
        text: undefined,
        result: fileProblem('too-large', `file is larger than ${MAX_SOURCE_BYTES} bytes`),
      };
    text = bytes.toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    return { text: undefined, result: fileProblem('unreadable', `cannot read file: ${reason}`) };
  }
  if (isScenarioFile(file)) {
    const { diagnostics } = parseScenario(text);
    return { text, result: { valid: !hasErrors(diagnostics), diagnostics } };
  }
  return { text, result: validateWorkflow(text, formatOf(file)) };
}

/**
 * With MCP servers configured, every tool step must name a tool one of them offers: a warning (the server
 * may be down, or the tool arrive later) at the step's `tool`, with the closest names. One registry serves
 * every file, so each server starts once and lists its tools once per run; the servers a file needs are
 * started, all at once, as soon as that file is read, while the files after it are validated.
 */
class ToolCheck {
  private registry: McpRegistry | undefined;
  private configLoaded = false;

  constructor(private readonly configPath: string | undefined) {}

  /** Starts, in the background, the servers `result`'s tool steps need; throws ConfigError for a bad config. */
  start(result: FileResult): void {
    const steps = result.result.ir === undefined ? [] : toolSteps(result.result.ir.graph);
    if (steps.length === 0) return;
    if (!this.configLoaded) {
      this.configLoaded = true;
      const config = loadConfig(this.configPath);
      if (Object.keys(config.mcpServers).length > 0) this.registry = new McpRegistry(config.mcpServers);
    }
    const registry = this.registry;
    if (registry === undefined) return;
    const configured = new Set(registry.status().map((s) => s.server));
    // An unpinned name (or a pin no server has) is looked up on every server.
    const everyServer = steps.some((step) => step.server === null || !configured.has(step.server));
    const needed = everyServer ? [...configured] : [...new Set(steps.map((step) => step.server ?? ''))];
    void registry.warm(needed);
  }

  /** Adds the unknown-tool warnings to the results, looking up every file's tools at once. */
  async check(results: FileResult[]): Promise<void> {
    const registry = this.registry;
    if (registry === undefined) return;
    const lookup = (name: string) => registry.lookup(name);
    await Promise.all(
      results.map(async (r) => {
        const ir = r.result.ir;
        if (ir === undefined || r.text === undefined) return;
        r.result.diagnostics.push(...(await unknownToolDiagnostics(ir, r.text, formatOf(r.file), lookup)));
      }),
    );
  }

  async close(): Promise<void> {
    await this.registry?.close();
  }
}

/** Scenario files (`*.test.yaml`) sit beside workflows, so a glob over a folder validates both kinds. */
function isScenarioFile(file: string): boolean {
  return /\.test\.ya?ml$/i.test(file);
}

function fileProblem(code: string, message: string): ValidationResult {
  const diagnostic: Diagnostic = { severity: 'error', code, message, pointer: '', line: 1, col: 1 };
  return { valid: false, diagnostics: [diagnostic] };
}
