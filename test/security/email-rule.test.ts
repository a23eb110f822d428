// One email rule over real HTTP against `npm start`'s server: the same address is accepted or refused
// alike by the directory (PUT /api/users), the validator (an approver list, on save), a vault scope
// (PUT /api/vault), the run filter (?triggeredBy=) and the notifier (a notify step's recipient from the
// input). A refused address changes nothing: no user, no workflow, no vault entry, no mail (a refused
// query is a 400, like every bad query).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEmail } from '../../functions/core/identity.js';
import { type Credential, E2eServer, type RunView } from '../e2e/support.js';

const ACCEPTED = ['ops@localhost', 'ana.ops+expenses@example.com'];
const REFUSED = [
  'ops@localhost.',
  'two@@example.com',
  'ops,eve@example.com',
  '<ops@example.com>',
  'ops:eve@example.com',
  'ops @example.com',
  'ops@',
  '@example.com',
  `${'a'.repeat(250)}@x.io`,
];

/** A workflow whose only approver is `approver` (saved only when the validator accepts it). */
const signOff = (id: string, approver: string) => ({
  version: 1,
  id,
  name: id,
  triggers: [{ type: 'manual', minRole: 'member' }],
  steps: [{ id: 'sign_off', type: 'approval', approvers: [approver], message: 'Sign off' }],
});

/** A workflow that emails the address its input names (the notifier is the only check on it). */
const TELL = {
  version: 1,
  id: 'email-rule-tell',
  name: 'email-rule-tell',
  triggers: [{ type: 'manual', minRole: 'member' }],
  inputs: { type: 'object', required: ['to'], properties: { to: { type: 'string' } } },
  steps: [{ id: 'tell', type: 'notify', channel: 'email', to: '{{to}}', subject: 'Hello', message: 'Hello' }],
};

describe('one email rule across the directory, validator, vault, run filter and notifier', () => {
  let s: E2eServer;
  let ada: Credential;

  beforeAll(async () => {
    s = await E2eServer.start();
    ada = await s.login('ada@example.com');
    expect((await s.api(ada, 'PUT', `/api/workflows/${TELL.id}`, TELL)).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  it('the shared rule itself agrees with the tables below', () => {
    expect(ACCEPTED.filter((a) => !isEmail(a))).toEqual([]);
    expect(REFUSED.filter((a) => isEmail(a))).toEqual([]);
  });

  describe.each(ACCEPTED.map((address, i) => [address, i]))('%s is accepted', (address, i) => {
    const path = `/api/users/${encodeURIComponent(address)}`;

    it('by the directory', async () => {
      expect((await s.api(ada, 'PUT', path, { role: 'member' })).status).toBe(201);
      expect((await s.api<{ email: string }>(ada, 'GET', path)).json.email).toBe(address);
    });

    it('by the validator, as an approver', async () => {
      const id = `email-rule-ok-${i}`;
      expect((await s.api(ada, 'PUT', `/api/workflows/${id}`, signOff(id, address))).status).toBe(201);
    });

    it('by the vault, as a user scope', async () => {
      const scope = `user:${address}`;
      const put = await s.api(ada, 'PUT', '/api/vault', { scope, name: 'API_KEY', value: 'v' });
      expect(put.status).toBe(201);
      const listed = await s.api<Array<{ name: string }>>(
        ada,
        'GET',
        `/api/vault?scope=${encodeURIComponent(scope)}`,
      );
      expect(listed.json.map((e) => e.name)).toEqual(['API_KEY']);
    });

    it('by the run filter', async () => {
      const filtered = await s.api(ada, 'GET', `/api/runs?triggeredBy=${encodeURIComponent(address)}`);
      expect(filtered.status).toBe(200);
    });

    it('by the notifier, which delivers to it', async () => {
      const runId = await s.startRun(ada, TELL.id, { to: address });
      expect((await s.finished(ada, runId)).status).toBe('completed');
      expect((await s.inbox(ada, address)).map((m) => m.rcptTo)).toContainEqual([address]);
    });
  });

  describe.each(REFUSED.map((address, i) => [address, i]))('%s is refused', (address, i) => {
    const path = `/api/users/${encodeURIComponent(address)}`;

    it('by the directory, which stores nobody', async () => {
      const put = await s.api<{ field?: string }>(ada, 'PUT', path, { role: 'member' });
      expect(put.status).toBe(422);
      expect(put.json.field).toBe('email');
      expect((await s.api(ada, 'GET', path)).status).toBe(404);
    });

    it('by the validator, as an approver, and nothing is saved', async () => {
      const id = `email-rule-bad-${i}`;
      const saved = await s.api<{ diagnostics: Array<{ code: string }> }>(
        ada,
        'PUT',
        `/api/workflows/${id}`,
        signOff(id, address),
      );
      expect(saved.status).toBe(422);
      expect(saved.json.diagnostics.map((d) => d.code)).toContain('invalid-approver');
      expect((await s.api(ada, 'GET', `/api/workflows/${id}`)).status).toBe(404);
    });

    it('by the vault, as a user scope, and nothing is stored', async () => {
      const scope = `user:${address}`;
      const put = await s.api<{ field?: string }>(ada, 'PUT', '/api/vault', {
        scope,
        name: 'API_KEY',
        value: 'v',
      });
      expect(put.status).toBe(422);
      expect(put.json.field).toBe('scope');
      const all = await s.api<Array<{ scope: string }>>(ada, 'GET', '/api/vault');
      expect(all.json.map((e) => e.scope)).not.toContain(scope.toLowerCase());
    });

    it('by the run filter', async () => {
      const filtered = await s.api<{ field?: string }>(
        ada,
        'GET',
        `/api/runs?triggeredBy=${encodeURIComponent(address)}`,
      );
      expect(filtered.status).toBe(400);
      expect(filtered.json.field).toBe('triggeredBy');
    });

    it('by the notifier: the run fails as an invalid request and no mail goes out', async () => {
      const runId = await s.startRun(ada, TELL.id, { to: address });
      const run = (await s.finished(ada, runId)) as RunView & { error: { code?: string } | null };
      expect(run.status).toBe('failed');
      expect(run.error?.code).toBe('Notify.InvalidRequest');
      const mail = await s.api<Array<{ rcptTo: string[] }>>(ada, 'GET', '/api/inbox');
      expect(mail.json.flatMap((m) => m.rcptTo)).not.toContain(address);
    });
  });
});
