// Stepgate's Azure Functions, registered on the v4 programming model: the HTTP catch-all (`api`: every
// method on every path, anonymous — the app authenticates — with the durable client as an extra input),
// the schedules' timer (`schedules`, every minute, with the durable client), the housekeeping timer
// (`housekeeping`, every ten minutes: Table Storage has no TTL, housekeeping.ts), and the orchestrator
// with its activities (app.ts registerStepgate). One app runs them all over what `depsFor` composes, made once per
// instance on first use (a failed build is tried again on the next invocation). The API runs the
// deployment's setup before its instance's first request.
//
// A failure the app did not answer itself becomes a 500 with a generic message: the detail goes to the
// invocation's log (Application Insights), never to the caller, as it may name internals.
import {
  app,
  type HttpHandler,
  type HttpMethod,
  type InvocationContext,
  type TimerHandler,
} from '@azure/functions';
import * as df from 'durable-functions';
import type { Hono } from 'hono';
import { errorMessage } from '../../translator/util.js';
import type { Env } from '../core/http/types.js';
import { perInstance, setupOnFirstRequest } from '../core/per-instance.js';
import type { DurableHost } from '../core/ports.js';
import { createAzureApi } from './api.js';
import { type DurableRegistrar, registerStepgate } from './app.js';
import type { AzureDeps } from './deps.js';
import { HOUSEKEEPING_TIMER, housekeepDeps } from './housekeeping.js';
import { fetchRequest, responseInit } from './http.js';
import { fireDueSchedules, SCHEDULES_TIMER } from './schedules.js';
import { activityPorts, azureTools, platformKeys } from './services.js';
import { setUp } from './setup.js';

/** Composes what the app runs on (azureDeps in a deployment, local ports in tests). */
export type DepsFor = () => AzureDeps | Promise<AzureDeps>;

/** The parts of `app` (@azure/functions) and `df.app` the registration uses; a test captures them. */
export interface AzureRegistrars {
  app: Pick<typeof app, 'http' | 'timer'>;
  durable: DurableRegistrar;
}

export const API_FUNCTION = 'api';
export const SCHEDULES_FUNCTION = 'schedules';
export const HOUSEKEEPING_FUNCTION = 'housekeeping';
/** Every method the app serves; the catch-all takes them all and the app answers 404/405. */
export const API_METHODS: HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The names registered, by kind. */
export interface AzureFunctionNames {
  http: string[];
  timers: string[];
  orchestrator: string;
  activities: string[];
}

const INTERNAL = {
  status: 500,
  jsonBody: { error: { code: 'internal', message: "api failed; the function's log has the detail" } },
};

/** Once per instance: the deps, the run host over the first invocation's durable client (deps.ts), the API. */
function instance(depsFor: DepsFor) {
  const deps = perInstance(async () => depsFor());
  let host: DurableHost | undefined;
  const hostFor = async (context: InvocationContext): Promise<DurableHost> => {
    const made = await deps();
    host ??= made.host(df.getClient(context));
    return host;
  };
  let api: Promise<Hono<Env>> | undefined;
  const apiFor = (context: InvocationContext): Promise<Hono<Env>> => {
    api ??= (async () => {
      const made = await deps();
      return createAzureApi(made, {
        keys: await platformKeys(made),
        tools: azureTools(made),
        host: await hostFor(context),
      });
    })().catch((error: unknown) => {
      api = undefined;
      throw error;
    });
    return api;
  };
  const setup = perInstance(async () => {
    const made = await deps();
    return setupOnFirstRequest(() => setUp(made), { clock: made.clock });
  });
  return { deps, hostFor, apiFor, setup };
}

/** Registers every function of the app; answers their names. */
export function registerAzureFunctions(
  depsFor: DepsFor,
  registrars: AzureRegistrars = { app, durable: df.app },
): AzureFunctionNames {
  const { deps, hostFor, apiFor, setup } = instance(depsFor);
  const api: HttpHandler = async (request, context) => {
    try {
      // The deployment's setup (setup.ts) runs before the instance's first request, once it succeeded.
      await (await setup())();
      return await responseInit(await (await apiFor(context)).fetch(await fetchRequest(request)));
    } catch (error) {
      context.error(`api: ${errorMessage(error)}`);
      return INTERNAL;
    }
  };
  const schedules: TimerHandler = async (_timer, context) => {
    const { fired, settled } = await fireDueSchedules(await deps(), await hostFor(context), (message) =>
      context.error(message),
    );
    for (const [id, outcome] of Object.entries(fired)) context.log(`schedule ${id}: ${outcome.status}`);
    if (settled > 0) context.log(`settled ${settled} interrupted fire(s)`);
  };
  const housekeeping: TimerHandler = async (_timer, context) => {
    const pruned = await housekeepDeps(await deps(), (message) => context.error(message));
    context.log(`housekeeping: ${JSON.stringify(pruned)}`);
  };
  registrars.app.http(API_FUNCTION, {
    route: '{*path}',
    methods: API_METHODS,
    authLevel: 'anonymous',
    extraInputs: [df.input.durableClient()],
    handler: api,
  });
  registrars.app.timer(SCHEDULES_FUNCTION, {
    schedule: SCHEDULES_TIMER,
    extraInputs: [df.input.durableClient()],
    handler: schedules,
  });
  registrars.app.timer(HOUSEKEEPING_FUNCTION, { schedule: HOUSEKEEPING_TIMER, handler: housekeeping });
  const durable = registerStepgate(activityPorts(deps), registrars.durable);
  return { http: [API_FUNCTION], timers: [SCHEDULES_FUNCTION, HOUSEKEEPING_FUNCTION], ...durable };
}
