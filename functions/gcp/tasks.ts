// The Cloud Tasks queue between the functions that must answer at once and the work that answers a workflow
// later. Cloud Run throttles an instance's CPU once it has sent its response, so `tool-call` and `notify`
// cannot acknowledge and keep working: they enqueue the request as an HTTP task for the `worker` function
// (an OIDC token of the functions' service account, audience the worker's URL: Cloud Run checks it), and
// the worker's own request does the work. Delayed wakes (backoff and resolve-time in a parallel branch) and
// the run timeout are tasks with a scheduleTime.
//
// Each task is named by a hash of what it does (the activity attempt, the wake URL, the run): Cloud Tasks
// refuses a second task of one name (ALREADY_EXISTS), so a workflow re-posting the same request enqueues
// it once; the name is hashed since sequential names slow a queue down. A task is scheduled at most
// MAX_SCHEDULE_MS ahead (Cloud Tasks' limit is 30 days): a later one hops, carrying `due`, and the worker
// enqueues it again until it is due.
import { createHash } from 'node:crypto';
import type { CloudTasksClient } from '@google-cloud/tasks';
import { idempotencyKey } from '../core/protocol.js';
import type { GcpNotifyBody, GcpToolCallBody } from '../core/wire.js';

/** What the worker is asked to do: an activity (the request as the workflow posted it), a wake, a timeout. */
export type WorkerWork =
  | GcpToolCallBody
  | GcpNotifyBody
  | { kind: 'wake'; wakeUrl: string }
  | { kind: 'run.timeout'; runId: string };

/** A task's body: the work, and when a hop was due (see the top). */
export type WorkerTask = WorkerWork & { due?: number };

export interface TaskQueue {
  /**
   * Enqueues `work` for the worker, at `at` (ms since epoch) or at once. A second enqueue of the same work
   * (the same `taskId`) is a no-op.
   */
  enqueue(work: WorkerWork, at?: number): Promise<void>;
}

/** What a task does, as a name: the activity attempt, the wake's URL, the run whose timeout it is. */
export function taskId(work: WorkerWork): string {
  switch (work.kind) {
    case 'tool.call':
    case 'notify.send':
      return `${work.kind}:${idempotencyKey(work.runId, work.stepId, work.visit, work.attempt)}`;
    case 'wake':
      return `wake:${work.wakeUrl}`;
    case 'run.timeout':
      return `run.timeout:${work.runId}`;
  }
}

/** The furthest ahead a task is scheduled: a day short of Cloud Tasks' 30. */
export const MAX_SCHEDULE_MS = 29 * 24 * 3_600_000;

export interface CloudTasksQueueOptions {
  client: CloudTasksClient;
  /** `projects/P/locations/L/queues/Q` */
  queue: string;
  workerUrl: string;
  /** The service account whose OIDC token the task carries (the functions' own). */
  serviceAccount: string;
  now?: () => number;
}

/** ALREADY_EXISTS as gax reports it: gRPC's code 6, or HTTP 409 over the REST transport. */
const ALREADY_EXISTS = new Set([6, 409]);

export class CloudTasksQueue implements TaskQueue {
  private readonly now: () => number;

  constructor(private readonly options: CloudTasksQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  async enqueue(work: WorkerWork, at?: number): Promise<void> {
    const { client, queue, workerUrl, serviceAccount } = this.options;
    const hop = at !== undefined && at - this.now() > MAX_SCHEDULE_MS;
    const scheduled = hop ? this.now() + MAX_SCHEDULE_MS : at;
    const body: WorkerTask = hop ? { ...work, due: at } : work;
    const id = taskId(work);
    const name = `${queue}/tasks/${createHash('sha256')
      .update(hop ? `${id}@${scheduled}` : id)
      .digest('hex')}`;
    try {
      await client.createTask({
        parent: queue,
        task: {
          name,
          ...(scheduled === undefined ? {} : { scheduleTime: timestamp(scheduled) }),
          httpRequest: {
            url: workerUrl,
            httpMethod: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify(body)),
            oidcToken: { serviceAccountEmail: serviceAccount, audience: workerUrl },
          },
        },
      });
    } catch (error) {
      if (ALREADY_EXISTS.has((error as { code?: number }).code ?? 0)) return;
      throw error;
    }
  }
}

function timestamp(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

/**
 * Schedules a run's timeout: at `at` the worker calls the host's timeOut(runId). The run host calls it when
 * it starts an execution whose workflow has a timeout.
 */
export function scheduleRunTimeout(queue: TaskQueue, runId: string, at: number): Promise<void> {
  return queue.enqueue({ kind: 'run.timeout', runId }, at);
}
