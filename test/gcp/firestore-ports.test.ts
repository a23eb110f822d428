// firestorePorts, the deployment's composition of GcpPorts (functions/gcp/firestore-ports.ts), on the
// Firestore emulator: the stores share the one database and stamp the injected clock's time; each port is
// made once; a setting a port needs and the deployment lacks is named (its variable) when the port is first
// used, before any Google client is made; no SMTP relay secret means no relay. The stores' behaviour has
// its own contract suites, and the whole composition runs in test/gcp/functions-*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import type { GcpConfig } from '../../functions/gcp/config.js';
import { firestorePorts } from '../../functions/gcp/firestore-ports.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';

process.env.METADATA_SERVER_DETECTION = 'none';

let emulator: FirestoreEmulator;

beforeAll(async () => {
  emulator = await startFirestoreEmulator();
}, 120_000);

afterAll(async () => {
  await emulator?.stop();
});

/** What a function that reads only the stores is given: the project and database, nothing else. */
const STORES_ONLY = { project: 'stepgate-test', firestoreDatabase: '(default)' } as GcpConfig;

describe('firestorePorts', () => {
  it('writes the run trail to the given database, timed by the given clock, and reads it back', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 3, 1, 12, 0, 0));
    const db = emulator.client(emulator.freshProject());
    const ports = firestorePorts(STORES_ONLY, { firestore: db, clock });
    await ports.audit().append('run-1', { type: 'run.cancelled', data: { by: 'ada@example.com' } });
    const records = await ports.audit().list('run-1');
    expect(records).toEqual([
      { seq: 1, at: clock.now(), type: 'run.cancelled', step: null, data: { by: 'ada@example.com' } },
    ]);
    // Another composition over the same database sees the same trail: nothing is kept in the process.
    expect(await firestorePorts(STORES_ONLY, { firestore: db }).audit().list('run-1')).toEqual(records);
  });

  it('makes each port once, and one approval store per callback key', () => {
    const ports = firestorePorts(STORES_ONLY, { firestore: emulator.client(emulator.freshProject()) });
    expect(ports.claims()).toBe(ports.claims());
    expect(ports.directory()).toBe(ports.directory());
    const key = new Uint8Array(32).fill(1);
    expect(ports.approvalStore(key)).toBe(ports.approvalStore(new Uint8Array(32).fill(1)));
    expect(ports.approvalStore(key)).not.toBe(ports.approvalStore(new Uint8Array(32).fill(2)));
  });

  it('names the variable of a setting a port needs and the deployment lacks', async () => {
    const ports = firestorePorts(STORES_ONLY);
    expect(() => ports.vault()).toThrow('STEPGATE_KMS_KEY is not set');
    expect(() => ports.results()).toThrow('STEPGATE_RESULTS_BUCKET is not set');
    await expect(ports.platformSecret()).rejects.toThrow('STEPGATE_PLATFORM_SECRET is not set');
    expect(await ports.smtpRelayUrl()).toBeUndefined();
  });
});
