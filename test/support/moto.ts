// moto_server (Python moto, preinstalled on these machines) on a free loopback port: the real AWS wire
// protocols (DynamoDB with transactions and TTL, KMS, S3, SES v2, Secrets Manager, Scheduler, Step
// Functions) for the AWS adapters' tests. Missing, it fails the suite loudly; it is never skipped.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export interface Moto {
  /** `http://127.0.0.1:<port>`: the endpoint every AWS client of the test is given. */
  endpoint: string;
  /** Forgets everything moto holds (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * moto_server's own app, served one request at a time. moto_server serves requests on threads, and its
 * TransactWriteItems is not isolated from a concurrent request (it applies item by item and, cancelled,
 * restores a copy of the table taken before it began, undoing what others wrote meanwhile); DynamoDB
 * serialises conflicting requests, so the race tests need moto to as well.
 */
const SERIAL_SERVER = `
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
`;

/** Credentials and region moto accepts; never real ones. */
export const MOTO_CLIENT = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
} as const;

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface MotoOptions {
  /** Variables added to moto's environment, e.g. MOTO_PORT (where its Step Functions interpreter calls Lambda). */
  env?: Record<string, string>;
  /** Python run before the server starts (after moto is imported), e.g. a fix of moto's own. */
  prelude?: string;
}

/** Starts moto_server and waits (up to 30 s) until it answers; throws when it is not installed. */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const check = spawnSync('moto_server', ['--help'], { encoding: 'utf8' });
  if (check.error !== undefined || check.status !== 0)
    throw new Error(
      'moto_server is not installed: the AWS adapters are tested against it (pip install "moto[server]"); ' +
        `running it failed: ${check.error?.message ?? check.stderr}`,
    );
  // moto's app is served by the Python that has moto (the one on PATH, as moto_server's own shebang uses).
  const python = spawnSync('python3', ['-c', 'import moto.moto_server.werkzeug_app'], { encoding: 'utf8' });
  if (python.error !== undefined || python.status !== 0)
    throw new Error(
      `python3 on PATH cannot import moto's server app, which the tests serve one request at a time: ${python.error?.message ?? python.stderr}`,
    );
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const script = options.prelude === undefined ? SERIAL_SERVER : `${options.prelude}\n${SERIAL_SERVER}`;
  const child: ChildProcess = spawn('python3', ['-c', script, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4_000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const answer = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      if (answer.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    reset: async () => {
      const answer = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!answer.ok) throw new Error(`moto reset answered ${answer.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
