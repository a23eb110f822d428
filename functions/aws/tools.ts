// The tool side of the AWS deployment: the MCP registry over the configured Streamable HTTP servers
// (config.ts refuses stdio ones) and the tool pipeline (lookup, identity, credentials from the vault,
// policy, rate limits) over the ports. Only the functions that call or list tools import it.
import { McpRegistry } from '../../adapters/mcp/registry.js';
import { ToolPipeline } from '../core/tool-pipeline.js';
import type { AwsPorts } from './ports.js';

export interface AwsTools {
  registry: McpRegistry;
  pipeline: ToolPipeline;
}

/** The registry (connections are opened on first call and kept for the container) and the pipeline. */
export function awsTools(ports: AwsPorts): AwsTools {
  const registry = new McpRegistry(ports.config.mcpServers, {
    logger: { warn: (message) => console.warn(`mcp: ${message}`) },
  });
  const pipeline = new ToolPipeline({
    registry,
    vault: ports.vault(),
    policy: ports.config.policy,
    limiter: ports.limiter(),
    clock: ports.clock,
  });
  return { registry, pipeline };
}
