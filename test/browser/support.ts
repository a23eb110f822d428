// Browser tests: the real server (startServer, a fresh data folder, the repository's config) serving the
// built dashboard (dist/web: `npm test` builds it first; by hand, `npx vite build web`), driven by
// playwright-core in Debian's Chromium (`apt-get install -y chromium`). Each user gets their own browser
// context, logged in through the API, so two people can act on one run side by side.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { VirtualClock } from '../../adapters/local/clock.js';
import type { Clock } from '../../functions/core/ports.js';
import { type RunningServer, startServer } from '../../functions/local/server.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const PASSWORD = 'stepgate-demo';
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots for review land here (ignored by git). */
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

export interface Stack {
  server: RunningServer;
  browser: Browser;
  home: string;
  /** A browser context logged in as `email` (the demo password), with its console errors collected. */
  login(email: string, options?: { viewport?: { width: number; height: number } }): Promise<UserContext>;
  /** A context with nobody logged in. */
  anonymous(): Promise<UserContext>;
  close(): Promise<void>;
}

export interface UserContext {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far in this context's pages. */
  errors: string[];
}

export async function startStack(options: { clock?: Clock } = {}): Promise<Stack> {
  const home = mkdtempSync(join(tmpdir(), 'stepgate-browser-'));
  const server = await startServer(
    { PORT: '0', STEPGATE_HOME: home, STEPGATE_CONFIG: join(ROOT, 'stepgate.config.yaml') },
    options.clock ? { clock: options.clock } : {},
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const open = async (viewport = { width: 1280, height: 800 }): Promise<UserContext> => {
    const context = await browser.newContext({ baseURL: server.url, viewport });
    const errors: string[] = [];
    context.on('page', (page) => watch(page, errors));
    const page = await context.newPage();
    return { context, page, errors };
  };
  return {
    server,
    browser,
    home,
    anonymous: () => open(),
    async login(email, options = {}) {
      const user = await open(options.viewport);
      const response = await user.context.request.post('/api/login', { data: { email, password: PASSWORD } });
      if (!response.ok()) throw new Error(`login as ${email}: ${response.status()} ${await response.text()}`);
      return user;
    },
    async close() {
      await browser.close();
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

function watch(page: Page, errors: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
}

/** Saves a full-page screenshot under test-output/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A virtual clock starting now, for tests that move time (approval timeouts, schedules). */
export function virtualNow(): VirtualClock {
  return new VirtualClock(Date.now());
}
