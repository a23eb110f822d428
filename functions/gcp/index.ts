// The entry module of the GCP deployment's bundle: registers every Cloud Run function with functions-framework
// (functions.ts), each composed from the environment by deployedDeps (ports.ts). The deployment runs the
// same bundle for every function and picks one by name (its entry point / FUNCTION_TARGET).
import type { FunctionName } from './config.js';
import { registerGcpFunctions } from './functions.js';
import { deployedDeps } from './ports.js';

registerGcpFunctions((name: FunctionName) => deployedDeps(name, process.env));
