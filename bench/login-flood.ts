// A wrong-password flood against the local server (`npm start`'s server in its own process, fresh data
// folder per scenario, the config's default limits): autocannon with 64 connections from 127.0.0.1 posts
// wrong passwords for ~15 s while a real user logs in with the right one, one login after another, from
// 127.0.0.2 (another client as the server sees it). Reported: the real user's login latency (p50/p90/p99)
// and statuses, and the flood's status mix (401 wrong password, 429 throttled, 503 hash queue full).
//
// Scenarios: the flood on another account; the flood on the real user's own account; and, for
// comparison, the flood spread over many accounts with the throttle's limits raised out of reach (so only
// the bounded hashing stands between the flood and the user: what a flood from many addresses looks like).
//
//   npm run bench:login     (BENCH_SECONDS=15, BENCH_CONNECTIONS=64, BENCH_LOGINS=80)
// Goal: the real user's p99 ≤ 1 s while the flood runs. Needs `npm run build` (it starts dist/).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

const ROOT = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const LOGINS = Number(process.env.BENCH_LOGINS ?? 80);
const PASSWORD = 'bench-password';
const USER = 'real@example.com';

interface Scenario {
  name: string;
  /** The account the flood guesses at, per request. */
  target: (n: number) => string;
  /** Extra config (the limits section) appended to the users. */
  limits: string;
  /** Whether the goal applies (not to the comparison without a throttle). */
  goal: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'flood on another account', target: () => 'other@example.com', limits: '', goal: true },
  { name: "flood on the real user's account", target: () => USER, limits: '', goal: true },
  {
    name: 'flood over many accounts, throttle out of reach (hash gate only)',
    target: (n) => `nobody${n}@example.com`,
    limits:
      'limits:\n  login:\n    perAddress: { max: 100000000 }\n    perAccountAddress: { max: 100000000 }\n    perAccount: { max: 100000000 }\n',
    goal: false,
  },
];

/** Starts dist/functions/local/server.js on a fresh data folder; its port and how to stop it. */
async function startServer(limits: string): Promise<{ port: number; stop(): Promise<void> }> {
  const home = mkdtempSync(join(tmpdir(), 'stepgate-bench-login-'));
  const config = join(home, 'stepgate.config.yaml');
  writeFileSync(
    config,
    `directory:\n  demoPassword: ${PASSWORD}\n  users:\n    - { email: ${USER}, role: member }\n    - { email: other@example.com, role: member }\n${limits}`,
  );
  const env = { ...process.env, PORT: '0', STEPGATE_HOME: home, STEPGATE_CONFIG: config };
  const server = spawn(process.execPath, [join(ROOT, 'dist', 'functions', 'local', 'server.js')], { env });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /running on http:\/\/[^:]+:(\d+)/.exec(out);
      if (found?.[1]) resolve(Number(found[1]));
    });
    server.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  return {
    port,
    stop: async () => {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** One login from `localAddress`: its status and how long it took (ms). */
function loginFrom(port: number, localAddress: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/api/login',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ email: USER, password: PASSWORD }));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function run(scenario: Scenario): Promise<boolean> {
  const server = await startServer(scenario.limits);
  try {
    // A running server: the login path compiled and the database warm before the flood begins.
    await loginFrom(server.port, '127.0.0.2');
    const statuses = new Map<number, number>();
    let sequence = 0;
    const flood = autocannon({
      url: `http://127.0.0.1:${server.port}/api/login`,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({
            ...req,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: scenario.target(++sequence), password: 'wrong password' }),
          }),
          onResponse: (status) => {
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          },
        },
      ],
    });
    // The user starts once the flood is under way, and stops when it ends (or after BENCH_LOGINS).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const user: { status: number; ms: number }[] = [];
    let flooding = true;
    void flood.then(() => {
      flooding = false;
    });
    while (flooding && user.length < LOGINS) user.push(await loginFrom(server.port, '127.0.0.2'));
    const result = await flood;

    const ms = user.map((u) => u.ms).sort((a, b) => a - b);
    const userStatuses = [...new Set(user.map((u) => u.status))]
      .map((s) => `${s}×${user.filter((u) => u.status === s).length}`)
      .join(' ');
    const mix = [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}×${n}`)
      .join(' ');
    const p99 = percentile(ms, 99);
    console.log(`\n${scenario.name}`);
    console.log(
      `  flood: ${CONNECTIONS} connections, ${SECONDS} s, ${result.requests.total} requests (${(result.requests.total / SECONDS).toFixed(0)}/s): ${mix}; ${result.errors} errors`,
    );
    console.log(
      `  real user from 127.0.0.2: ${user.length} logins (${userStatuses}); ms p50 ${percentile(ms, 50).toFixed(0)}, p90 ${percentile(ms, 90).toFixed(0)}, p99 ${p99.toFixed(0)}, max ${(ms.at(-1) ?? 0).toFixed(0)}`,
    );
    return p99 <= 1_000 && user.every((u) => u.status === 200);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const met: boolean[] = [];
  for (const scenario of SCENARIOS) {
    const ok = await run(scenario);
    if (scenario.goal) met.push(ok);
  }
  console.log(
    `RESULT goal(real user p99<=1s, all 200)=${met.map((m) => (m ? 'MET' : 'MISSED')).join('/')} load=${loadavg()
      .map((l) => l.toFixed(2))
      .join('/')}`,
  );
}

await main();
