// Shared pieces of the notification tests: a vault on in-memory SQLite, a notify request, and a fake HTTP
// service on 127.0.0.1 that records every request exactly as a real service would receive it.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { ActivityError } from '../../functions/core/ports.js';
import type { Identity, NotifyRequest } from '../../functions/core/protocol.js';

export const ALICE: Identity = {
  email: 'alice@example.com',
  role: 'employee',
  groups: ['finance', 'staff'],
  manager: 'bob@example.com',
};

export function request(overrides: Partial<NotifyRequest> = {}): NotifyRequest {
  return {
    workflowId: 'expense-approval',
    runId: 'run-1',
    stepId: 'notify_paid',
    visit: 1,
    attempt: 1,
    idempotencyKey: 'run-1:notify_paid:1',
    identity: ALICE,
    channel: 'email',
    to: ['alice@example.com'],
    subject: 'Expense paid',
    message: 'Paid (ref ch_123)',
    ...overrides,
  };
}

export function memoryVault(): { vault: SqliteVault; db: Db } {
  const db = openDatabase(':memory:');
  return { vault: new SqliteVault(db, randomBytes(32)), db };
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeService {
  url: string;
  requests: Recorded[];
  /** What the next requests get (default 200 `{"ok":true}`). */
  respond(
    handler: (req: Recorded) => { status: number; body: string; headers?: Record<string, string> },
  ): void;
  close(): Promise<void>;
}

export async function fakeService(): Promise<FakeService> {
  const requests: Recorded[] = [];
  let handler = (_req: Recorded) => ({
    status: 200,
    body: '{"ok":true}',
    headers: {} as Record<string, string>,
  });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const answer = handler(recorded);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(h) {
      handler = (req) => {
        const a = h(req);
        return { status: a.status, body: a.body, headers: a.headers ?? {} };
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The ActivityError `promise` rejects with (fails the test when it resolves or throws something else). */
export async function failure(promise: Promise<unknown>): Promise<ActivityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ActivityError);
  return error as ActivityError;
}
