// The `notify.send` Lambda (${NotifyFunctionArn} in the compiled ASL): a thin wrapper of the shared handler
// (functions/core/handlers/notify.ts) over the AWS ports' ChannelNotifier (email through the vault's
// SMTP_URL, Slack, Teams, SMS). A failure is thrown as the ASL error the state machine retries or catches.
import middy from '@middy/core';
import type { JsonValue } from '../../translator/template.js';
import { aslActivityFailure, aslVisit, notifyFromAsl, notifyHandler } from '../core/handlers/index.js';
import type { Notifier } from '../core/ports.js';
import type { AslNotifyPayload } from '../core/wire.js';
import { loadAwsConfig } from './config.js';
import { AwsPorts, perContainer } from './ports.js';

/** Sends the Task's notification; answers what the channel answered. `notifier`: the ports' by default. */
export async function sendNotification(
  ports: AwsPorts,
  payload: AslNotifyPayload,
  notifier: Notifier = ports.notifier(),
): Promise<JsonValue> {
  try {
    const request = notifyFromAsl(payload, await aslVisit(ports.visits(), payload));
    return await notifyHandler(notifier)(request);
  } catch (error) {
    throw aslActivityFailure(error, payload.stepId);
  }
}

const ports = perContainer(async () => new AwsPorts(loadAwsConfig(process.env, 'notify')));

export const handler = middy(async (event: AslNotifyPayload) => sendNotification(await ports(), event));
