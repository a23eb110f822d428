// The shared notify.send handler: each target's payload decoded into the same NotifyRequest (recipients,
// subject and message rendered) and sent through the Notifier.
import { describe, expect, it } from 'vitest';
import { notifyFromAsl, notifyFromGcp, notifyHandler } from '../../functions/core/handlers/index.js';
import type { NotifyRequest } from '../../functions/core/protocol.js';
import type { AslNotifyPayload, GcpNotifyBody } from '../../functions/core/wire.js';
import { alice, ctx, template } from './support.js';

const vars = { order: { id: 42, owner: 'owner@example.com', watchers: ['a@example.com', 'b@example.com'] } };
const rendered = {
  to: JSON.stringify([JSON.parse(template('{{order.owner}}')), JSON.parse(template('{{order.watchers}}'))]),
  subject: template('Order {{order.id}}'),
  message: template('Order {{order.id}} shipped'),
};

const asl: AslNotifyPayload = {
  activity: 'notify.send',
  ctx,
  stepId: 'tell',
  attempt: 0,
  enteredTime: '2026-01-01T00:00:00.000Z',
  vars,
  channel: 'email',
  ...rendered,
};

const gcp: GcpNotifyBody = {
  kind: 'notify.send',
  workflowId: 'wf',
  runId: 'run-1',
  stepId: 'tell',
  visit: 2,
  identity: alice,
  attempt: 1,
  channel: 'slack',
  ...rendered,
  subject: null,
  vars,
  callbackUrl: 'https://callbacks.test/2',
};

describe('notify.send decoders', () => {
  it('decodes an ASL payload: recipients flattened, subject and message rendered', () => {
    expect(notifyFromAsl(asl, 1)).toEqual({
      workflowId: 'wf',
      runId: 'run-1',
      stepId: 'tell',
      visit: 1,
      identity: alice,
      attempt: 1,
      idempotencyKey: 'run-1:tell:1',
      channel: 'email',
      to: ['owner@example.com', 'a@example.com', 'b@example.com'],
      subject: 'Order 42',
      message: 'Order 42 shipped',
    } satisfies NotifyRequest);
  });

  it('decodes a GCP body without a subject, keyed by its visit and attempt', () => {
    const request = notifyFromGcp(gcp);
    expect(request).toMatchObject({ channel: 'slack', subject: null, idempotencyKey: 'run-1:tell#2:1' });
    expect(request.to).toEqual(['owner@example.com', 'a@example.com', 'b@example.com']);
  });

  it('refuses recipients that are not a list of templates', () => {
    expect(() => notifyFromGcp({ ...gcp, to: '{' })).toThrow(SyntaxError);
  });
});

describe('notify.send handler', () => {
  it('sends the request and answers what the channel answered', async () => {
    const sent: NotifyRequest[] = [];
    const send = notifyHandler({
      send: async (request) => {
        sent.push(request);
        return { messageId: 'm-1' };
      },
    });
    const request = notifyFromAsl(asl, 1);
    await expect(send(request)).resolves.toEqual({ messageId: 'm-1' });
    expect(sent).toEqual([request]);
  });
});
