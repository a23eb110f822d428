// The dashboard beside the local API (functions/core/http/dashboard.ts, which the GCP api function mounts
// too): the built page for the app's routes with its security headers, hashed assets cached for good.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../functions/core/http/dashboard.js';
import { E2eServer } from '../e2e/support.js';

describe('the dashboard on the local server', () => {
  let s: E2eServer;
  beforeAll(async () => {
    s = await E2eServer.start();
  }, 60_000);
  afterAll(async () => {
    await s?.dispose();
  });

  it('answers its routes with the built page and its assets with a year of caching', async () => {
    const built = readFileSync(join(import.meta.dirname, '..', '..', 'dist', 'web', 'index.html'), 'utf8');
    for (const path of ['/', '/workflows/expense-approval']) {
      const page = await fetch(new URL(path, s.url));
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(await page.text()).toBe(built);
    }
    const asset = /\/assets\/[^"]+\.js/.exec(built)?.[0] ?? '';
    const script = await fetch(new URL(asset, s.url));
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(new URL('/assets/missing.js', s.url))).status).toBe(404);
  });
});
