// The `notify.send` Lambda (${NotifyFunctionArn} in the compiled ASL): a thin wrapper of the shared handler
// (functions/core/handlers/notify.ts) over the AWS ports' ChannelNotifier (email through the vault's
// SMTP_URL, Slack, Teams, SMS). A failure is thrown as the ASL error the state machine retries or catches.
import middy from '@middy/core';
import type { JsonValue } from '../../translator/template.js';
import { aslActivityFailure, aslVisit, notifyFromAsl, notifyHandler } from '../core/handlers/index.js';
import type { Notifier } from '../core/ports.js';
import type { AslNotifyPayload } from '../core/wire.js';
import { loadAwsConfig } from './config.js';
import { channelNotifier } from './notifier.js';
import { AwsPorts, perContainer } from './ports.js';

/** Sends the Task's notification through `notifier`; answers what the channel answered. */
export async function sendNotification(
  ports: AwsPorts,
  payload: AslNotifyPayload,
  notifier: Notifier,
): Promise<JsonValue> {
  try {
    const request = notifyFromAsl(payload, await aslVisit(ports.visits(), payload));
    return await notifyHandler(notifier)(request);
  } catch (error) {
    throw aslActivityFailure(error, payload.stepId);
  }
}

const parts = perContainer(async () => {
  const ports = new AwsPorts(loadAwsConfig(process.env, 'notify'));
  return { ports, notifier: channelNotifier(ports) };
});

export const handler = middy(async (event: AslNotifyPayload) => {
  const { ports, notifier } = await parts();
  return sendNotification(ports, event, notifier);
});
