// Tool names a workflow uses that no configured MCP server offers: a warning at the step's `tool` (the
// server may be down, or the tool arrive later, so it never blocks a save), whose message is the lookup's
// own (it names the closest tools). The lookup is given: the CLI's registry, the server's, a Lambda's.
import type { Diagnostic } from './diagnostics.js';
import type { IrGraph, IrTool, IrWorkflow } from './ir.js';
import { parseSource } from './source.js';
import { errorMessage } from './util.js';

/** Resolves a tool name (`tool` or `server/tool`); rejects, saying why and what is close, when none offers it. */
export type ToolLookup = (name: string) => Promise<unknown>;

/** The tool steps of a graph, parallel branches included. */
export function toolSteps(graph: IrGraph): IrTool[] {
  return graph.nodes.flatMap((node) =>
    node.kind === 'tool' ? [node] : node.kind === 'parallel' ? node.branches.flatMap(toolSteps) : [],
  );
}

/** A warning for each tool step whose tool `lookup` does not find, placed at the step's `tool` in `text`. */
export async function unknownToolDiagnostics(
  ir: IrWorkflow,
  text: string,
  format: 'yaml' | 'json',
  lookup: ToolLookup,
): Promise<Diagnostic[]> {
  const steps = toolSteps(ir.graph);
  if (steps.length === 0) return [];
  const source = parseSource(text, format);
  const found: Diagnostic[] = [];
  for (const step of steps) {
    const name = step.server === null ? step.tool : `${step.server}/${step.tool}`;
    const problem = await lookup(name).then(
      () => undefined,
      (error: unknown) => errorMessage(error),
    );
    if (problem === undefined) continue;
    const path = [
      ...step.source
        .split('/')
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
      'tool',
    ];
    found.push(
      source.place({
        severity: 'warning',
        code: 'unknown-tool',
        message: `${problem} (registered MCP servers)`,
        path,
      }),
    );
  }
  return found;
}
