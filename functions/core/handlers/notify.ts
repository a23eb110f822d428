// The `notify.send` activity on every host: the compiled payloads decoded into a NotifyRequest (recipients,
// subject and message rendered from their templates) and sent through the Notifier.
import type { JsonValue, Template } from '../../../translator/template.js';
import type { Notifier } from '../ports.js';
import type { NotifyRequest } from '../protocol.js';
import { renderList, renderText } from '../render.js';
import type { AslNotifyPayload, GcpNotifyBody, WireVars } from '../wire.js';
import { aslAttempt, gcpAttempt } from './step.js';

/** The rendered fields of a notification: `to` (JSON text of templates), `subject`, `message`. */
function rendered(
  wire: { to: string; subject: string | null; message: string },
  vars: WireVars,
): Pick<NotifyRequest, 'to' | 'subject' | 'message'> {
  const template = (text: string): Template => JSON.parse(text) as Template;
  return {
    to: (JSON.parse(wire.to) as Template[]).flatMap((t) => renderList(t, vars)),
    subject: wire.subject === null ? null : renderText(template(wire.subject), vars),
    message: renderText(template(wire.message), vars),
  };
}

/** An ASL Task's payload as the request of the state's `visit`: attempt `$$.State.RetryCount` + 1. */
export function notifyFromAsl(payload: AslNotifyPayload, visit: number): NotifyRequest {
  return {
    ...aslAttempt(payload, visit),
    channel: payload.channel,
    ...rendered(payload, payload.vars),
  };
}

/** A GCP workflow's `notify.send` body as a request. */
export function notifyFromGcp(body: GcpNotifyBody): NotifyRequest {
  return {
    ...gcpAttempt(body),
    channel: body.channel,
    ...rendered(body, body.vars),
  };
}

/** Sends the notification; answers what the channel answered (its message id), as JSON. */
export type NotifyHandler = (request: NotifyRequest) => Promise<JsonValue>;

/** The `notify.send` handler over its port. */
export function notifyHandler(notifier: Notifier): NotifyHandler {
  return (request) => notifier.send(request) as Promise<JsonValue>;
}
