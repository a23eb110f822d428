// The GCP functions' bundle (scripts/bundle-gcp.ts): it builds without native code, ships the package.json
// the deployment uploads (the Google packages it imports as dependencies, no build step) and the template
// gallery beside it, and runs in plain Node: imported as the framework's buildpack imports it, its functions
// are registered with the framework the script loads beside it, answer a GET 405, and a function started
// without its settings fails its request with a generic 500 while its log names the missing variable.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledGallery, readGallery } from '../../functions/core/template-gallery.js';
import { bundleGcp, FRAMEWORK, type GcpBundle } from '../../scripts/bundle-gcp.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
let bundle: GcpBundle;

beforeAll(async () => {
  bundle = await bundleGcp();
}, 120_000);

/** Runs `script` (an ES module) in plain Node from the repository root; answers stdout and stderr. */
function runNode(script: string): Promise<{ out: string; err: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', METADATA_SERVER_DETECTION: 'none' },
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

describe('the GCP functions bundle', () => {
  it('ships a package.json whose main is the bundle and whose dependencies are the Google packages it imports', () => {
    const manifest = JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      type: 'module',
      main: 'index.mjs',
      scripts: { 'gcp-build': '' },
      dependencies: { [FRAMEWORK]: expect.stringMatching(/^\d+\.\d+\.\d+$/) },
    });
    const dependencies = Object.keys(manifest.dependencies as object);
    expect(dependencies).toEqual(
      expect.arrayContaining([FRAMEWORK, '@google-cloud/tasks', 'google-auth-library']),
    );
    for (const name of dependencies) expect(name).toMatch(/^(@google-cloud\/|google-)/);
  });

  it("carries the template gallery beside index.mjs, where the api's setup reads it", () => {
    const ids = (entries: Array<{ id: string }>) => entries.map((t) => t.id);
    expect(ids(bundledGallery(bundle.dir))).toEqual(ids(readGallery(join(ROOT, 'templates'))));
    expect(ids(bundledGallery(bundle.dir)).length).toBeGreaterThan(0);
  });

  it('carries the built dashboard beside index.mjs, where the api serves it from', () => {
    const built = readFileSync(join(ROOT, 'dist', 'web', 'index.html'), 'utf8');
    expect(readFileSync(join(bundle.dir, 'web', 'index.html'), 'utf8')).toBe(built);
    const asset = /\/assets\/[^"]+\.js/.exec(built)?.[0];
    expect(asset).toBeDefined();
    expect(existsSync(join(bundle.dir, 'web', asset ?? ''))).toBe(true);
  });

  it('registers every function with the framework in plain Node; a missing setting is logged by name', async () => {
    const script = `
      await import(${JSON.stringify(pathToFileURL(bundle.file).href)});
      const { getTestServer } = await import('${FRAMEWORK}/testing');
      const server = getTestServer('tool-call');
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const url = 'http://127.0.0.1:' + server.address().port + '/';
      const get = await fetch(url);
      const post = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      console.log(JSON.stringify({ get: get.status, post: post.status, body: await post.json() }));
      server.close();`;
    const { out, err } = await runNode(script);
    expect(JSON.parse(out.trim())).toEqual({
      get: 405,
      post: 500,
      body: { error: { code: 'internal', message: "tool-call failed; the function's log has the detail" } },
    });
    expect(err).toContain('STEPGATE_TASKS_QUEUE is not set');
  });
});
