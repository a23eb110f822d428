// Conformance beyond the templates on Azure Durable Functions: the shared orchestrator over the compiled
// plan, hosted by the durable-functions replay harness (test/support/random-conformance.ts).
import { runCaseAzure } from '../../testing/run-azure.js';
import { randomConformance } from '../support/random-conformance.js';

randomConformance('azure', runCaseAzure);
