// Stepgate's Cloud Run functions, by the name each is registered under with functions-framework (the
// deployment picks one per function with --target / FUNCTION_TARGET): each one a thin wrapper of
// activities.ts, worker.ts or api.ts over what `depsFor` composes for it, built once per instance on the
// first request (a failed build is tried again on the next). The tools the worker calls and the notifier
// are made from the ports unless the deps substitute them (GcpDeps.services: the conformance runs' mocks).
// The API runs the deployment's setup first.
import { type HttpFunction, http } from '@google-cloud/functions-framework';
import { perInstance } from '../core/per-instance.js';
import {
  acceptNotify,
  acceptToolCall,
  backoff,
  closeLevel,
  fireSchedule,
  openApproval,
  recordRunEnd,
  resolveTime,
  SCHEDULE_TIME_HEADER,
} from './activities.js';
import { apiFunction, createGcpApi } from './api.js';
import { BODIES } from './bodies.js';
import type { FunctionName } from './config.js';
import { type JsonAnswer, jsonFunction } from './http.js';
import type { GcpDeps } from './ports.js';
import { gcpNotifier, gcpTools, platformKeys } from './services.js';
import { runWorkerTask } from './worker.js';

/** Composes what the function `name` runs on (deployedDeps in a deployment, local ports in tests). */
export type DepsFor = (name: FunctionName) => GcpDeps | Promise<GcpDeps>;

/** One function's deps and the services it may use, each made once per instance on first use. */
function instance(name: FunctionName, depsFor: DepsFor) {
  const deps = perInstance(async () => depsFor(name));
  return {
    deps,
    keys: perInstance(async () => platformKeys((await deps()).ports)),
    notifier: perInstance(async () => {
      const made = await deps();
      return made.services?.notifier?.() ?? gcpNotifier(made.ports);
    }),
    tools: perInstance(async () => gcpTools((await deps()).ports)),
    /** The worker's tool invoker: the substituted one (GcpDeps.services), else the pipeline. */
    invoker: perInstance(async () => {
      const made = await deps();
      return { pipeline: made.services?.tools?.() ?? gcpTools(made.ports).pipeline };
    }),
  };
}

/** Every function, by name. */
export function gcpFunctions(depsFor: DepsFor): Record<FunctionName, HttpFunction> {
  const of = (name: FunctionName) => instance(name, depsFor);
  const [api, worker, request, close] = [
    of('api'),
    of('worker'),
    of('approval-request'),
    of('approval-close'),
  ];
  const simple = (name: FunctionName, run: (deps: GcpDeps, body: unknown) => Promise<JsonAnswer>) => {
    const { deps } = of(name);
    return jsonFunction(name, async (body) => run(await deps(), body));
  };
  const apiApp = perInstance(async () =>
    createGcpApi(await api.deps(), {
      keys: await api.keys(),
      notifier: await api.notifier(),
      tools: await api.tools(),
    }),
  );
  return {
    // The deployment's setup (setup.ts) runs before the instance's first request, once it succeeded.
    api: apiFunction(async () => {
      await (await api.deps()).setup?.();
      return apiApp();
    }),
    'tool-call': simple('tool-call', acceptToolCall),
    notify: simple('notify', acceptNotify),
    worker: jsonFunction('worker', async (body) =>
      runWorkerTask(
        await worker.deps(),
        { tools: worker.invoker, notifier: worker.notifier },
        BODIES.workerTask(body),
      ),
    ),
    'approval-request': jsonFunction('approval-request', async (body) =>
      openApproval(
        await request.deps(),
        { keys: await request.keys(), notifier: await request.notifier() },
        body,
      ),
    ),
    'approval-close': jsonFunction('approval-close', async (body) =>
      closeLevel(await close.deps(), { keys: await close.keys() }, body),
    ),
    backoff: simple('backoff', backoff),
    'resolve-time': simple('resolve-time', resolveTime),
    'run-end': simple('run-end', recordRunEnd),
    'schedule-fire': (() => {
      const { deps } = of('schedule-fire');
      return jsonFunction('schedule-fire', async (body, req) =>
        fireSchedule(await deps(), body, req.header(SCHEDULE_TIME_HEADER)),
      );
    })(),
  };
}

/** Registers every function with functions-framework. */
export function registerGcpFunctions(depsFor: DepsFor): void {
  for (const [name, handler] of Object.entries(gcpFunctions(depsFor))) http(name, handler);
}
