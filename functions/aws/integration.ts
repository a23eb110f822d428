// What the Lambda entry points take from parts of the AWS deployment that are written elsewhere, and are
// not here yet: each is named, with where it will come from, and refuses by that name when reached. The
// entry points are complete otherwise; the integrator replaces these with the real modules.
//
//   platformKeys      the approval-link signing key and the task-token sealing key, read from Secrets
//                     Manager (STEPGATE_LINK_SECRET_ARN) by the platform-secrets module
//   apiParts          the API's run host (the Step Functions DurableHost), approval decisions (answering a
//                     level's task token with SendTaskSuccess / SendTaskFailure, as aslCallbackAnswer
//                     says) and schedules (the EventBridge Scheduler sync)
// SES email is not among them: the ChannelNotifier sends email through the vault's SMTP_URL (SES's SMTP
// interface works); an SES v2 transport, once written, is given to channelNotifier (notifier.ts) as `smtp`.
import type { AwsApiParts } from './api-app.js';

export class NotIntegratedError extends Error {
  override name = 'NotIntegratedError';
  constructor(part: string, where: string) {
    super(`${part} is not integrated into this deployment yet: it comes from ${where}`);
  }
}

/** The API's parts written elsewhere: the DurableHost, approval decisions, schedules, platform keys. */
export async function apiParts(): Promise<AwsApiParts> {
  throw new NotIntegratedError(
    'the run host, schedules and approval decisions of the API',
    'the Step Functions DurableHost, the EventBridge Scheduler sync and the Secrets Manager platform secrets',
  );
}
