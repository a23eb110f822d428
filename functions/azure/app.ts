// The Azure Functions entrypoint (v4 programming model + durable-functions v3): registers the `stepgate`
// orchestrator (the shared orchestrator behind the DF driver) and one activity function per activity it
// calls, each delegating to the core ports it is given. The caller — the deployed app's main module —
// builds those ports (MCP pipeline, notifier, approval service, audit store) from its configuration.
import * as df from 'durable-functions';
import { AZURE_ORCHESTRATOR, azureFunctionName } from '../../translator/emit/azure-durable.js';
import { AZURE_ACTIVITIES, type AzureActivityPorts, createActivityHandlers } from './activities.js';
import { stepgateOrchestrator } from './durable-context.js';

/** The part of `df.app` this entrypoint uses; injectable so a test can capture the registrations. */
export interface DurableRegistrar {
  orchestration(name: string, handler: typeof stepgateOrchestrator): unknown;
  activity(name: string, options: { handler: (input: unknown) => Promise<unknown> }): unknown;
}

/** Registers the orchestrator and its activities; returns the registered function names. */
export function registerStepgate(
  ports: AzureActivityPorts,
  registrar: DurableRegistrar = df.app,
): { orchestrator: string; activities: string[] } {
  registrar.orchestration(AZURE_ORCHESTRATOR, stepgateOrchestrator);
  const handlers = createActivityHandlers(ports);
  const activities = AZURE_ACTIVITIES.map(azureFunctionName);
  for (const name of activities) {
    const handler = handlers[name];
    if (handler === undefined) throw new Error(`no handler for activity ${name}`);
    registrar.activity(name, { handler: (input) => handler(input) });
  }
  return { orchestrator: AZURE_ORCHESTRATOR, activities };
}
