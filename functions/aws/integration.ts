// The API's parts from the rest of the AWS deployment, composed over the ports: the Step Functions host,
// approval decisions answering task tokens, the schedules in EventBridge Scheduler, the platform keys from
// Secrets Manager, the template gallery and the workflow store that deploys each saved version.
import type { AwsApiParts } from './api-app.js';
import { platformKeys } from './platform-keys.js';
import type { AwsPorts } from './ports.js';
import { AwsRuns } from './runs.js';
import { galleryTemplates } from './templates.js';

export async function apiParts(ports: AwsPorts, runs = new AwsRuns(ports)): Promise<AwsApiParts> {
  return {
    host: runs.host(),
    decisions: runs.decisions(),
    keys: await platformKeys(ports),
    schedules: { scheduler: runs.scheduler(true) },
    templates: galleryTemplates(),
    workflows: runs.workflows(),
  };
}
