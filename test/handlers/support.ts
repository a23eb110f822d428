// What the handler tests share: a run context as a compiled definition carries it, and a result store
// kept in memory.
import type { ResultStore } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import type { AslRunContext } from '../../functions/core/wire.js';
import { parseTemplate } from '../../translator/template.js';

export const alice: Identity = {
  email: 'alice@example.com',
  role: 'member',
  groups: ['finance'],
  manager: 'boss@example.com',
};

export const ctx: AslRunContext = { runId: 'run-1', workflowId: 'wf', identity: alice };

/** A value's IR template as JSON text, as the compiled payloads carry it (`{{...}}` strings resolve). */
export const template = (value: unknown): string => JSON.stringify(parseTemplate(value).template);

/** A result store in a Map; `stored` lists what was put. */
export function memoryResults(): ResultStore & { stored: string[] } {
  const byUri = new Map<string, string>();
  const stored: string[] = [];
  return {
    stored,
    put: async (key, text) => {
      const uri = `memory:${key.runId}/${key.stepId}/${byUri.size}`;
      byUri.set(uri, text);
      stored.push(uri);
      return uri;
    },
    get: async (uri) => byUri.get(uri),
  };
}
