// Conformance beyond the templates through the GCP functions (test/support/random-conformance.ts): the 200
// random workflows, the deployed definition on the oracle calling the real functions over HTTP with Firestore
// on the emulator (testing/run-gcp-functions.ts), observe what they observe on the embedded engine; a
// workflow GCP cannot take is refused with `gcp.parallel-depth`, as on the in-process GCP target.
import { afterAll, beforeAll, vi } from 'vitest';
import { type GcpFunctionsBench, startGcpFunctionsBench } from '../../testing/run-gcp-functions.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { randomConformance } from '../support/random-conformance.js';

// No metadata server here: the Google clients must not look for one.
process.env.METADATA_SERVER_DETECTION = 'none';
// A case makes real HTTP requests and Firestore writes: more than the default 30 s when the machine is busy.
vi.setConfig({ testTimeout: 120_000 });

let emulator: FirestoreEmulator;
let bench: GcpFunctionsBench;
const started = Date.now();

beforeAll(async () => {
  emulator = await startFirestoreEmulator();
  bench = await startGcpFunctionsBench(emulator);
}, 120_000);

afterAll(async () => {
  await bench?.close();
  await emulator?.stop();
  console.log(`functions-random: ${((Date.now() - started) / 1000).toFixed(1)} s`, bench?.calls);
});

randomConformance('gcp functions', (ir, scenario, c) => bench.runCase(ir, scenario, c), {
  compile: (ir) => emitGcpWorkflows(ir, { reportEnd: true }),
  refusal: 'gcp.parallel-depth',
});
