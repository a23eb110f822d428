// `npm run bundle:lambdas`: one esbuild bundle per Lambda entry point (functions/aws/<name>.ts →
// dist-lambda/<name>/index.mjs, with esbuild's metafile beside it), as the CDK stack deploys them on the
// Node.js 22 runtime: ESM, minified, `@aws-sdk/*` left out because that runtime ships the AWS SDK for
// JavaScript v3 (since Node.js 18), and a `require` made with createRequire for the CommonJS dependencies
// an ESM bundle still calls it from. A Lambda bundle must not need a native module (no `.node` addon, no
// package built with node-gyp such as better-sqlite3): the build fails naming the module and who imports
// it. Prints each bundle's size (the goal: under 1.5 MB unzipped, for cold starts).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { LAMBDA_NAMES, type LambdaName } from '../functions/aws/config.js';

const ROOT = resolve(import.meta.dirname, '..');
/** Where the bundles go: dist-lambda/<name>/index.mjs (the CDK's Code.fromAsset takes the folder). */
export const BUNDLE_DIR = join(ROOT, 'dist-lambda');
/** The size each bundle should stay under, unzipped. */
export const BUNDLE_BUDGET_BYTES = 1.5 * 1024 * 1024;

// Banner text: `require` for bundled CommonJS code, under names no module of the bundle uses.
export const BANNER = [
  "import { createRequire as __stepgateCreateRequire } from 'node:module';",
  'const require = __stepgateCreateRequire(import.meta.url);',
].join('\n');

/**
 * zod's `z.locales` namespace re-exports every language's messages (about 250 KiB minified), kept whole
 * because `z` is used as an object. Stepgate writes its own messages and never calls `z.locales`; English,
 * zod's default, is imported by zod directly and stays.
 */
export const ZOD_ENGLISH_ONLY: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/** The functions that read the template gallery (functions/aws/templates.ts): it ships beside their bundle. */
export const WITH_TEMPLATES: readonly LambdaName[] = ['api', 'setup'];

/** The gallery's workflow files (not their scenario files), which WITH_TEMPLATES' bundles carry. */
export function galleryFiles(): string[] {
  const dir = join(ROOT, 'templates');
  return readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.includes('.test.'));
}

/** Dependencies that load a compiled addon, whatever they are called. */
const NATIVE_LOADERS = [
  'bindings',
  'node-gyp-build',
  'prebuild-install',
  '@mapbox/node-pre-gyp',
  'node-addon-api',
];

export interface BundleReport {
  name: LambdaName;
  file: string;
  bytes: number;
  metafile: string;
}

export class NativeModuleError extends Error {
  override name = 'NativeModuleError';
}

/** The package folder an input of the metafile belongs to (`node_modules/<pkg>` or `<@scope>/<pkg>`). */
function packageRoot(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

/** Whether a package is (or loads) a native addon: node-gyp built, or depending on an addon loader. */
function isNativePackage(root: string): boolean {
  const manifest = join(ROOT, root, 'package.json');
  if (existsSync(join(ROOT, root, 'binding.gyp'))) return true;
  if (!existsSync(manifest)) return false;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    gypfile?: boolean;
    dependencies?: Record<string, string>;
  };
  return pkg.gypfile === true || NATIVE_LOADERS.some((loader) => pkg.dependencies?.[loader] !== undefined);
}

/** Every native input of a bundle, each with a module that imports it; empty when there is none. */
export function nativeInputs(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const input of Object.keys(metafile.inputs)) {
    const root = packageRoot(input);
    if (!input.endsWith('.node') && (root === undefined || !isNativePackage(root))) continue;
    const importer = Object.entries(metafile.inputs).find(([, other]) =>
      other.imports.some((i) => i.path === input),
    )?.[0];
    found.push(`${input}${importer === undefined ? '' : ` (imported by ${importer})`}`);
  }
  return found;
}

/** Builds the bundle of one entry point; throws NativeModuleError when it takes in a native module. */
async function bundleOne(name: LambdaName, outRoot: string): Promise<BundleReport> {
  const outdir = join(outRoot, name);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const file = join(outdir, 'index.mjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'functions', 'aws', `${name}.ts`)],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'node',
    // ESM builds first: a UMD main (jsonc-parser's, which translator/source.ts imports) requires its parts
    // by computed paths when it loads, which no bundle can resolve ("Cannot find module './impl/format'").
    mainFields: ['module', 'main'],
    target: 'node22',
    minify: true,
    external: ['@aws-sdk/*'],
    banner: { js: BANNER },
    plugins: [ZOD_ENGLISH_ONLY],
    metafile: true,
    logLevel: 'silent',
  });
  const native = nativeInputs(result.metafile);
  if (native.length > 0)
    throw new NativeModuleError(
      `the ${name} Lambda bundle takes in native code, which a Lambda bundle must not need:\n  ${native.join('\n  ')}`,
    );
  const metafile = join(outdir, 'metafile.json');
  writeFileSync(metafile, JSON.stringify(result.metafile));
  if (WITH_TEMPLATES.includes(name)) {
    mkdirSync(join(outdir, 'templates'));
    for (const f of galleryFiles()) copyFileSync(join(ROOT, 'templates', f), join(outdir, 'templates', f));
  }
  return { name, file, bytes: statSync(file).size, metafile };
}

/** Builds every entry point (or those named) into `outRoot`; answers each bundle's size. */
export async function bundleLambdas(
  names: readonly LambdaName[] = LAMBDA_NAMES,
  outRoot = BUNDLE_DIR,
): Promise<BundleReport[]> {
  const reports: BundleReport[] = [];
  for (const name of names) reports.push(await bundleOne(name, outRoot));
  return reports;
}

function formatSize(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  bundleLambdas()
    .then((reports) => {
      for (const r of reports) {
        const over = r.bytes > BUNDLE_BUDGET_BYTES ? '  over the 1.5 MB budget' : '';
        console.log(`${r.name.padEnd(18)} ${formatSize(r.bytes).padStart(11)}  ${dirname(r.file)}${over}`);
      }
    })
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
}
