// What the GCP functions' tests run them with: each function on a functions-framework server of its own on
// loopback (getTestServer, the framework's own Express app), a Cloud Tasks stand-in on the recording Google
// fake (test/support/google-fake.ts) that takes the exact createTask requests the client library sends and
// then delivers each task to its HTTP target as Cloud Tasks does (the body decoded, the headers it was given,
// an OIDC bearer, at its scheduleTime, again on any non-2xx answer, once per task name: a second createTask
// of a name is ALREADY_EXISTS), and a receiver standing for the Workflows callback endpoints, recording what
// is posted with which bearer token.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { type FakeRequest, type GoogleFake, startGoogleFake } from './google-fake.js';

/** The OIDC token the stand-in presents to a task's target (Cloud Run would verify a real one). */
export const OIDC_TOKEN = 'fake-oidc-token';

export interface CreatedTask {
  /** The createTask request as the client library sent it. */
  request: FakeRequest;
  name: string;
  url: string;
  headers: Record<string, string>;
  /** The task's body, decoded from base64 and parsed. */
  body: unknown;
  scheduleTime: string | undefined;
  oidcToken: { serviceAccountEmail: string; audience: string } | undefined;
  /** Each delivery's answer status, in order. */
  deliveries: number[];
  /** Settles once a delivery answered 2xx (or the stand-in gave up). */
  done: Promise<void>;
}

export interface CloudTasksStandIn {
  fake: GoogleFake;
  tasks: CreatedTask[];
  /** Every createTask request, refused ones included. */
  creates(): FakeRequest[];
  /** Delivers a task once more, as Cloud Tasks may (at least once); answers the status. */
  redeliver(task: CreatedTask): Promise<number>;
  close(): Promise<void>;
}

const MAX_DELIVERIES = 10;
const RETRY_MS = 50;

async function deliver(task: CreatedTask): Promise<number> {
  const answer = await fetch(task.url, {
    method: 'POST',
    headers: { ...task.headers, authorization: `Bearer ${OIDC_TOKEN}` },
    body: JSON.stringify(task.body),
  });
  await answer.arrayBuffer();
  task.deliveries.push(answer.status);
  return answer.status;
}

/** Delivers at the scheduled time, then again after each non-2xx answer (up to MAX_DELIVERIES). */
async function dispatch(task: CreatedTask): Promise<void> {
  const at = task.scheduleTime === undefined ? Date.now() : Date.parse(task.scheduleTime);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
  for (let n = 0; n < MAX_DELIVERIES; n++) {
    const status = await deliver(task).catch(() => 599);
    if (status >= 200 && status < 300) return;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

export async function startCloudTasks(): Promise<CloudTasksStandIn> {
  const tasks: CreatedTask[] = [];
  const fake = await startGoogleFake([
    'POST /v2/projects/:project/locations/:location/queues/:queue/tasks',
    (request) => {
      const { task } = request.body as {
        task: {
          name: string;
          scheduleTime?: string;
          httpRequest: {
            url: string;
            headers?: Record<string, string>;
            body?: string;
            oidcToken?: CreatedTask['oidcToken'];
          };
        };
      };
      if (tasks.some((t) => t.name === task.name))
        return {
          status: 409,
          body: { error: { code: 409, message: 'task exists', status: 'ALREADY_EXISTS' } },
        };
      const created: CreatedTask = {
        request,
        name: task.name,
        url: task.httpRequest.url,
        headers: task.httpRequest.headers ?? {},
        body: JSON.parse(Buffer.from(task.httpRequest.body ?? '', 'base64').toString('utf8')),
        scheduleTime: task.scheduleTime,
        oidcToken: task.httpRequest.oidcToken,
        deliveries: [],
        done: Promise.resolve(),
      };
      created.done = dispatch(created);
      tasks.push(created);
      return { body: { ...task, dispatchCount: 0 } };
    },
  ]);
  return {
    fake,
    tasks,
    creates: () => fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/tasks')),
    redeliver: deliver,
    close: async () => {
      await Promise.all(tasks.map((t) => t.done));
      await fake.close();
    },
  };
}

export interface Posted {
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface CallbackReceiver {
  /** The callback base: every callback URL of the tests is under it. */
  base: string;
  posts: Posted[];
  /** Answers the next posts to `path` with `status` (once each, in order). */
  answerNext(path: string, ...statuses: number[]): void;
  /** Resolves with the first post to `path` (already made or to come). */
  next(path: string): Promise<Posted>;
  close(): Promise<void>;
}

/** A stand-in for the Workflows callback endpoints: records each POST, answers 200 unless told otherwise. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const posts: Posted[] = [];
  const planned = new Map<string, number[]>();
  const waiting: Array<{ path: string; resolve: (p: Posted) => void }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://receiver').pathname;
      const status = planned.get(path)?.shift() ?? 200;
      const post: Posted = {
        path,
        authorization: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
      };
      if (status === 200) {
        posts.push(post);
        for (const w of waiting.filter((x) => x.path === path)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(post);
        }
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/callbacks/`,
    posts,
    answerNext: (path, ...statuses) => planned.set(path, [...(planned.get(path) ?? []), ...statuses]),
    next: (path) => {
      const made = posts.find((p) => p.path === path);
      if (made !== undefined) return Promise.resolve(made);
      return new Promise((resolve) => waiting.push({ path, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FunctionServers {
  /** Each function's URL, by name. */
  url(name: string): string;
  close(): Promise<void>;
}

/** Serves each registered function on a framework server of its own, on a free loopback port. */
export async function serveFunctions(names: readonly string[]): Promise<FunctionServers> {
  const servers = new Map<string, { server: Server; url: string }>();
  for (const name of names) {
    const server = getTestServer(name);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.set(name, { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
  }
  return {
    url: (name) => {
      const found = servers.get(name);
      if (found === undefined) throw new Error(`no function ${name} is served`);
      return found.url;
    },
    close: async () => {
      for (const { server } of servers.values())
        await new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
    },
  };
}
