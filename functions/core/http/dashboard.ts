// The dashboard (web/, built by Vite into dist/web) served beside the API, by the local server and the GCP
// api function (AWS serves it from S3 behind CloudFront with the same CSP): hashed assets under /assets
// cached for a year, every other GET outside /api and /approve answered with index.html so the app's own
// routes (/workflows/…, /runs/…) survive a reload. Without a build (no dist/web) `/` says how to make one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

/** The first of `dirs` holding a built dashboard (an index.html), or undefined. */
export function dashboardDir(...dirs: string[]): string | undefined {
  return dirs.find((dir) => existsSync(join(dir, 'index.html')));
}

/** The dashboard's Content-Security-Policy, here and behind CloudFront (infra/aws/dashboard.ts). */
export const DASHBOARD_CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy': DASHBOARD_CSP,
};

// biome-ignore lint/suspicious/noExplicitAny: mounts on whatever app the host built, whatever its Env.
export function mountDashboard(app: Hono<any>, dir: string | undefined): void {
  if (dir === undefined) {
    app.get('/', (c) =>
      c.text('The dashboard is not built: run `npm run build` (the API is at /api/openapi.json).', 503),
    );
    return;
  }
  const index = readFileSync(join(dir, 'index.html'), 'utf8');
  // Headers set after serveStatic answered (its onFound runs once the response is made, too late for them).
  app.use('/assets/*', async (c, next) => {
    await next();
    if (c.res.status !== 200) return;
    c.res.headers.set('cache-control', 'public, max-age=31536000, immutable');
    c.res.headers.set('x-content-type-options', 'nosniff');
  });
  app.use('/assets/*', serveStatic({ root: dir }));
  app.use('/favicon.svg', serveStatic({ root: dir }));
  app.get('*', async (c, next) => {
    const path = c.req.path;
    if (
      path.startsWith('/api/') ||
      path === '/api' ||
      path.startsWith('/approve/') ||
      path.startsWith('/assets/')
    )
      return next();
    return c.body(index, 200, PAGE_HEADERS);
  });
}
