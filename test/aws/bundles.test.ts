// The Lambda bundles (scripts/bundle-lambdas.ts): every entry point builds without a native module and
// under the 1.5 MB budget, a bundle that would take one in fails naming it, and a built bundle runs: the
// quorum bundle is imported by plain Node (no TypeScript loader, `@aws-sdk/*` resolved outside the bundle
// as the Lambda runtime provides it) and its handler counts branches on moto_server's DynamoDB.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, openTable } from '../../adapters/aws/table.js';
import { LAMBDA_NAMES } from '../../functions/aws/config.js';
import {
  BUNDLE_BUDGET_BYTES,
  type BundleReport,
  bundleLambdas,
  nativeInputs,
} from '../../scripts/bundle-lambdas.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

let moto: Moto;
let reports: BundleReport[];

beforeAll(async () => {
  moto = await startMoto();
  reports = await bundleLambdas();
  console.log(reports.map((r) => `${r.name}: ${(r.bytes / 1024).toFixed(1)} KiB`).join('\n'));
}, 120_000);

afterAll(async () => {
  await moto?.stop();
});

/** Runs `script` (an ES module) in a plain Node process with `env`; answers what it printed. */
function runNode(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
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
      code === 0 ? resolve(out) : reject(new Error(`node exited ${code}: ${err}`)),
    );
  });
}

describe('the Lambda bundles', () => {
  it('builds every entry point, none over 1.5 MB unzipped', () => {
    expect(reports.map((r) => r.name)).toEqual([...LAMBDA_NAMES]);
    for (const r of reports) expect(r.bytes, r.name).toBeLessThan(BUNDLE_BUDGET_BYTES);
  });

  it('loads every built bundle in plain Node, each exporting its handler', async () => {
    // A dependency whose code fails when it loads (a UMD main requiring its parts by computed paths, as
    // jsonc-parser's did) breaks only here, at the import, never at the build.
    const imports = reports.map(
      (r) =>
        `{ const m = await import(${JSON.stringify(pathToFileURL(r.file).href)}); console.log(${JSON.stringify(r.name)}, typeof m.handler); }`,
    );
    const out = await runNode(imports.join('\n'), {});
    expect(out.trim().split('\n')).toEqual(reports.map((r) => `${r.name} function`));
  });

  it('finds a native module in a bundle that takes one in, naming who imports it', async () => {
    const { metafile } = await build({
      entryPoints: [join(import.meta.dirname, '..', '..', 'adapters', 'local', 'database.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(nativeInputs(metafile)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/better-sqlite3.*imported by adapters\/local\/database\.ts/),
      ]),
    );
  });

  it("runs the built quorum bundle in plain Node against moto's DynamoDB", async () => {
    const clients = { ...MOTO_CLIENT, endpoint: moto.endpoint };
    const table = openTable('stepgate-bundle', clients);
    await createTable(table);
    table.client.destroy();
    const bundle = reports.find((r) => r.name === 'quorum')?.file ?? '';
    const finish = (branch: number, written: Record<string, string>) => ({
      activity: 'quorum',
      ctx: {
        runId: 'run-1',
        workflowId: 'w',
        identity: { email: 'a@example.com', role: 'member', groups: [], manager: null },
      },
      stepId: 'par',
      branch,
      branches: 2,
      require: 2,
      outcome: 'succeeded',
      written,
    });
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const first = await handler(${JSON.stringify(finish(0, { a: '1' }))}, {});
      try {
        await handler(${JSON.stringify(finish(1, { b: '2' }))}, {});
        console.log(JSON.stringify({ first, second: 'answered' }));
      } catch (error) {
        console.log(JSON.stringify({ first, errorType: error.name, cause: JSON.parse(error.message) }));
      }`;
    const out = await runNode(script, {
      AWS_REGION: MOTO_CLIENT.region,
      AWS_ACCESS_KEY_ID: MOTO_CLIENT.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CLIENT.credentials.secretAccessKey,
      AWS_ENDPOINT_URL: moto.endpoint,
      STEPGATE_TABLE: 'stepgate-bundle',
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '')).toEqual({
      first: null,
      errorType: 'Stepgate.QuorumReached',
      cause: { a: '1', b: '2' },
    });
  });
});
