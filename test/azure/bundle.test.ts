// The Azure Functions app's bundle (scripts/bundle-azure.ts): it builds offline without native code, ships the
// host.json and the package.json the Functions host reads, the template gallery and the dashboard beside
// it, and in plain Node registers exactly the app's functions: imported as the Functions Node.js worker
// imports an app, with the worker's `@azure/functions-core` API (the only module left outside the bundle)
// standing in to record each registration, as the worker receives it (the function's metadata: its
// bindings). An invocation of the catch-all without the app settings answers a generic 500 while its log
// names the missing setting.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { AZURE_ACTIVITIES } from '../../functions/azure/activities.js';
import { bundledGallery, readGallery } from '../../functions/core/template-gallery.js';
import { type AzureBundle, bundleAzure, HOST_JSON, TASK_HUB_SETTING } from '../../scripts/bundle-azure.js';
import { AZURE_ORCHESTRATOR, azureFunctionName } from '../../translator/emit/azure-durable.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
let bundle: AzureBundle;

beforeAll(async () => {
  bundle = await bundleAzure();
}, 120_000);

/** Runs `script` (an ES module) in plain Node from the repository root, with no app setting; stdout and stderr. */
function runNode(script: string): Promise<{ out: string; err: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? done({ out, err }) : reject(new Error(`node exited ${code}: ${err}`)),
    );
  });
}

/**
 * Imports the bundle with the worker's core API recording what the app registers, then invokes the `api`
 * function's handler once (a GET /api/me) with @azure/functions' own request and context, its durable client
 * input holding binding data. Prints the registrations and the answer.
 */
const PROBE = (file: string) => `
  import Module from 'node:module';
  const registered = [];
  const handlers = new Map();
  let model;
  const core = {
    setProgrammingModel(m) { model = m; },
    registerFunction(metadata, handler) { registered.push(metadata); handlers.set(metadata.name, handler); return { dispose() {} }; },
    registerHook() { return { dispose() {} }; },
    log() {},
  };
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
  };
  await import(${JSON.stringify(file)});
  const { HttpRequest, InvocationContext } = Module.createRequire(process.cwd() + '/')('@azure/functions');
  const api = registered.find((m) => m.name === 'api');
  const client = Object.entries(api.bindings).find(([, b]) => b.type === 'durableClient');
  const input = { type: 'durableClient', name: client[0] };
  const logs = [];
  const context = new InvocationContext({
    functionName: 'api',
    options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [input], extraOutputs: [] },
    logHandler: (level, ...args) => logs.push(level + ': ' + args.join(' ')),
  });
  context.extraInputs.set(input, { taskHubName: 'Hub', creationUrls: {}, managementUrls: {}, baseUrl: 'http://localhost:7071/runtime/webhooks/durabletask', requiredQueryStringParameters: 'code=x', rpcBaseUrl: 'http://127.0.0.1:17071/durabletask/' });
  const answer = await handlers.get('api')(new HttpRequest({ method: 'GET', url: 'https://app.example.net/api/me' }), context);
  console.log(JSON.stringify({ model: { name: model.name, version: model.version }, registered, answer, logs }));`;

describe('the Azure functions bundle', () => {
  it('ships host.json: the v4 host, Durable Functions from the extension bundle, the task hub from an app setting, no route prefix', () => {
    const host = JSON.parse(readFileSync(join(bundle.dir, 'host.json'), 'utf8')) as typeof HOST_JSON;
    expect(host).toEqual(HOST_JSON);
    expect(host).toMatchObject({
      version: '2.0',
      extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
      extensions: { http: { routePrefix: '' }, durableTask: { hubName: `%${TASK_HUB_SETTING}%` } },
    });
  });

  it('ships a package.json whose main is the bundle, with nothing to install', () => {
    const manifest = JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js', dependencies: {} });
    expect(existsSync(join(bundle.dir, manifest.main as string))).toBe(true);
    const metafile = JSON.parse(readFileSync(join(bundle.dir, 'metafile.json'), 'utf8')) as {
      outputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
    };
    const externals = Object.values(metafile.outputs)
      .flatMap((o) => o.imports)
      .filter((i) => i.external && !isBuiltin(i.path))
      .map((i) => i.path);
    expect([...new Set(externals)]).toEqual(['@azure/functions-core']);
  });

  it('carries the template gallery and the built dashboard beside index.js', () => {
    const ids = (entries: Array<{ id: string }>) => entries.map((t) => t.id);
    expect(ids(bundledGallery(bundle.dir))).toEqual(ids(readGallery(join(ROOT, 'templates'))));
    const built = readFileSync(join(ROOT, 'dist', 'web', 'index.html'), 'utf8');
    expect(readFileSync(join(bundle.dir, 'web', 'index.html'), 'utf8')).toBe(built);
  });

  it('registers exactly the app functions with the worker in plain Node; a missing setting is a generic 500, named in the log', async () => {
    const { out } = await runNode(PROBE(pathToFileURL(bundle.file).href));
    const probe = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
      model: { name: string };
      registered: Array<{
        name: string;
        bindings: Record<string, { type: string; route?: string; authLevel?: string; schedule?: string }>;
      }>;
      answer: { status: number; jsonBody: unknown };
      logs: string[];
    };
    expect(probe.model.name).toBe('@azure/functions');
    const kinds = Object.fromEntries(
      probe.registered.map((f) => [
        f.name,
        Object.values(f.bindings)
          .map((b) => b.type)
          .sort(),
      ]),
    );
    expect(kinds).toEqual({
      api: ['durableClient', 'http', 'httpTrigger'],
      schedules: ['durableClient', 'timerTrigger'],
      housekeeping: ['timerTrigger'],
      [AZURE_ORCHESTRATOR]: ['orchestrationTrigger'],
      ...Object.fromEntries(AZURE_ACTIVITIES.map((a) => [azureFunctionName(a), ['activityTrigger']])),
    });
    const trigger = (name: string, type: string) =>
      Object.values(probe.registered.find((f) => f.name === name)?.bindings ?? {}).find(
        (b) => b.type === type,
      );
    expect(trigger('api', 'httpTrigger')).toMatchObject({ route: '{*path}', authLevel: 'anonymous' });
    expect(trigger('schedules', 'timerTrigger')).toMatchObject({ schedule: '0 * * * * *' });
    expect(trigger('housekeeping', 'timerTrigger')).toMatchObject({ schedule: '30 */10 * * * *' });
    expect(probe.answer).toEqual({
      status: 500,
      jsonBody: { error: { code: 'internal', message: "api failed; the function's log has the detail" } },
    });
    expect(probe.logs.join('\n')).toMatch(/STEPGATE_TABLES_ENDPOINT (is not set|must be)/);
  }, 60_000);
});
