// The import rules of the code base, checked over the real files: no import cycles, the core imports no
// adapter, the translator imports no host; and the replayed orchestrator draws no random number (the rest of
// its determinism is the lint's: the override in biome.json that keeps Date, timers and crypto out of it).
// Imports are read with TypeScript's own pre-processor, so `import type` and `export … from` count too.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

/** Where an import may not point: modules under `from` import nothing under `to`, except `except`. */
interface LayerRule {
  name: string;
  from: string;
  to: readonly string[];
  except?: readonly string[];
}

const LAYERS: readonly LayerRule[] = [
  {
    name: 'the core imports no adapter',
    from: 'functions/core/',
    to: ['adapters/'],
  },
  {
    name: 'the translator imports no host and no adapter',
    from: 'translator/',
    to: ['functions/', 'adapters/'],
    // The ASL emitter types its Task payloads against the task protocol the handlers read; types only
    // (checked below), so nothing of the host is in the compiler's build.
    except: ['functions/core/wire.ts'],
  },
];

/** The repository-relative paths (posix) of the TypeScript sources under `dir`. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

/** The module specifiers a source imports or re-exports, type-only and dynamic imports included. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/** The repository file a relative specifier of `from` names (`./x.js` is `./x.ts`), else undefined. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.join(posix.dirname(from), specifier).replace(/\.js$/, '');
  return [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((candidate) =>
    existsSync(join(ROOT, candidate)),
  );
}

/** Each source under `dirs` with the repository files it imports. */
function importGraph(dirs: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap(sourcesUnder)) {
    const targets = specifiersOf(readFileSync(join(ROOT, file), 'utf8')).map((s) => resolve(file, s));
    graph.set(file, [...new Set(targets.filter((target) => target !== undefined))]);
  }
  return graph;
}

/**
 * The import cycles of a graph, one per strongly connected component, each as the shortest path from the
 * component's first module back to itself ("a.ts → b.ts → a.ts").
 */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member !== undefined) component.push(member);
    } while (member !== node && member !== undefined);
    if (component.length > 1 || graph.get(node)?.includes(node)) components.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => shortestCycle(graph, component).join(' → '));
}

/** The shortest path within `component` from its first module back to itself. */
function shortestCycle(
  graph: ReadonlyMap<string, readonly string[]>,
  component: readonly string[],
): string[] {
  const start = component[0] ?? '';
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] ?? '';
    for (const next of graph.get(node) ?? []) {
      if (!component.includes(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0] ?? '') ?? start);
        return [...path, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
  }
  return [...component, start];
}

/** The imports of `graph` that break a layer rule, as "from → to". */
function forbiddenImports(graph: ReadonlyMap<string, readonly string[]>, rule: LayerRule): string[] {
  return [...graph].flatMap(([file, targets]) =>
    file.startsWith(rule.from)
      ? targets
          .filter((target) => rule.to.some((layer) => target.startsWith(layer)))
          .filter((target) => !rule.except?.includes(target))
          .map((target) => `${file} → ${target}`)
      : [],
  );
}

/**
 * The places (line:column) where a source reaches `Math.random`: any use of `Math` other than reading one
 * of its other members by name (so `Math['random']`, `const { random } = Math` and `const m = Math` count).
 */
function randomUses(text: string): string[] {
  const source = ts.createSourceFile('replayed.ts', text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'Math' && !readsOtherMember(node)) {
      const { line, character } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${line + 1}:${character + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function readsOtherMember(math: ts.Identifier): boolean {
  const parent = math.parent;
  if (ts.isPropertyAccessExpression(parent))
    return parent.expression === math ? parent.name.text !== 'random' : true;
  // Not a reference to the global: a property name, or a declaration of something else called Math.
  return ts.isPropertyAssignment(parent) && parent.name === math;
}

/** The files biome.json lints as replayed code, and the globals it keeps out of them. */
function replayLint(): { files: string[]; deniedGlobals: string[] } {
  const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as {
    overrides?: {
      includes?: string[];
      linter?: { rules?: { style?: { noRestrictedGlobals?: { options?: { deniedGlobals?: object } } } } };
    }[];
  };
  const override = config.overrides?.find((o) => o.linter?.rules?.style?.noRestrictedGlobals !== undefined);
  return {
    files: override?.includes ?? [],
    deniedGlobals: Object.keys(
      override?.linter?.rules?.style?.noRestrictedGlobals?.options?.deniedGlobals ?? {},
    ),
  };
}

describe('the import rules', () => {
  const graph = importGraph(['functions', 'adapters', 'translator']);

  it('reads the imports of every module of functions/, adapters/ and translator/', () => {
    expect(graph.get('functions/core/http/app.ts')).toContain('functions/core/http/openapi.ts');
    expect(graph.get('adapters/local/durable-host.ts')).toContain('functions/core/orchestrator.ts');
  });

  it('finds no import cycle among functions/, adapters/ and translator/', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it.each(LAYERS)('$name', (rule) => {
    expect(forbiddenImports(graph, rule)).toEqual([]);
  });

  it('lets the translator take only types from the task protocol (functions/core/wire.ts)', () => {
    const importers = [...graph].filter(
      ([file, to]) => file.startsWith('translator/') && to.includes('functions/core/wire.ts'),
    );
    expect(importers.length).toBeGreaterThan(0);
    for (const [file] of importers) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const statements =
        text.match(/^(?:import|export)[^;]*?from '[./]*functions\/core\/wire\.js';/gms) ?? [];
      expect(statements.length, file).toBeGreaterThan(0);
      for (const statement of statements) expect(statement, file).toMatch(/^import type /);
    }
  });
});

describe('the determinism of the orchestrator', () => {
  const lint = replayLint();

  it('is linted as replayed code, with Date, timers, performance and crypto denied', () => {
    expect(lint.files).toContain('functions/core/orchestrator.ts');
    expect(lint.deniedGlobals).toEqual(
      expect.arrayContaining(['Date', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'crypto']),
    );
  });

  it('draws no random number in any replayed file (Math.random is a member, beyond the lint)', () => {
    const uses = lint.files.flatMap((file) =>
      randomUses(readFileSync(join(ROOT, file), 'utf8')).map((at) => `${file}:${at}`),
    );
    expect(uses).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('see type-only imports, re-exports and dynamic imports', () => {
    const text = [
      "import type { A } from './a.js';",
      "export { b } from './b.js';",
      "export type * from './c.js';",
      "const d = await import('./d.js');",
    ].join('\n');
    expect(specifiersOf(text)).toEqual(['./a.js', './b.js', './c.js', './d.js']);
  });

  it('report a cycle as its path, and a self-import', () => {
    const graph = new Map([
      ['app.ts', ['routes.ts', 'leaf.ts']],
      ['routes.ts', ['types.ts', 'app.ts']],
      ['types.ts', ['leaf.ts']],
      ['leaf.ts', []],
      ['self.ts', ['self.ts']],
    ]);
    expect(importCycles(graph)).toEqual(['app.ts → routes.ts → app.ts', 'self.ts → self.ts']);
    graph.set('routes.ts', ['types.ts']);
    graph.set('self.ts', []);
    expect(importCycles(graph)).toEqual([]);
  });

  it('find Math.random however it is reached, and nothing in other uses of Math', () => {
    const text = [
      'const a = Math.max(1, 2);',
      'const b = Math.random();',
      "const c = Math['random']();",
      'const { random } = Math;',
      'const o = { Math: 1 };',
    ].join('\n');
    expect(randomUses(text)).toEqual(['2:11', '3:11', '4:20']);
  });
});
