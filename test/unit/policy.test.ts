// The policy check (role, write, rate limits) and the SQLite rate limiter behind it, on real SQLite files.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import {
  checkPolicy,
  type PolicyConfig,
  PolicyConfigSchema,
  type PolicyTool,
  parseRateLimit,
  toolWrites,
} from '../../functions/core/policy.js';
import type { RateLimiter } from '../../functions/core/ports.js';
import { ROLES, type Role } from '../../translator/definition.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function dbFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'stepgate-policy-')), 'stepgate.db');
}

function limiterOn(file = dbFile()): SqliteRateLimiter {
  const db = openDatabase(file);
  open.push(db);
  return new SqliteRateLimiter(db);
}

const READ_TOOL: PolicyTool = { server: 'directory', name: 'lookup', annotations: { readOnlyHint: true } };
const WRITE_TOOL: PolicyTool = { server: 'payments', name: 'charge', annotations: { readOnlyHint: false } };

function user(role: string, groups: string[] = ['finance']) {
  return { email: `${role}@example.com`, role, groups };
}

async function check(
  role: string,
  tool: PolicyTool,
  config: PolicyConfig,
  limiter: RateLimiter = limiterOn(),
) {
  return checkPolicy({ identity: user(role), tool, config, limiter, now: NOW });
}

describe('checkPolicy: role and write rules', () => {
  // Role defaults: viewers may not call write tools, members and above may.
  const byDefault: [Role, 'read' | 'write', 'allow' | 'minRole' | 'write'][] = [
    ['viewer', 'read', 'allow'],
    ['viewer', 'write', 'write'],
    ['member', 'read', 'allow'],
    ['member', 'write', 'allow'],
    ['lead', 'read', 'allow'],
    ['lead', 'write', 'allow'],
    ['manager', 'read', 'allow'],
    ['manager', 'write', 'allow'],
    ['director', 'read', 'allow'],
    ['director', 'write', 'allow'],
    ['admin', 'read', 'allow'],
    ['admin', 'write', 'allow'],
  ];
  it.each(byDefault)('with the defaults, %s calling a %s tool: %s', async (role, kind, expected) => {
    const result = await check(role, kind === 'read' ? READ_TOOL : WRITE_TOOL, {});
    expect(result.allowed ? 'allow' : result.rule).toBe(expected);
  });

  // Both tools need manager: below it the minRole rule denies before the write rule is looked at.
  const withMinRole: [Role, 'read' | 'write', 'allow' | 'minRole' | 'write'][] = [
    ['viewer', 'read', 'minRole'],
    ['viewer', 'write', 'minRole'],
    ['member', 'read', 'minRole'],
    ['member', 'write', 'minRole'],
    ['lead', 'read', 'minRole'],
    ['lead', 'write', 'minRole'],
    ['manager', 'read', 'allow'],
    ['manager', 'write', 'allow'],
    ['director', 'read', 'allow'],
    ['director', 'write', 'allow'],
    ['admin', 'read', 'allow'],
    ['admin', 'write', 'allow'],
  ];
  const managerOnly: PolicyConfig = {
    tools: { 'directory/lookup': { minRole: 'manager' }, 'payments/charge': { minRole: 'manager' } },
  };
  it.each(withMinRole)('with minRole manager, %s calling a %s tool: %s', async (role, kind, expected) => {
    const result = await check(role, kind === 'read' ? READ_TOOL : WRITE_TOOL, managerOnly);
    expect(result.allowed ? 'allow' : result.rule).toBe(expected);
  });

  it('follows policy.roles over the role defaults', async () => {
    const config: PolicyConfig = { roles: { viewer: { write: true }, member: { write: false } } };
    expect((await check('viewer', WRITE_TOOL, config)).allowed).toBe(true);
    expect(await check('member', WRITE_TOOL, config)).toMatchObject({ allowed: false, rule: 'write' });
    expect((await check('lead', WRITE_TOOL, config)).allowed).toBe(true);
  });

  it('takes minRole from defaults when the tool has no entry', async () => {
    const config: PolicyConfig = { defaults: { minRole: 'lead' } };
    expect(await check('member', READ_TOOL, config)).toMatchObject({ allowed: false, rule: 'minRole' });
    expect((await check('lead', READ_TOOL, config)).allowed).toBe(true);
  });

  it('prefers a server/tool entry over a bare tool entry, which applies to any server', async () => {
    const config: PolicyConfig = {
      tools: { charge: { minRole: 'admin' }, 'payments/charge': { minRole: 'member' } },
    };
    expect((await check('member', WRITE_TOOL, config)).allowed).toBe(true);
    const otherServer = { ...WRITE_TOOL, server: 'billing' };
    expect(await check('director', otherServer, config)).toMatchObject({ allowed: false, rule: 'minRole' });
    const noServer = { ...WRITE_TOOL, server: null };
    expect(await check('director', noServer, config)).toMatchObject({ allowed: false, rule: 'minRole' });
  });

  it('names the rule, the roles and the tool in the message', async () => {
    const result = await check('member', WRITE_TOOL, {
      tools: { 'payments/charge': { minRole: 'manager' } },
    });
    expect(result).toMatchObject({
      allowed: false,
      rule: 'minRole',
      message: 'PolicyDenied: role member is below minRole manager for payments/charge',
    });
    expect(await check('viewer', WRITE_TOOL, {})).toMatchObject({
      message: 'PolicyDenied: role viewer may not call write tool payments/charge',
    });
  });

  it('denies an identity whose role is not a known role', async () => {
    expect(await check('superuser', READ_TOOL, {})).toMatchObject({
      allowed: false,
      rule: 'role',
      message: `PolicyDenied: role superuser is not one of ${ROLES.join(', ')} (calling directory/lookup)`,
    });
  });

  it('records every check with its outcome for the run history', async () => {
    const allowed = await check('member', WRITE_TOOL, {
      tools: { 'payments/charge': { rateLimit: '10/hour' } },
    });
    expect(allowed.decisions).toEqual([
      { rule: 'minRole', outcome: 'allow', detail: 'role member >= minRole viewer' },
      { rule: 'write', outcome: 'allow', detail: 'write tool (annotations); role member may write' },
      { rule: 'rateLimit', outcome: 'allow', detail: '10/hour for member@example.com' },
    ]);
    const denied = await check('viewer', WRITE_TOOL, {});
    expect(denied.decisions).toEqual([
      { rule: 'minRole', outcome: 'allow', detail: 'role viewer >= minRole viewer' },
      { rule: 'write', outcome: 'deny', detail: 'write tool (annotations); role viewer may not write' },
      { rule: 'rateLimit', outcome: 'skipped', detail: 'not checked: write denied' },
    ]);
  });
});

describe('whether a tool writes', () => {
  const cases: [string, PolicyTool['annotations'], boolean][] = [
    ['no annotations at all (the safe default)', undefined, true],
    ['annotations without readOnlyHint (MCP: readOnlyHint defaults to false)', { title: 'Charge' }, true],
    ['readOnlyHint: true', { readOnlyHint: true }, false],
    ['readOnlyHint: false', { readOnlyHint: false }, true],
    ['destructiveHint: true', { destructiveHint: true }, true],
    [
      'readOnlyHint: true with destructiveHint: true (contradictory: write)',
      { readOnlyHint: true, destructiveHint: true },
      true,
    ],
    [
      'readOnlyHint: false with destructiveHint: false',
      { readOnlyHint: false, destructiveHint: false },
      true,
    ],
  ];
  it.each(cases)('%s', async (_, annotations, write) => {
    const tool: PolicyTool = { server: 'x', name: 'y', annotations };
    expect(toolWrites(tool, {}).write).toBe(write);
    expect((await check('viewer', tool, {})).allowed).toBe(!write);
  });

  it("lets the policy entry's write override the annotations either way", () => {
    const lying: PolicyTool = { server: 'x', name: 'y', annotations: { readOnlyHint: true } };
    expect(toolWrites(lying, { tools: { 'x/y': { write: true } } })).toEqual({ write: true, from: 'config' });
    const unannotated: PolicyTool = { server: 'x', name: 'y' };
    expect(toolWrites(unannotated, { tools: { y: { write: false } } })).toEqual({
      write: false,
      from: 'config',
    });
    expect(toolWrites(unannotated, {})).toEqual({ write: true, from: 'default' });
  });
});

describe('checkPolicy: rate limits', () => {
  it('allows the user limit and then denies naming the limit, the user and the tool', async () => {
    const limiter = limiterOn();
    const config: PolicyConfig = { tools: { 'payments/charge': { rateLimit: '2/hour' } } };
    expect((await check('member', WRITE_TOOL, config, limiter)).allowed).toBe(true);
    expect((await check('member', WRITE_TOOL, config, limiter)).allowed).toBe(true);
    expect(await check('member', WRITE_TOOL, config, limiter)).toMatchObject({
      allowed: false,
      rule: 'rateLimit',
      message: 'PolicyDenied: rateLimit 2/hour reached for member@example.com on payments/charge',
    });
    expect((await check('lead', WRITE_TOOL, config, limiter)).allowed).toBe(true);
  });

  it('counts a group limit across the members of the group', async () => {
    const limiter = limiterOn();
    const config: PolicyConfig = { tools: { 'payments/charge': { groupRateLimit: '2/day' } } };
    const call = (email: string, groups: string[]) =>
      checkPolicy({
        identity: { email, role: 'member', groups },
        tool: WRITE_TOOL,
        config,
        limiter,
        now: NOW,
      });
    expect((await call('a@example.com', ['finance'])).allowed).toBe(true);
    expect((await call('b@example.com', ['finance', 'sales'])).allowed).toBe(true);
    expect(await call('c@example.com', ['finance'])).toMatchObject({
      allowed: false,
      rule: 'groupRateLimit',
      message: 'PolicyDenied: groupRateLimit 2/day reached for group finance on payments/charge',
    });
    expect((await call('d@example.com', ['sales'])).allowed).toBe(true);
  });

  it('counts an org limit across everyone, and a call it refuses costs the caller nothing', async () => {
    const limiter = limiterOn();
    const config: PolicyConfig = {
      tools: { 'payments/charge': { rateLimit: '2/hour', orgRateLimit: '3/hour' } },
    };
    const call = (email: string) =>
      checkPolicy({
        identity: { email, role: 'member', groups: [] },
        tool: WRITE_TOOL,
        config,
        limiter,
        now: NOW,
      });
    expect((await call('a@example.com')).allowed).toBe(true);
    expect((await call('b@example.com')).allowed).toBe(true);
    expect((await call('b@example.com')).allowed).toBe(true);
    const refused = await call('a@example.com');
    expect(refused).toMatchObject({
      allowed: false,
      rule: 'orgRateLimit',
      message: 'PolicyDenied: orgRateLimit 3/hour reached for the org on payments/charge',
    });
    expect(refused.decisions.slice(2)).toEqual([
      {
        rule: 'rateLimit',
        outcome: 'skipped',
        detail: '2/hour for a@example.com not taken: another limit denied',
      },
      { rule: 'orgRateLimit', outcome: 'deny', detail: '3/hour reached for the org' },
    ]);
    // a@example.com used one of two: after the org window, its second call still fits.
    const later = NOW + 60 * MINUTE;
    const afterWindow = await checkPolicy({
      identity: { email: 'a@example.com', role: 'member', groups: [] },
      tool: WRITE_TOOL,
      config: { tools: { 'payments/charge': { rateLimit: '2/day' } } },
      limiter,
      now: later,
    });
    expect(afterWindow.allowed).toBe(true);
  });

  it('applies defaults.rateLimit to tools without their own', async () => {
    const limiter = limiterOn();
    const config: PolicyConfig = { defaults: { rateLimit: '1/minute' } };
    expect((await check('member', READ_TOOL, config, limiter)).allowed).toBe(true);
    expect(await check('member', READ_TOOL, config, limiter)).toMatchObject({
      allowed: false,
      rule: 'rateLimit',
    });
    expect((await check('member', WRITE_TOOL, config, limiter)).allowed).toBe(true);
  });

  it('does not count a call the role rules denied', async () => {
    const limiter = limiterOn();
    const config: PolicyConfig = {
      tools: { 'payments/charge': { rateLimit: '1/hour', minRole: 'manager' } },
    };
    expect((await check('member', WRITE_TOOL, config, limiter)).allowed).toBe(false);
    expect(await limiter.take('user:member@example.com|payments/charge', 1, 60 * MINUTE, NOW)).toBe(true);
  });
});

describe('SqliteRateLimiter', () => {
  const async = (limiter: SqliteRateLimiter, now = NOW) =>
    Promise.resolve().then(() => limiter.take('user:a@example.com|payments/charge', 10, MINUTE, now));

  it('lets exactly 10 of 100 concurrent takes through a 10/minute limit', async () => {
    const limiter = limiterOn();
    const results = await Promise.all(Array.from({ length: 100 }, () => async(limiter)));
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('prunes hits older than a cutoff for every key, keeping the newer ones counting', async () => {
    const limiter = limiterOn();
    for (const key of ['user:a', 'user:b']) {
      expect(await limiter.take(key, 2, MINUTE, NOW - 10 * MINUTE)).toBe(true);
      expect(await limiter.take(key, 2, 60 * MINUTE, NOW)).toBe(true);
    }
    expect(limiter.prune(NOW - MINUTE)).toBe(2);
    // The newer hit still counts against the hour: one more fits, the next does not.
    expect(await limiter.take('user:a', 2, 60 * MINUTE, NOW)).toBe(true);
    expect(await limiter.take('user:a', 2, 60 * MINUTE, NOW)).toBe(false);
  });

  it('counts together across two connections to the same file', async () => {
    const file = dbFile();
    const [a, b] = [limiterOn(file), limiterOn(file)];
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => async(i % 2 === 0 ? a : b)));
    expect(results.filter(Boolean)).toHaveLength(10);
  });

  it('counts together across four processes taking at the same time', async () => {
    // A limit of 200 against 4 × 200 takes keeps the processes contending for a while; they start together
    // at an agreed instant, so an unsynchronised count-then-insert would let more than 200 through.
    const file = dbFile();
    const script = join(file, '..', 'taker.mts');
    const url = (path: string) => pathToFileURL(join(ROOT, path)).href;
    writeFileSync(
      script,
      `import { openDatabase } from ${JSON.stringify(url('adapters/local/database.ts'))};
import { SqliteRateLimiter } from ${JSON.stringify(url('adapters/local/rate-limiter.ts'))};
const limiter = new SqliteRateLimiter(openDatabase(process.argv[2]));
process.stdout.write('ready\\n');
process.stdin.once('data', async (data) => {
  const startAt = Number(String(data).trim());
  while (Date.now() < startAt);
  let allowed = 0;
  for (let i = 0; i < 200; i++) if (await limiter.take('org|payments/charge', 200, 60000, ${NOW})) allowed++;
  process.stdout.write(\`allowed \${allowed}\\n\`);
  process.exit(0);
});
`,
    );
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', script, file], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const outputs = children.map(
      (child) =>
        new Promise<string>((resolve, reject) => {
          let text = '';
          child.stdout.on('data', (chunk: Buffer) => {
            text += chunk.toString();
          });
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
        }),
    );
    await Promise.all(children.map((child) => new Promise((resolve) => child.stdout.once('data', resolve))));
    const startAt = Date.now() + 200;
    for (const child of children) child.stdin.end(`${startAt}\n`);
    const allowed = (await Promise.all(outputs)).map((text) => Number(/allowed (\d+)/.exec(text)?.[1]));
    expect(allowed.reduce((sum, n) => sum + n, 0)).toBe(200);
  });

  it('keeps its count when the database is reopened', async () => {
    const file = dbFile();
    const first = limiterOn(file);
    for (let i = 0; i < 10; i++) expect(await async(first)).toBe(true);
    for (const db of open.splice(0)) db.close();
    const reopened = limiterOn(file);
    expect(await async(reopened)).toBe(false);
    expect(await async(reopened, NOW + MINUTE)).toBe(true);
  });

  it('slides the window: a call counts for exactly windowMs after it was allowed', async () => {
    const limiter = limiterOn();
    const take = (now: number) => limiter.take('k', 10, MINUTE, now);
    for (let i = 0; i < 5; i++) expect(await take(NOW)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await take(NOW + 30_000)).toBe(true);
    expect(await take(NOW + 59_999)).toBe(false);
    // The five calls at NOW leave the window at NOW + 1 minute; the five at +30s are still in it.
    for (let i = 0; i < 5; i++) expect(await take(NOW + MINUTE)).toBe(true);
    expect(await take(NOW + MINUTE)).toBe(false);
    expect(await take(NOW + 89_999)).toBe(false);
    expect(await take(NOW + 90_000)).toBe(true);
  });

  it('takes every bucket or none', async () => {
    const limiter = limiterOn();
    const buckets = [
      { key: 'user', limit: 5, windowMs: MINUTE },
      { key: 'org', limit: 1, windowMs: MINUTE },
    ];
    expect(await limiter.takeAll(buckets, NOW)).toEqual({ allowed: true });
    expect(await limiter.takeAll(buckets, NOW)).toEqual({ allowed: false, key: 'org' });
    for (let i = 0; i < 4; i++) expect(await limiter.take('user', 5, MINUTE, NOW)).toBe(true);
    expect(await limiter.take('user', 5, MINUTE, NOW)).toBe(false);
  });
});

describe('PolicyConfigSchema', () => {
  it('accepts the documented shape', () => {
    const config = {
      defaults: { minRole: 'viewer', rateLimit: '60/minute' },
      roles: { viewer: { write: false }, member: { write: true } },
      tools: {
        'payments/charge': { minRole: 'manager', write: true, rateLimit: '10/hour', orgRateLimit: '100/day' },
        lookup: { groupRateLimit: '5/second' },
      },
    };
    expect(PolicyConfigSchema.parse(config)).toEqual(config);
    expect(PolicyConfigSchema.parse({})).toEqual({});
  });

  it('explains a malformed rate limit, an unknown role and an unknown key', () => {
    const problems = (value: unknown) =>
      PolicyConfigSchema.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(problems({ tools: { charge: { rateLimit: '10 per hour' } } })).toEqual([
      "tools.charge.rateLimit: invalid rate limit '10 per hour': use N/second, N/minute, N/hour or N/day (e.g. 10/hour)",
    ]);
    expect(problems({ defaults: { minRole: 'boss' } })[0]).toMatch(/^defaults\.minRole: /);
    expect(problems({ roles: { boss: { write: true } } })).not.toEqual([]);
    expect(problems({ tools: { charge: { minrole: 'admin' } } })[0]).toMatch(/minrole/);
  });

  it('parses rate limits into a count and a window', () => {
    expect(parseRateLimit('10/hour')).toEqual({ limit: 10, windowMs: 3_600_000 });
    expect(parseRateLimit('5/second')).toEqual({ limit: 5, windowMs: 1_000 });
    expect(parseRateLimit('1/day')).toEqual({ limit: 1, windowMs: 86_400_000 });
  });
});
