// The tool side of the AWS deployment: the MCP registry over the configured Streamable HTTP servers
// (config.ts refuses stdio ones) and the tool pipeline (lookup, identity, credentials from the vault,
// policy, rate limits) over the ports. Only the functions that call or list tools import it.
import { type CloudTools, cloudTools } from '../../adapters/mcp/cloud-tools.js';
import type { AwsPorts } from './ports.js';

export type AwsTools = CloudTools;

/** The registry (connections are opened on first call and kept for the container) and the pipeline. */
export function awsTools(ports: AwsPorts): AwsTools {
  return cloudTools(ports.config, { vault: ports.vault(), limiter: ports.limiter(), clock: ports.clock });
}
