// Webhook to run started: accepted deliveries per second and latency through the local server
// (`npm start`'s server in its own process, fresh data folder), driven by autocannon with a distinct
// Standard Webhooks id and signature per request; then "none lost": every accepted delivery has exactly
// one run. The workflow parks on a delay, so what is measured is acceptance and the run's creation.
//
//   npm run bench:webhooks     (BENCH_SECONDS=10, BENCH_CONNECTIONS=50, BENCH_NODE_FLAGS for the server)
// Goal (issue 6): 2,000 accepted webhooks/s, p99 under 50 ms on this machine, none lost.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { signWebhook } from '../functions/core/triggers/webhook.js';

const ROOT = join(import.meta.dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECRET = `whsec_${Buffer.from('bench-webhook-secret-0123456789ab').toString('base64')}`;
const WORKFLOW = `version: 1
id: bench-hook
name: Bench hook
triggers: [{ type: webhook, auth: signature, runAs: hook@example.com }]
inputs: { type: object, required: [n], properties: { n: { type: number } } }
steps:
  - { id: park, type: delay, duration: 1h }
`;

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'stepgate-bench-'));
  const config = join(home, 'stepgate.config.yaml');
  writeFileSync(
    config,
    'directory:\n  demoPassword: bench-password\n  users:\n    - { email: admin@example.com, role: admin }\n    - { email: hook@example.com, role: member, service: true }\n',
  );
  const env = { ...process.env, PORT: '0', STEPGATE_HOME: home, STEPGATE_CONFIG: config };
  // BENCH_NODE_FLAGS: flags for the server's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...flags, join(ROOT, 'dist', 'functions', 'local', 'server.js')], {
    env,
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /running on (http:\/\/\S+)/.exec(out);
      if (found?.[1]) resolve(found[1]);
    });
    server.on('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  try {
    // The workflow, as an admin would install it; its secret, as an operator would set it.
    const login = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: 'bench-password' }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrf } = (await login.json()) as { csrf: string };
    const put = await fetch(`${url}/api/workflows/bench-hook`, {
      method: 'PUT',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/yaml' },
      body: WORKFLOW,
    });
    if (put.status !== 201) throw new Error(`installing the workflow: ${put.status}`);
    const cli = spawnSync(
      process.execPath,
      [
        join(ROOT, 'dist', 'cli', 'stepgate.js'),
        'vault',
        'set',
        '--scope',
        'org',
        '--db',
        join(home, 'stepgate.db'),
        '--key-file',
        join(home, 'master.key'),
        'webhook.bench-hook',
      ],
      { input: SECRET, encoding: 'utf8' },
    );
    if (cli.status !== 0) throw new Error(`setting the secret: ${cli.stderr}`);

    let sequence = 0;
    const accepted = new Set<string>();
    // The server's CPU time (user + system, all threads) over the run: per accepted delivery it says what a
    // request costs whatever else the machine is doing, which the rate alone does not on a shared machine.
    const cpuBefore = processCpuMs(server.pid);
    const result = await autocannon({
      url: `${url}/api/workflows/bench-hook/run`,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          setupRequest: (request) => {
            const id = `msg_${++sequence}`;
            const timestamp = Math.floor(Date.now() / 1000);
            const body = JSON.stringify({ n: sequence });
            return {
              ...request,
              body,
              headers: {
                'content-type': 'application/json',
                'webhook-id': id,
                'webhook-timestamp': String(timestamp),
                'webhook-signature': signWebhook({ secret: SECRET, id, timestamp, body }),
              },
            };
          },
          onResponse: (status, body) => {
            if (status === 201) accepted.add((JSON.parse(body) as { runId: string }).runId);
          },
        },
      ],
    });
    // None lost: every accepted delivery's run exists, and every claimed delivery has exactly one run.
    // (Requests still in flight when autocannon stops are claimed and started without being counted as
    // accepted, so the server is given a moment to finish them.)
    const cpuMs = processCpuMs(server.pid) - cpuBefore;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const db = new Database(join(home, 'stepgate.db'), { readonly: true });
    const ids = new Set(
      (db.prepare("SELECT id FROM runs WHERE workflow_id = 'bench-hook'").all() as Array<{ id: string }>).map(
        (r) => r.id,
      ),
    );
    const claims = db
      .prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE workflow_id = 'bench-hook'")
      .get() as { n: number };
    const orphans = db
      .prepare(
        "SELECT COUNT(*) AS n FROM webhook_deliveries d LEFT JOIN runs r ON r.id = d.run_id WHERE d.workflow_id = 'bench-hook' AND r.id IS NULL",
      )
      .get() as { n: number };
    db.close();
    const missing = [...accepted].filter((id) => !ids.has(id)).length;
    const ok = result['2xx'];
    const rate = ok / SECONDS;
    console.log(
      `connections ${CONNECTIONS}, ${SECONDS} s: ${result.requests.total} requests, ${ok} accepted (2xx), ${result.non2xx} refused, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
    console.log(
      `accepted/s: mean ${rate.toFixed(0)} (per-second mean ${result.requests.mean.toFixed(0)}, p50 ${result.requests.p50})`,
    );
    console.log(
      `latency ms: p50 ${result.latency.p50}, p90 ${result.latency.p90}, p99 ${result.latency.p99}, max ${result.latency.max}`,
    );
    console.log(
      `server CPU: ${cpuMs.toFixed(0)} ms over ${SECONDS} s = ${(cpuMs / Math.max(ok, 1)).toFixed(3)} ms per accepted delivery (one core's worth: ${(1000 / (cpuMs / Math.max(ok, 1))).toFixed(0)}/s)`,
    );
    console.log(
      `runs in the database: ${ids.size}; delivery claims: ${claims.n} (${orphans.n} without a run); accepted run ids: ${accepted.size}, ${missing} of them without a run`,
    );
    const lost = missing > 0 || orphans.n > 0 || ids.size !== claims.n || accepted.size !== ok;
    console.log(
      `RESULT accepted_per_s=${rate.toFixed(0)} p99_ms=${result.latency.p99} lost=${lost ? 'YES' : 0} goal(2000/s,p99<50ms)=${rate >= 2000 && result.latency.p99 < 50 && !lost ? 'MET' : 'MISSED'} load=${loadavg()
        .map((l) => l.toFixed(2))
        .join('/')}`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
}

/** User + system CPU time of a process so far (ms), from /proc (Linux). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the command: state is field 3; utime and stime are fields 14 and 15, in clock ticks (100/s).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

await main();
