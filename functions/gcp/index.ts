// The entry module of the GCP deployment's bundle: registers every Cloud Run function with functions-framework
// (functions.ts), each composed from the environment by deployedDeps (deployment.ts). The deployment runs the
// same bundle for every function and picks one by name (its entry point / FUNCTION_TARGET).
import type { FunctionName } from './config.js';
import { deployedDeps } from './deployment.js';
import { registerGcpFunctions } from './functions.js';

registerGcpFunctions((name: FunctionName) => deployedDeps(name, process.env));
