// Azurite (npm, 3.35: the last release that runs on Node 20) on free loopback ports: Azure Table, Blob and
// Queue Storage's real wire protocols, ETags and entity-group transactions included, for the Azure adapters'
// tests. It is a devDependency; missing, the suite fails loudly, never skips. One Azurite serves a whole
// test file, in memory; each store a test makes gets tables of its own (`freshTables`: a new table prefix),
// so tests never see each other's data.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureNamedKeyCredential } from '@azure/data-tables';
import { StorageSharedKeyCredential } from '@azure/storage-blob';
import { AzureTables } from '../../adapters/azure/tables.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../functions/azure/deployment.js';
import { freePort } from './moto.js';

/** Azurite's one account and its well-known key (published by Microsoft; not a secret). */
export const DEV_ACCOUNT = AZURITE_ACCOUNT;
export const DEV_KEY = AZURITE_KEY;

export interface Azurite {
  /** `http://127.0.0.1:<port>/devstoreaccount1`: the table service. */
  tableEndpoint: string;
  blobEndpoint: string;
  queueEndpoint: string;
  /** The account key credential every table client of this Azurite uses. */
  credential: AzureNamedKeyCredential;
  /** The same key as Blob Storage's clients take it. */
  blobCredential: StorageSharedKeyCredential;
  /** A connection string naming all three services (what AzureWebJobsStorage would hold). */
  connectionString: string;
  /** Tables nobody else uses (a fresh prefix), created. */
  freshTables(): Promise<AzureTables>;
  /** A table prefix not used before in this process. */
  freshPrefix(): string;
  stop(): Promise<void>;
}

let prefixes = 0;

const AZURITE = join(import.meta.dirname, '..', '..', 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');

/** Starts Azurite and waits (up to 30 s) until its table service answers. */
export async function startAzurite(): Promise<Azurite> {
  if (!existsSync(AZURITE))
    throw new Error(`Azurite is not installed (${AZURITE} is missing): run npm ci (it is a devDependency)`);
  const [tablePort, blobPort, queuePort] = [await freePort(), await freePort(), await freePort()];
  // In memory; the workspace folder only keeps Azurite's debug files out of the repository.
  const workspace = mkdtempSync(join(tmpdir(), 'stepgate-azurite-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      AZURITE,
      '--inMemoryPersistence',
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--disableProductStyleUrl',
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(tablePort),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(blobPort),
      '--queueHost',
      '127.0.0.1',
      '--queuePort',
      String(queuePort),
    ],
    { cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const base = (port: number) => `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  const tableEndpoint = base(tablePort);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Azurite exited (${child.exitCode}): ${output}`);
    try {
      // Any HTTP answer (an unsigned request is refused) means the table service listens.
      await fetch(`${tableEndpoint}/Tables`, { signal: AbortSignal.timeout(1_000) });
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Azurite did not answer on ${tableEndpoint} within 30 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const credential = new AzureNamedKeyCredential(DEV_ACCOUNT, DEV_KEY);
  const freshPrefix = () => `t${process.pid}x${++prefixes}`;
  return {
    tableEndpoint,
    blobEndpoint: base(blobPort),
    queueEndpoint: base(queuePort),
    credential,
    blobCredential: new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY),
    connectionString: [
      'DefaultEndpointsProtocol=http',
      `AccountName=${DEV_ACCOUNT}`,
      `AccountKey=${DEV_KEY}`,
      `BlobEndpoint=${base(blobPort)}`,
      `QueueEndpoint=${base(queuePort)}`,
      `TableEndpoint=${tableEndpoint}`,
    ].join(';'),
    freshPrefix,
    async freshTables() {
      const tables = new AzureTables({
        endpoint: tableEndpoint,
        credential,
        prefix: freshPrefix(),
        allowInsecureConnection: true,
      });
      await tables.createAll();
      return tables;
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
      rmSync(workspace, { recursive: true, force: true });
    },
  };
}
