// `npm run bundle:gcp`: the GCP deployment's one bundle (functions/gcp/index.ts → dist-gcp/index.mjs, with
// esbuild's metafile, a package.json, the template gallery (templates/) and the built dashboard (web/, from
// dist/web: `npm run build` first) beside it), the source every Cloud
// Run function is deployed from — the deployment uploads dist-gcp/ and picks each function by its entry point
// (FUNCTION_TARGET). ESM for Node.js 22, minified, built as the Lambda bundles are
// (scripts/bundle-lambdas.ts: the `require` banner, zod's English only, no native module). The Google Cloud
// packages stay outside the bundle and become the package.json's dependencies (the buildpack installs them):
// the framework that serves the function (the buildpack's `functions-framework --target=<name>`) and the one
// index.mjs registers its functions with must be the same module, or the target is not found; and the
// gax-based clients read their protos from files beside their own code (`__dirname`), which no single-file
// ESM bundle has. Only the packages the bundle imports are listed, at the versions tested here. `gcp-build`
// is empty: nothing else is built.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { BANNER, galleryFiles, NativeModuleError, nativeInputs, ZOD_ENGLISH_ONLY } from './bundle-lambdas.js';

const ROOT = resolve(import.meta.dirname, '..');
export const GCP_BUNDLE_DIR = join(ROOT, 'dist-gcp');
export const FRAMEWORK = '@google-cloud/functions-framework';
/** Left to npm on deploy (see the top). */
const EXTERNAL = [FRAMEWORK, '@google-cloud/*', 'google-gax', 'google-auth-library'];

export interface GcpBundle {
  dir: string;
  file: string;
  bytes: number;
}

/** The packages an external import of the bundle names (`@scope/name` or `name`), sorted. */
function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const i of output.imports) {
      if (!i.external || isBuiltin(i.path)) continue;
      names.add(
        i.path
          .split('/')
          .slice(0, i.path.startsWith('@') ? 2 : 1)
          .join('/'),
      );
    }
  return [...names].sort();
}

/** The installed version of a package. */
function versionOf(name: string): string {
  const manifest = readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

/** The package.json the deployment uploads beside the bundle. */
function manifest(dependencies: string[]): Record<string, unknown> {
  return {
    name: 'stepgate-gcp-functions',
    private: true,
    type: 'module',
    main: 'index.mjs',
    engines: { node: '22' },
    scripts: { 'gcp-build': '' },
    dependencies: Object.fromEntries(dependencies.map((name) => [name, versionOf(name)])),
  };
}

/** Builds dist-gcp/ (or `outdir`); throws NativeModuleError when the bundle would take in native code. */
export async function bundleGcp(outdir = GCP_BUNDLE_DIR): Promise<GcpBundle> {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'functions', 'gcp', 'index.ts')],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'node',
    mainFields: ['module', 'main'],
    target: 'node22',
    minify: true,
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [ZOD_ENGLISH_ONLY],
    metafile: true,
    logLevel: 'silent',
  });
  const native = nativeInputs(result.metafile);
  if (native.length > 0)
    throw new NativeModuleError(`the GCP functions bundle takes in native code:\n  ${native.join('\n  ')}`);
  writeFileSync(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));
  writeFileSync(
    join(outdir, 'package.json'),
    `${JSON.stringify(manifest(externalPackages(result.metafile)), null, 2)}\n`,
  );
  // The API's setup and template routes read the gallery beside the bundle (bundledGallery).
  mkdirSync(join(outdir, 'templates'));
  for (const f of galleryFiles()) copyFileSync(join(ROOT, 'templates', f), join(outdir, 'templates', f));
  // The api serves the dashboard from web/ beside the bundle (functions/gcp/api.ts).
  const web = join(ROOT, 'dist', 'web');
  if (!existsSync(join(web, 'index.html')))
    throw new Error('the dashboard is not built (dist/web): run `npm run build` before `npm run bundle:gcp`');
  cpSync(web, join(outdir, 'web'), { recursive: true });
  return { dir: outdir, file, bytes: statSync(file).size };
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  bundleGcp()
    .then((b) => console.log(`${b.file}  ${(b.bytes / 1024).toFixed(1)} KiB`))
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
}
