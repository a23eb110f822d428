// The dashboard (web/, built by Vite into dist/web) served beside the API: hashed assets under /assets
// cached for a year, every other GET outside /api and /approve answered with index.html so the app's own
// routes (/workflows/…, /runs/…) survive a reload. Without a build (dist/web missing) `/` says how to make one.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';

/** dist/web from the compiled server (dist/functions/local) or from the sources under tsx. */
export function dashboardDir(): string | undefined {
  const up = resolve(import.meta.dirname, '..', '..');
  const dir = basename(up) === 'dist' ? join(up, 'web') : join(up, 'dist', 'web');
  return existsSync(join(dir, 'index.html')) ? dir : undefined;
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
export function mountDashboard(app: Hono<any>, dir = dashboardDir()): void {
  if (dir === undefined) {
    app.get('/', (c) =>
      c.text('The dashboard is not built: run `npm run build` (the API is at /api/openapi.json).', 503),
    );
    return;
  }
  const index = readFileSync(join(dir, 'index.html'), 'utf8');
  app.use(
    '/assets/*',
    serveStatic({
      root: dir,
      onFound: (_path, c) => {
        c.header('cache-control', 'public, max-age=31536000, immutable');
        c.header('x-content-type-options', 'nosniff');
      },
    }),
  );
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
