// Conformance through the deployed shape: every case of every template's scenario file observes the same
// when the definition the deployer deploys (emitGcpWorkflows with reportEnd) runs in the oracle interpreter
// and calls the real GCP functions over HTTP (functions-framework on loopback, the worker fed by a Cloud
// Tasks stand-in in virtual time, answers posted to callback URLs), their ports the Firestore adapters on
// the emulator, as on the embedded engine — the whole observation (testing/run-gcp-functions.ts).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GcpFunctionsBench, startGcpFunctionsBench } from '../../testing/run-gcp-functions.js';
import { runScenarioFile, runScenarioFileWith } from '../../testing/run-scenarios.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';

// No metadata server here: the Google clients must not look for one.
process.env.METADATA_SERVER_DETECTION = 'none';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

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
  console.log(
    `functions-scenarios: ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

describe.each(files)('%s through the GCP functions', (file) => {
  it('gives every case the observation the local target gives', async () => {
    const local = await runScenarioFile(join(templates, file), 'local');
    const gcp = await runScenarioFileWith(join(templates, file), bench.runCase);
    expect(gcp.problems).toEqual([]);
    expect(gcp.cases.length).toBe(local.cases.length);
    expect(gcp.cases.length).toBeGreaterThan(0);
    for (const [i, c] of gcp.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
    expect(gcp.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  }, 300_000);
});

describe('the functions the template cases went through', () => {
  it('were reached over HTTP: activities, the worker, approvals and run-end', () => {
    for (const name of ['tool-call', 'notify', 'worker', 'approval-request', 'approval-close', 'run-end'])
      expect(bench.calls[name] ?? 0, name).toBeGreaterThan(0);
  });
});
