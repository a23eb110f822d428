// `npm run bundle:azure`: the Azure Functions app's one bundle (functions/azure/index.ts → dist-azure/index.js,
// with esbuild's metafile), the host.json the Functions host reads, a package.json whose `main` is the
// bundle, the template gallery (templates/) and the built dashboard (web/, from dist/web: `npm run build`
// first) beside it — the folder to publish (`func azure functionapp publish <app>` or a zip deploy). ESM
// for Node.js 22, minified, built as the Lambda bundles are (scripts/bundle-lambdas.ts: the `require`
// banner, zod's English only, no native module), and offline: nothing is fetched.
//
// Everything is bundled, @azure/functions and durable-functions included, but `@azure/functions-core`:
// that module is not a package but the Functions Node.js worker's own API, which it hands to whoever
// `require`s it (the library registers each function through it), so it must stay a runtime require. The
// package.json therefore lists no dependency: nothing is installed on deploy.
//
// host.json (HOST_JSON): the Functions v4 host; Durable Functions from the extension bundle [4.*, 5.0.0);
// the task hub named by the app setting STEPGATE_TASK_HUB (so two deployments sharing a storage account
// keep their instances apart); `routePrefix: ""`, so the catch-all sees the app's own paths (/api/...,
// /approve/..., the dashboard's) rather than /api/api/...; a 10-minute function timeout (the longest tool
// call, notification or approval request an activity makes is far shorter; the schedules' timer settles a
// fire left claimed after 30 minutes); Application Insights sampling that never drops requests or
// exceptions, and the Durable Task framework's chatter at Warning.
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ENV } from '../functions/azure/config.js';
import { BANNER, galleryFiles, NativeModuleError, nativeInputs, ZOD_ENGLISH_ONLY } from './bundle-lambdas.js';

const ROOT = resolve(import.meta.dirname, '..');
export const AZURE_BUNDLE_DIR = join(ROOT, 'dist-azure');
/** The Functions worker's own module (see the top). */
export const WORKER_CORE = '@azure/functions-core';
/** The app setting holding the Durable Functions task hub's name. */
export const TASK_HUB_SETTING = ENV.taskHub;

/** The host.json the Functions host reads beside the bundle (see the top). */
export const HOST_JSON = {
  version: '2.0',
  extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
  functionTimeout: '00:10:00',
  extensions: {
    http: { routePrefix: '' },
    durableTask: { hubName: `%${TASK_HUB_SETTING}%` },
  },
  logging: {
    applicationInsights: {
      samplingSettings: { isEnabled: true, excludedTypes: 'Request;Exception' },
    },
    logLevel: {
      default: 'Information',
      'DurableTask.AzureStorage': 'Warning',
      'DurableTask.Core': 'Warning',
    },
  },
} as const;

export interface AzureBundle {
  dir: string;
  file: string;
  bytes: number;
}

/** The package.json published beside the bundle. */
function manifest(): Record<string, unknown> {
  return {
    name: 'stepgate-azure-functions',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '22' },
    dependencies: {},
  };
}

/** Builds dist-azure/ (or `outdir`); throws NativeModuleError when the bundle would take in native code. */
export async function bundleAzure(outdir = AZURE_BUNDLE_DIR): Promise<AzureBundle> {
  const web = join(ROOT, 'dist', 'web');
  if (!existsSync(join(web, 'index.html')))
    throw new Error(
      'the dashboard is not built (dist/web): run `npm run build` before `npm run bundle:azure`',
    );
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.js');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'functions', 'azure', 'index.ts')],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'node',
    mainFields: ['module', 'main'],
    target: 'node22',
    minify: true,
    external: [WORKER_CORE],
    banner: { js: BANNER },
    plugins: [ZOD_ENGLISH_ONLY],
    metafile: true,
    logLevel: 'silent',
  });
  const native = nativeInputs(result.metafile);
  if (native.length > 0)
    throw new NativeModuleError(`the Azure functions bundle takes in native code:\n  ${native.join('\n  ')}`);
  writeFileSync(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(manifest(), null, 2)}\n`);
  writeFileSync(join(outdir, 'host.json'), `${JSON.stringify(HOST_JSON, null, 2)}\n`);
  // The setup and the template routes read the gallery beside the bundle (bundledGallery).
  mkdirSync(join(outdir, 'templates'));
  for (const f of galleryFiles()) copyFileSync(join(ROOT, 'templates', f), join(outdir, 'templates', f));
  // The catch-all serves the dashboard from web/ beside the bundle (functions/azure/api.ts).
  cpSync(web, join(outdir, 'web'), { recursive: true });
  return { dir: outdir, file, bytes: statSync(file).size };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  bundleAzure()
    .then((b) => console.log(`${b.file}  ${(b.bytes / 1024).toFixed(1)} KiB`))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
}
