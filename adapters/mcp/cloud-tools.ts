// The tool side of a cloud deployment (AWS, GCP, Azure): the MCP registry over the configured Streamable
// HTTP servers (each cloud's config refuses stdio ones) and the tool pipeline over the deployment's ports
// (lookup, identity, credentials from the vault, policy, rate limits). Connections are opened on the first
// call and kept for the instance. Only the functions that call or list tools make one.
import type { PolicyConfig } from '../../functions/core/policy.js';
import type { Clock, RateLimiter, Vault } from '../../functions/core/ports.js';
import { ToolPipeline } from '../../functions/core/tool-pipeline.js';
import type { McpHttpServer } from './config.js';
import { McpRegistry } from './registry.js';

export interface CloudTools {
  registry: McpRegistry;
  pipeline: ToolPipeline;
}

/** The registry over `config.mcpServers` and the pipeline over `ports`. */
export function cloudTools(
  config: { mcpServers: Record<string, McpHttpServer>; policy: PolicyConfig },
  ports: { vault: Vault; limiter: RateLimiter; clock: Clock },
): CloudTools {
  const registry = new McpRegistry(config.mcpServers, {
    logger: { warn: (message) => console.warn(`mcp: ${message}`) },
  });
  const pipeline = new ToolPipeline({ registry, policy: config.policy, ...ports });
  return { registry, pipeline };
}
