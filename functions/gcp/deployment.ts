// The deployed composition of a Cloud Run function (functions/gcp/index.ts): its settings from the
// environment, one Firestore client of the deployment's database shared by the ports (firestore-ports.ts),
// the run records and the deployed revisions (runs.ts), the Cloud Tasks queue and the callback poster. The
// API alone deploys workflows, syncs schedules with Cloud Scheduler, lists the gallery and runs the setup.
import { Firestore } from '@google-cloud/firestore';
import { CloudTasksClient } from '@google-cloud/tasks';
import { lazy, setupOnFirstRequest } from '../core/per-instance.js';
import { bundledGallery } from '../core/template-gallery.js';
import { CallbackPoster, googleAccessTokens } from './callbacks.js';
import { type FunctionName, type GcpConfig, loadGcpConfig, required } from './config.js';
import { firestorePorts } from './firestore-ports.js';
import { type GcpDeps, googleClientOptions } from './ports.js';
import { gcpRuns } from './runs.js';
import { setUp } from './setup.js';
import { CloudTasksQueue } from './tasks.js';

/** The Firestore client of the deployment's database, which the run records and deployed revisions use. */
function deploymentFirestore(config: GcpConfig): Firestore {
  return new Firestore({ projectId: required(config, 'project'), databaseId: config.firestoreDatabase });
}

/**
 * The deployed composition of one function: its settings from the environment, the real clients. The API
 * alone deploys workflows, syncs schedules with Cloud Scheduler, lists the gallery and runs the setup.
 */
export function deployedDeps(name: FunctionName, env: NodeJS.ProcessEnv): GcpDeps {
  const config = loadGcpConfig(env, name);
  // One Firestore client of the deployment's database for the ports, the run records and the revisions.
  const firestore = lazy(() => deploymentFirestore(config));
  const ports = firestorePorts(config, {
    get firestore() {
      return firestore();
    },
  });
  const queue = lazy(
    () =>
      new CloudTasksQueue({
        client: new CloudTasksClient(googleClientOptions(config)),
        queue: required(config, 'tasksQueue'),
        workerUrl: required(config, 'workerUrl'),
        serviceAccount: required(config, 'serviceAccount'),
      }),
  );
  const runs = lazy(() => gcpRuns(config, { firestore: firestore(), ports, queue }));
  const deps: GcpDeps = {
    ports,
    host: lazy(() => runs().host()),
    queue,
    callbacks: lazy(() => new CallbackPoster(googleAccessTokens(), config.callbackBase)),
  };
  if (name !== 'api') return deps;
  const templates = bundledGallery(import.meta.dirname);
  return {
    ...deps,
    deployingWorkflows: () => runs().deployingWorkflows(),
    schedules: () => runs().schedules(),
    templates,
    setup: setupOnFirstRequest(() => setUp({ ports, runs: runs(), templates }), { clock: ports.clock }),
  };
}
