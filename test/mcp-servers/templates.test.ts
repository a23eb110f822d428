// The contract with the templates: every tool step of templates/*.yaml names a tool one sandbox server
// offers, and every argument it passes is declared in that tool's input schema.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServer, tempDataDir } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SERVERS = ['directory', 'calendar', 'expenses', 'payments', 'travel', 'incidents', 'email'];

type Step = {
  id: string;
  type: string;
  tool?: string;
  args?: Record<string, unknown>;
  branches?: Array<{ steps: Step[] }>;
};

function toolSteps(steps: Step[]): Step[] {
  return steps.flatMap((s) => [
    ...(s.type === 'tool' ? [s] : []),
    ...(s.branches ?? []).flatMap((b) => toolSteps(b.steps)),
  ]);
}

describe('sandbox servers and the templates', () => {
  it('offer every tool the templates call, accepting the arguments they pass', async () => {
    const dir = tempDataDir();
    const clients = await Promise.all(SERVERS.map((name) => startServer(name, dir)));
    const tools = new Map<string, Tool>();
    for (const client of clients) {
      for (const tool of (await client.listTools()).tools) {
        expect(tools.has(tool.name), `${tool.name} offered twice`).toBe(false);
        tools.set(tool.name, tool);
      }
    }
    const templates = readdirSync(path.join(ROOT, 'templates')).filter((f) => /^[^.]+\.yaml$/.test(f));
    expect(templates).toHaveLength(4);
    const called = new Set<string>();
    for (const file of templates) {
      const definition = parse(readFileSync(path.join(ROOT, 'templates', file), 'utf8')) as { steps: Step[] };
      for (const step of toolSteps(definition.steps)) {
        const tool = tools.get(step.tool ?? '');
        expect(tool, `${file} ${step.id}: tool ${step.tool}`).toBeDefined();
        const declared = Object.keys(tool?.inputSchema.properties ?? {});
        expect(declared, `${file} ${step.id}`).toEqual(expect.arrayContaining(Object.keys(step.args ?? {})));
        called.add(step.tool as string);
      }
    }
    expect([...called].sort()).toEqual(
      [
        'calendar-schedule-meeting',
        'directory-assign-groups',
        'directory-create-account',
        'expenses-validate',
        'incidents-assess',
        'incidents-oncall',
        'incidents-page',
        'incidents-update-status',
        'payments-charge',
        'travel-book',
        'travel-preferences',
        'travel-search-flights',
      ].sort(),
    );
  });
});
