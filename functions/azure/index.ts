// The entry module of the Azure Functions app (the bundle's index.js, package.json's `main`): registers the
// HTTP catch-all, the schedules' timer, and the orchestrator with its activities (functions.ts), all over
// the deployed composition (deployment.ts azureDeps), made from the app settings on the first invocation
// that needs it — so a missing setting fails that invocation, naming the setting, and never the worker's
// start (which would leave the host with no function at all).
import { loadAzureConfig } from './config.js';
import { azureDeps } from './deployment.js';
import { registerAzureFunctions } from './functions.js';

registerAzureFunctions(() => azureDeps(loadAzureConfig(process.env)));
