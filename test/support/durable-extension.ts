// A loopback stand-in of the Durable Functions extension's HTTP API, as durable-functions v3's DurableClient
// calls it (node_modules/durable-functions/lib/src/durableClient/DurableClient.js, the `rpcBaseUrl` branch the
// Functions host's binding data selects) and as the extension answers it (Azure/azure-functions-durable-
// extension HttpApiHandler):
//
//   POST {rpc}orchestrators/{functionName}[/{instanceId}]   body: the input as JSON (may be empty)
//        202 + the management payload ({id, statusQueryGetUri, ...}, Location); 409 when a running or pending
//        instance has the id; 400 for an unknown orchestrator or input that is not JSON
//   POST {rpc}instances/{id}/raiseEvent/{eventName}          body: the event data as JSON, application/json
//        202; 404 unknown instance; 410 an ended one; 400 another content type or bad JSON
//   POST {rpc}instances/{id}/terminate?reason={text}          202; 404; 410 an ended instance
//   GET  {rpc}instances/{id}                                   200 (ended) / 202 (running, Location, Retry-After)
//        with {name, instanceId, runtimeStatus, input, customStatus, output, createdTime, lastUpdatedTime}; 404
//
// Paths are URL-decoded segment by segment, as the extension decodes them. Every request is recorded (method,
// path, query, content type, body) for tests to check. Each started instance runs the real orchestrator
// (stepgateOrchestrator) on DfReplayHost (testing/azure-replay.ts: durable-functions' own Orchestrator fed DF
// wire history) with the given activity handlers. `redeliver` names activities delivered twice, the second
// delivery's answer the one the orchestration gets (at-least-once, a first completion lost).
//
// The client comes from `df.getClient` over an InvocationContext holding the binding data the extension hands
// a function with the durable client input binding (`client()`), the way the Functions app gets its client.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { SystemClock } from '../../adapters/local/clock.js';
import { stepgateOrchestrator } from '../../functions/azure/durable-context.js';
import type { Clock, TimerHandle } from '../../functions/core/ports.js';
import { DfReplayHost, type ReplayActivity } from '../../testing/azure-replay.js';
import { AZURE_ORCHESTRATOR } from '../../translator/emit/azure-durable.js';

const TASK_HUB = 'StepgateHub';
const KEY = 'stand-in-system-key';

/**
 * The system clock, moved on by at least 1 ms per reading: the extension's queue hops put milliseconds between
 * an orchestrator episode and the activities it schedules; on loopback they would share one.
 */
export class TickingClock implements Clock {
  private last = 0;
  private readonly system = new SystemClock();
  now(): number {
    this.last = Math.max(Date.now(), this.last + 1);
    return this.last;
  }
  setTimer(at: number, fire: () => void): TimerHandle {
    return this.system.setTimer(at, fire);
  }
  clearTimer(handle: TimerHandle): void {
    this.system.clearTimer(handle);
  }
}

export interface RecordedRequest {
  method: string;
  /** The path as sent (not decoded). */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: string;
}

interface Instance {
  host: DfReplayHost;
  input: unknown;
  createdAt: number;
}

export interface DurableExtensionOptions {
  activities: Readonly<Record<string, ReplayActivity>>;
  clock?: Clock;
  redeliver?: readonly string[];
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

export class DurableExtension {
  readonly requests: RecordedRequest[] = [];
  readonly instances = new Map<string, Instance>();
  readonly clock: Clock;
  private origin = '';
  private readonly activities: Readonly<Record<string, ReplayActivity>>;

  private constructor(
    private readonly server: Server,
    options: DurableExtensionOptions,
  ) {
    this.clock = options.clock ?? new TickingClock();
    const twice = new Set(options.redeliver ?? []);
    this.activities = Object.fromEntries(
      Object.entries(options.activities).map(([name, run]) => [
        name,
        twice.has(name) ? deliveredTwice(run) : run,
      ]),
    );
  }

  static async start(options: DurableExtensionOptions): Promise<DurableExtension> {
    let extension: DurableExtension | undefined;
    const server = createServer((req, res) => void extension?.serve(req, res));
    extension = new DurableExtension(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    extension.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return extension;
  }

  /** The durable client binding's data, as the extension hands it to a function (rpcBaseUrl selects the RPC API). */
  binding(): Record<string, unknown> {
    const webhooks = `${this.origin}/runtime/webhooks/durabletask`;
    const suffix = `taskHub=${TASK_HUB}&connection=Storage&code=${KEY}`;
    const instance = `${webhooks}/instances/INSTANCEID`;
    return {
      taskHubName: TASK_HUB,
      creationUrls: {
        createNewInstancePostUri: `${webhooks}/orchestrators/{functionName}[/{instanceId}]?code=${KEY}`,
        createAndWaitOnNewInstancePostUri: `${webhooks}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${KEY}`,
      },
      managementUrls: this.managementUrls('INSTANCEID', instance, suffix),
      baseUrl: webhooks,
      requiredQueryStringParameters: `code=${KEY}`,
      rpcBaseUrl: `${this.origin}/durabletask/`,
    };
  }

  /** A DurableClient as `df.getClient` builds it in a function with the durable client input binding. */
  client(): df.DurableClient {
    const binding = df.input.durableClient();
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: 'api',
      options: { extraInputs: [binding] },
    });
    context.extraInputs.set(binding, this.binding());
    return df.getClient(context);
  }

  /** Resolves once no instance has an activity running or a batch waiting. */
  async settle(): Promise<void> {
    for (;;) {
      const busy = [...this.instances.values()].some((i) => i.host.running && i.host.pending() > 0);
      if (!busy) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** The requests to the RPC API since `from`. */
  since(from: number): RecordedRequest[] {
    return this.requests.slice(from);
  }

  async close(): Promise<void> {
    for (const instance of this.instances.values()) instance.host.close();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private managementUrls(id: string, instance: string, suffix: string): Record<string, string> {
    return {
      id,
      statusQueryGetUri: `${instance}?${suffix}`,
      sendEventPostUri: `${instance}/raiseEvent/{eventName}?${suffix}`,
      terminatePostUri: `${instance}/terminate?reason={text}&${suffix}`,
      rewindPostUri: `${instance}/rewind?reason={text}&${suffix}`,
      purgeHistoryDeleteUri: `${instance}?${suffix}`,
      restartPostUri: `${instance}/restart?${suffix}`,
      suspendPostUri: `${instance}/suspend?reason={text}&${suffix}`,
      resumePostUri: `${instance}/resume?reason={text}&${suffix}`,
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.origin);
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(request);
    let answer: Answer;
    try {
      answer = this.route(request);
    } catch (error) {
      answer = { status: 500, body: { Message: String(error) } };
    }
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    res.end(body);
  }

  private route(request: RecordedRequest): Answer {
    if (!request.path.startsWith('/durabletask/')) return { status: 404 };
    const segments = request.path.slice('/durabletask/'.length).split('/').filter(Boolean).map(urlDecode);
    const [controller, id, operation, name] = segments;
    if (
      controller === 'orchestrators' &&
      request.method === 'POST' &&
      id !== undefined &&
      segments.length <= 3
    )
      return this.startInstance(id, segments[2], request);
    if (controller !== 'instances' || id === undefined) return { status: 404 };
    const instance = this.instances.get(id);
    if (operation === undefined && request.method === 'GET')
      return instance === undefined ? { status: 404 } : this.status(id, instance, request);
    if (request.method !== 'POST') return { status: 404 };
    if (operation === 'raiseEvent' && name !== undefined && segments.length === 4)
      return this.raiseEvent(instance, name, request);
    if (operation === 'terminate' && segments.length === 3) return this.terminate(instance, request);
    return { status: 404 };
  }

  private startInstance(functionName: string, given: string | undefined, request: RecordedRequest): Answer {
    if (functionName !== AZURE_ORCHESTRATOR)
      return { status: 400, body: { Message: `The function '${functionName}' doesn't exist` } };
    let input: unknown = null;
    try {
      input = request.body === '' ? null : (JSON.parse(request.body) as unknown);
    } catch {
      return { status: 400, body: { Message: 'Invalid JSON content' } };
    }
    const id = given ?? randomUUID().replaceAll('-', '');
    const existing = this.instances.get(id);
    if (existing !== undefined && ['pending', 'running'].includes(existing.host.status))
      return {
        status: 409,
        body: { Message: `An Orchestration instance with the ID '${id}' already exists.` },
      };
    const host = new DfReplayHost({
      instanceId: id,
      input,
      orchestrator: stepgateOrchestrator,
      activities: this.activities,
      clock: this.clock,
    });
    this.instances.set(id, { host, input, createdAt: this.clock.now() });
    void host.start();
    const links = this.links(id);
    return { status: 202, body: links, headers: { location: links.statusQueryGetUri ?? '' } };
  }

  private links(id: string): Record<string, string> {
    const instance = `${this.origin}/runtime/webhooks/durabletask/instances/${encodeURIComponent(id)}`;
    return this.managementUrls(id, instance, `taskHub=${TASK_HUB}&connection=Storage&code=${KEY}`);
  }

  private raiseEvent(instance: Instance | undefined, name: string, request: RecordedRequest): Answer {
    if (instance === undefined) return { status: 404 };
    if (!instance.host.running) return { status: 410 };
    if (request.contentType?.split(';')[0]?.trim().toLowerCase() !== 'application/json')
      return { status: 400, body: { Message: 'Only application/json request content is supported' } };
    let data: unknown;
    try {
      data = JSON.parse(request.body) as unknown;
    } catch {
      return { status: 400, body: { Message: 'Invalid JSON content' } };
    }
    void instance.host.raiseEvent(name, data).catch(() => undefined);
    return { status: 202 };
  }

  private terminate(instance: Instance | undefined, request: RecordedRequest): Answer {
    if (instance === undefined) return { status: 404 };
    if (!['pending', 'running'].includes(instance.host.status)) return { status: 410 };
    instance.host.terminate(request.query.reason ?? '');
    return { status: 202 };
  }

  private status(id: string, instance: Instance, request: RecordedRequest): Answer {
    const runtimeStatus = RUNTIME_STATUS[instance.host.status];
    const body = {
      name: AZURE_ORCHESTRATOR,
      instanceId: id,
      runtimeStatus,
      input: request.query.showInput === 'false' ? null : instance.input,
      customStatus: null,
      output:
        instance.host.status === 'failed' ? (instance.host.failure ?? null) : (instance.host.output ?? null),
      createdTime: isoSeconds(instance.createdAt),
      lastUpdatedTime: isoSeconds(this.clock.now()),
    };
    const running = runtimeStatus === 'Running' || runtimeStatus === 'Pending';
    return running
      ? { status: 202, body, headers: { location: `${this.origin}${request.path}`, 'retry-after': '5' } }
      : { status: 200, body };
  }
}

const RUNTIME_STATUS: Record<DfReplayHost['status'], string> = {
  pending: 'Pending',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  terminated: 'Terminated',
};

/** An activity delivered twice: the first answer lost, the second the one the orchestration gets. */
function deliveredTwice(run: ReplayActivity): ReplayActivity {
  return async (input) => {
    await run(input);
    return run(input);
  };
}

/** As .NET's WebUtility.UrlDecode: `+` is a space, then percent-decoding. */
function urlDecode(segment: string): string {
  return decodeURIComponent(segment.replaceAll('+', ' '));
}

/** DateTime.ToString("s") + "Z": to the second. */
function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
