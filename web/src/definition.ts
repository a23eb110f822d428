// A workflow's source (YAML or JSON) as the definition object the flow graph draws.
import { parse } from 'yaml';

/** The parsed definition, or undefined when the source does not parse. */
export function parseDefinition(source: string | undefined): unknown {
  if (source === undefined) return undefined;
  try {
    // YAML 1.2 reads JSON too.
    return parse(source) as unknown;
  } catch {
    return undefined;
  }
}
