// Approval links end to end: the embedded engine runs the expense template (900 → the manager approves),
// the link notifier emails each approver their own signed link (captured here), and the pages behind the
// links are served by Hono's fetch interface. Opening a link decides nothing; only the page's POST does,
// once: a spent link is refused as used (also by a fresh link service on the same database), of two
// concurrent POSTs exactly one decides, and a refused attempt does not spend the link. Tampered,
// replayed, expired, foreign, already-decided and self-approval links, and links used without the login
// the configuration requires, are refused with a page, change nothing, and are recorded in the run's
// history.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqliteApprovalLinkStore } from '../../adapters/local/approval-link-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { ApprovalLinks, type ApprovalLinksDeps, linkNotifier } from '../../functions/core/approval-links.js';
import type { ApprovalNotifier } from '../../functions/core/approvals.js';
import type { AuditEntry } from '../../functions/core/durable.js';
import { mountApprovalPages } from '../../functions/core/http/approval-pages.js';
import type { ApprovalRecord, Notifier } from '../../functions/core/ports.js';
import type { Identity, NotifyRequest } from '../../functions/core/protocol.js';
import { validateWorkflow } from '../../translator/validate.js';

const user = (email: string, role: string, manager: string | null): Identity => ({
  email,
  role,
  groups: ['staff'],
  manager,
});
const USERS: Identity[] = [
  user('member@example.com', 'member', 'manager@example.com'),
  user('manager@example.com', 'manager', 'director1@example.com'),
  user('director1@example.com', 'director', null),
  user('director2@example.com', 'director', null),
  // Their own manager: the approver of their own expenses.
  user('boss@example.com', 'lead', 'boss@example.com'),
  user('viewer@example.com', 'viewer', 'manager@example.com'),
];
const EXPENSE = readFileSync(
  join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'),
  'utf8',
);
const IR = validateWorkflow(EXPENSE, 'yaml').ir;
const SECRET = new Uint8Array(32).fill(7);
/** The policy check's answer, with markup in a finding and a token under a secret-looking key. */
const VALIDATION = {
  ok: true,
  flagged: true,
  reasons: ['amount $900 is over the $500 cap for <equipment>', 'receipt required over $75'],
  cap: 500,
  receiptRequired: true,
  accessToken: 'tok-should-never-show',
};
const HOUR = 3_600_000;

describe('approval links', () => {
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let links: ApprovalLinks;
  let app: Hono;
  let mail: NotifyRequest[];
  let makeLinks: (options?: Partial<ApprovalLinksDeps>) => ApprovalLinks;

  beforeEach(() => {
    clock = new VirtualClock();
    mail = [];
    const directory = new InMemoryDirectory(USERS);
    let approvalNotifier: ApprovalNotifier | undefined;
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory,
      tools: {
        call: async (r) =>
          r.tool === 'payments-charge'
            ? { id: 'ch_1' }
            : r.tool === 'expenses-validate'
              ? VALIDATION
              : { ok: true },
      },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: (record) => (approvalNotifier as ApprovalNotifier).requested(record) },
    });
    const store = new SqliteApprovalLinkStore(engine.db);
    const recordAudit = async (runId: string, entry: AuditEntry) => engine.host.recordAudit(runId, entry);
    makeLinks = (options = {}) =>
      new ApprovalLinks({
        secret: SECRET,
        store,
        approvals: engine.approvals,
        approvalStore: engine.store,
        recordAudit,
        clock,
        baseUrl: 'https://stepgate.test/',
        ...options,
      });
    links = makeLinks();
    const outbox: Notifier = {
      send: async (request) => {
        mail.push(request);
        return { messageId: `m${mail.length}` };
      },
    };
    approvalNotifier = linkNotifier({ links, notifier: outbox, directory, recordAudit });
    app = new Hono();
    mountApprovalPages(app, { links });
  });

  const start = async (by = 'member@example.com', description = 'Laptop', ir = IR): Promise<string> => {
    if (ir === undefined) throw new Error('the expense workflow does not validate');
    const identity = USERS.find((u) => u.email === by);
    if (identity === undefined) throw new Error(by);
    const runId = await engine.host.startRun({
      workflowId: ir.id,
      ir,
      input: { amount: 900, description, category: 'equipment' },
      trigger: { type: 'manual', user: identity },
    });
    await settle();
    return runId;
  };
  const settle = () => clock.run(engine.host, clock.now() + 1_000);

  /** The token of the last link mailed to `email`. */
  const tokenFor = (email: string): string => {
    const sent = mail.filter((m) => m.to.includes(email)).at(-1);
    const token = sent === undefined ? undefined : /\/approve\/([A-Za-z0-9_.-]+)/.exec(sent.message)?.[1];
    if (token === undefined) throw new Error(`no link was mailed to ${email}`);
    return token;
  };
  const view = async (token: string, headers: Record<string, string> = {}, on: Hono = app) => {
    const response = await on.request(`/approve/${token}`, { headers });
    return { status: response.status, headers: response.headers, html: await response.text() };
  };
  const post = async (
    token: string,
    fields: Record<string, string> = { decision: 'approve', comment: 'fine' },
    headers: Record<string, string> = {},
    on: Hono = app,
  ) => {
    const response = await on.request(`/approve/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: response.status, html: await response.text() };
  };
  const request = async (runId: string, level = 1): Promise<ApprovalRecord> => {
    const record = await engine.store.get(runId, 'manager_approval', 1, level);
    if (record === undefined) throw new Error(`no request at level ${level}`);
    return record;
  };
  const linkAudit = async (runId: string) =>
    (await engine.host.audit(runId)).filter((a) => a.type === 'approval.link').map((a) => a.data);
  const status = async (runId: string) => (await engine.host.getRun(runId))?.status;

  it('mails each approver their own link, whose page shows the request and decides nothing', async () => {
    const runId = await start();
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({
      channel: 'email',
      to: ['manager@example.com'],
      subject: 'Approval needed: expense-approval',
      workflowId: 'expense-approval',
      runId,
      stepId: 'manager_approval',
      visit: 1,
      attempt: 1,
      identity: { email: 'member@example.com' },
    });
    expect(mail[0]?.message).toContain('Approve Laptop for $900 from member@example.com?');
    expect(mail[0]?.message).toContain('https://stepgate.test/approve/');
    const token = tokenFor('manager@example.com');

    for (let i = 0; i < 2; i++) {
      const page = await view(token);
      expect(page.status).toBe(200);
      expect(page.html).toContain('Approve Laptop for $900 from member@example.com?');
      expect(page.html).toContain('expense-approval');
      expect(page.html).toContain('member@example.com');
      expect(page.html).toContain(`<form method="post" action="/approve/${token}">`);
      expect(page.html).toContain('name="comment"');
      expect(page.html).toMatch(/<button[^>]*value="approve"/);
      expect(page.html).toMatch(/<button[^>]*value="reject"/);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    }
    await settle();
    expect(await status(runId)).toBe('running');
    expect((await request(runId)).decisions).toEqual([]);
    expect(await linkAudit(runId)).toEqual([
      expect.objectContaining({ approver: 'manager@example.com', action: 'view', outcome: 'shown' }),
      expect.objectContaining({ approver: 'manager@example.com', action: 'view', outcome: 'shown' }),
    ]);
    // The history never holds the token.
    expect(JSON.stringify(await engine.host.audit(runId))).not.toContain(token.split('.')[1]);
  });

  it("decides on the page's POST, and the run goes on", async () => {
    const runId = await start();
    const result = await post(tokenFor('manager@example.com'), { decision: 'approve', comment: 'ok <b>' });
    expect(result.status).toBe(200);
    expect(result.html).toContain('You approved');
    expect(await request(runId)).toMatchObject({
      status: 'approved',
      decisions: [
        { by: 'manager@example.com', decision: 'approve', comment: 'ok <b>', channel: 'email-link' },
      ],
    });
    await clock.run(engine.host, clock.now() + 60_000);
    expect(await status(runId)).toBe('completed');
    expect(await linkAudit(runId)).toEqual([
      expect.objectContaining({ action: 'decide', decision: 'approve', outcome: 'accepted', reason: null }),
    ]);
  });

  it('rejects through the link with the comment', async () => {
    const runId = await start();
    const result = await post(tokenFor('manager@example.com'), { decision: 'reject', comment: 'too much' });
    expect(result.status).toBe(200);
    expect(result.html).toContain('You rejected');
    expect(await request(runId)).toMatchObject({ status: 'rejected', decisions: [{ comment: 'too much' }] });
  });

  it('refuses a form without a valid decision, deciding nothing and keeping the link usable', async () => {
    const runId = await start();
    const token = tokenFor('manager@example.com');
    expect((await post(token, { decision: 'maybe' })).status).toBe(400);
    expect((await post(token, { decision: 'approve', comment: 'x'.repeat(2_001) })).status).toBe(400);
    expect((await request(runId)).decisions).toEqual([]);
    expect((await post(token)).status).toBe(200);
  });

  describe('refuses, changing nothing and recording the attempt', () => {
    const expectNothingDecided = async (runId: string) => {
      await settle();
      expect((await request(runId)).decisions).toEqual([]);
      expect(await status(runId)).toBe('running');
    };

    it('a tampered token (payload or signature)', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      const [body = '', signature = ''] = token.split('.');
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forgedBody = Buffer.from(JSON.stringify({ ...payload, a: 'viewer@example.com' })).toString(
        'base64url',
      );
      const flip = (text: string, at: number) =>
        text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
      const tampered = [
        `${forgedBody}.${signature}`,
        `${body}.${flip(signature, 5)}`,
        // The last character of a 32-byte base64url signature carries 2 unused bits: still refused.
        `${body}.${flip(signature, signature.length - 1)}`,
        `${flip(body, 3)}.${signature}`,
        `${body}.`,
        'garbage',
        `${body}.${signature}.${signature}`,
      ];
      for (const t of tampered) {
        const page = await view(t);
        expect(page.status, t).toBe(400);
        expect(page.html).toContain('Invalid link');
        expect(page.html).toContain('Nothing was decided');
        expect((await post(t)).status, t).toBe(400);
      }
      await expectNothingDecided(runId);
      // The forgeries that still name the request are recorded in its history.
      const audit = await linkAudit(runId);
      expect(audit.length).toBeGreaterThanOrEqual(6);
      expect(audit.every((a) => a.outcome === 'refused' && a.reason === 'tampered')).toBe(true);
      expect(audit).toContainEqual(
        expect.objectContaining({ approver: 'viewer@example.com', action: 'decide', reason: 'tampered' }),
      );
      // The genuine link still works.
      expect((await post(token)).status).toBe(200);
    });

    it('a used token on a second POST or view: refused as used, whichever decision it asks for', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      expect((await post(token)).status).toBe(200);

      const replay = await post(token, { decision: 'reject' });
      const page = await view(token);

      expect(replay.status).toBe(410);
      expect(replay.html).toContain('already been used');
      expect(page.status).toBe(410);
      expect(page.html).toContain('already been used');
      expect((await request(runId)).decisions).toEqual([expect.objectContaining({ decision: 'approve' })]);
      expect((await linkAudit(runId)).filter((a) => a.outcome === 'refused')).toEqual([
        expect.objectContaining({ action: 'decide', decision: 'reject', reason: 'used' }),
        expect.objectContaining({ action: 'view', reason: 'used' }),
      ]);
    });

    it('a used token after a restart: the spent link is kept in the database, not in memory', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      expect((await post(token)).status).toBe(200);
      // What a restarted server has: the same database, a new link store and service, no memory of the POST.
      const restarted = new Hono();
      mountApprovalPages(restarted, { links: makeLinks({ store: new SqliteApprovalLinkStore(engine.db) }) });

      const replay = await post(token, { decision: 'reject' }, {}, restarted);

      expect(replay.status).toBe(410);
      expect(replay.html).toContain('already been used');
      expect((await request(runId)).decisions).toEqual([expect.objectContaining({ decision: 'approve' })]);
    });

    it('a token posted twice at once: exactly one POST decides, the other is refused as used', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');

      const answers = await Promise.all([
        post(token, { decision: 'approve', comment: 'first' }),
        post(token, { decision: 'reject', comment: 'second' }),
      ]);

      expect(answers.map((a) => a.status).sort()).toEqual([200, 410]);
      expect(answers.find((a) => a.status === 410)?.html).toContain('already been used');
      expect((await request(runId)).decisions).toHaveLength(1);
      expect((await linkAudit(runId)).map((a) => [a.action, a.outcome, a.reason])).toEqual(
        expect.arrayContaining([
          ['decide', 'accepted', null],
          ['decide', 'refused', 'used'],
        ]),
      );
      expect(await linkAudit(runId)).toHaveLength(2);
    });

    it('a token whose earlier uses were refused is not spent: its approver can still decide', async () => {
      const strict = new Hono();
      mountApprovalPages(strict, {
        links: makeLinks({ requireLogin: true }),
        authenticateOptional: async (c) => USERS.find((u) => u.email === c.req.header('x-test-user')) ?? null,
      });
      const runId = await start();
      const token = tokenFor('manager@example.com');
      expect((await view(token)).status).toBe(200);
      const someoneElse = { 'x-test-user': 'viewer@example.com' };
      expect((await post(token, undefined, {}, strict)).status).toBe(403);
      expect((await post(token, undefined, someoneElse, strict)).status).toBe(403);

      const decided = await post(token, { decision: 'reject', comment: 'mine' });

      expect(decided.status).toBe(200);
      expect((await request(runId)).decisions).toEqual([
        expect.objectContaining({ by: 'manager@example.com', decision: 'reject', comment: 'mine' }),
      ]);
    });

    it('an expired token (its level timed out and escalated)', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      const deadline = (await request(runId)).deadline ?? 0;
      expect(deadline).toBe(clock.now() - 1_000 + 24 * HOUR);
      await clock.run(engine.host, deadline + 1_000);
      expect((await request(runId)).status).toBe('closed');
      expect((await request(runId, 2)).status).toBe('open');
      const page = await view(token);
      expect(page.status).toBe(410);
      expect(page.html).toContain('expired');
      expect((await post(token)).status).toBe(410);
      expect((await request(runId)).decisions).toEqual([]);
      expect((await request(runId, 2)).decisions).toEqual([]);
      expect(await status(runId)).toBe('running');
      expect(await linkAudit(runId)).toEqual([
        expect.objectContaining({ level: 1, action: 'view', outcome: 'refused', reason: 'expired' }),
        expect.objectContaining({ level: 1, action: 'decide', outcome: 'refused', reason: 'expired' }),
      ]);
    });

    it('a token for someone who is not an approver', async () => {
      const runId = await start();
      const foreign = new URL(links.issue(await request(runId), 'viewer@example.com')).pathname.slice(
        '/approve/'.length,
      );
      const page = await view(foreign);
      expect(page.status).toBe(403);
      expect(page.html).toContain('not for you');
      expect((await post(foreign)).status).toBe(403);
      await expectNothingDecided(runId);
      expect(await linkAudit(runId)).toEqual([
        expect.objectContaining({ approver: 'viewer@example.com', action: 'view', reason: 'not-approver' }),
        expect.objectContaining({ approver: 'viewer@example.com', action: 'decide', reason: 'not-approver' }),
      ]);
    });

    it('a token whose request another approver already decided', async () => {
      const runId = await start();
      await clock.run(engine.host, ((await request(runId)).deadline ?? 0) + 1_000);
      expect((await request(runId, 2)).approvers).toEqual(['director1@example.com', 'director2@example.com']);
      const first = tokenFor('director1@example.com');
      const second = tokenFor('director2@example.com');
      expect(first).not.toBe(second);
      expect((await post(first)).status).toBe(200);
      const page = await view(second);
      expect(page.status).toBe(410);
      expect(page.html).toContain('already been decided');
      expect((await post(second, { decision: 'reject' })).status).toBe(410);
      expect((await request(runId, 2)).decisions.map((d) => d.by)).toEqual(['director1@example.com']);
      await clock.run(engine.host, clock.now() + 60_000);
      expect(await status(runId)).toBe('completed');
      expect((await linkAudit(runId)).filter((a) => a.approver === 'director2@example.com')).toEqual([
        expect.objectContaining({ action: 'view', outcome: 'refused', reason: 'decided' }),
        expect.objectContaining({ action: 'decide', outcome: 'refused', reason: 'decided' }),
      ]);
    });

    it('a token of whoever triggered the run (separation of duties): never mailed, refused if held', async () => {
      const runId = await start('boss@example.com');
      // boss, their own manager, is left out: level 1 had nobody to ask, the directors are asked instead.
      expect(await engine.store.get(runId, 'manager_approval', 1, 1)).toBeUndefined();
      expect((await request(runId, 2)).approvers).toEqual(['director1@example.com', 'director2@example.com']);
      expect((await request(runId, 2)).requesters).toEqual(['boss@example.com']);
      expect(mail.filter((m) => m.to.includes('boss@example.com'))).toEqual([]);
      // A link boss got hold of anyway (signed with the server's key), for the level that is open.
      const token = links.token(await request(runId, 2), 'boss@example.com');
      const page = await view(token);
      expect(page.status).toBe(403);
      expect(page.html).toContain('cannot approve your own run');
      expect((await post(token)).status).toBe(403);
      await settle();
      expect((await request(runId, 2)).decisions).toEqual([]);
      expect(await status(runId)).toBe('running');
      expect((await linkAudit(runId)).map((a) => [a.approver, a.action, a.reason])).toEqual([
        ['boss@example.com', 'view', 'separation-of-duties'],
        ['boss@example.com', 'decide', 'separation-of-duties'],
      ]);
    });

    it("the requester's own link where the step allows self-approval", async () => {
      const selfApproved = EXPENSE.replace(
        '    approvers: ["{{trigger.user.manager}}"]\n',
        '    approvers: ["{{trigger.user.manager}}"]\n    allowSelfApproval: true\n',
      );
      const runId = await start('boss@example.com', 'Laptop', validateWorkflow(selfApproved, 'yaml').ir);
      expect((await request(runId)).approvers).toEqual(['boss@example.com']);
      const token = tokenFor('boss@example.com');

      expect((await view(token)).status).toBe(200);
      expect((await post(token)).status).toBe(200);

      expect((await request(runId)).decisions).toEqual([
        expect.objectContaining({ by: 'boss@example.com', selfApproval: true }),
      ]);
    });

    it('a token used without the login the configuration requires', async () => {
      const strict = new Hono();
      mountApprovalPages(strict, {
        links: makeLinks({ requireLogin: true }),
        authenticateOptional: async (c) => USERS.find((u) => u.email === c.req.header('x-test-user')) ?? null,
      });
      const runId = await start();
      const token = tokenFor('manager@example.com');
      const anonymous = await view(token, {}, strict);
      expect(anonymous.status).toBe(403);
      expect(anonymous.html).toContain('Log in');
      expect((await post(token, undefined, {}, strict)).status).toBe(403);
      const someoneElse = { 'x-test-user': 'viewer@example.com' };
      expect((await view(token, someoneElse, strict)).status).toBe(403);
      expect((await post(token, undefined, someoneElse, strict)).status).toBe(403);
      await expectNothingDecided(runId);
      expect((await linkAudit(runId)).map((a) => [a.action, a.reason])).toEqual([
        ['view', 'login-required'],
        ['decide', 'login-required'],
        ['view', 'not-approver'],
        ['decide', 'not-approver'],
      ]);
      const manager = { 'x-test-user': 'manager@example.com' };
      expect((await view(token, manager, strict)).status).toBe(200);
      expect((await post(token, undefined, manager, strict)).status).toBe(200);
      expect((await request(runId)).status).toBe('approved');
    });
  });

  describe('shows the approver what they decide on: the details, the inputs and the latest step results', () => {
    it('on the page, every value escaped and secret-looking keys redacted', async () => {
      const runId = await start();
      const page = await view(tokenFor('manager@example.com'));

      expect(page.status).toBe(200);
      expect(page.html).toContain('<h2>Details</h2>');
      expect(page.html).toContain('<th>Flagged for review</th><td>true</td>');
      expect(page.html).toContain(
        '<th>Policy findings</th><td><ul><li>amount $900 is over the $500 cap for &lt;equipment&gt;</li><li>receipt required over $75</li></ul></td>',
      );
      expect(page.html).toContain('<th>Category cap</th><td>$500</td>');
      expect(page.html).toContain('<h2>Inputs</h2>');
      expect(page.html).toContain('<th>amount</th><td>900</td>');
      expect(page.html).toContain('<th>description</th><td>Laptop</td>');
      expect(page.html).toContain('<h2>Latest step results</h2>');
      expect(page.html).toMatch(/<th>validate<\/th><td><pre class="args">\{\n {2}&quot;ok&quot;: true,/);
      expect(page.html).not.toContain('<equipment>');
      expect(page.html).not.toContain('tok-should-never-show');
      expect(page.html).toContain('&quot;accessToken&quot;: &quot;[redacted]&quot;');
      expect((await request(runId)).context?.details[0]).toEqual({
        label: 'Flagged for review',
        value: true,
      });
    });

    it('in the email, as text', async () => {
      await start();
      const email = mail.find((m) => m.to.includes('manager@example.com'));

      expect(email?.message).toContain(
        [
          'Details:',
          '  Flagged for review: true',
          '  Policy findings: amount $900 is over the $500 cap for <equipment>; receipt required over $75',
          '  Category cap: $500',
          '  Receipt required: true',
          '',
          'Inputs:',
          '  amount: 900',
          '  description: Laptop',
          '  category: equipment',
          '',
          'Latest step results:',
          '  validate: {"ok":true,"flagged":true,',
        ].join('\n'),
      );
      expect(email?.message).not.toContain('tok-should-never-show');
      expect(email?.message.indexOf('Details:')).toBeLessThan(email?.message.indexOf('/approve/') ?? 0);
    });
  });

  describe("a spent link's page tells its approver what became of the request", () => {
    const NAMES: Record<string, string> = {
      'manager@example.com': 'Mona <Manager>',
      'director1@example.com': 'Dora Director',
    };
    /** The pages with a directory that knows the deciders' names (one with markup in it). */
    const named = (options: Partial<ApprovalLinksDeps> = {}, withLogin = false) => {
      const withNames = new Hono();
      mountApprovalPages(withNames, {
        links: makeLinks(options),
        directory: {
          user: async (email) => {
            const known = USERS.find((u) => u.email === email);
            return known && { ...known, name: NAMES[email] ?? null };
          },
        },
        ...(!withLogin
          ? {}
          : {
              authenticateOptional: async (c) =>
                USERS.find((u) => u.email === c.req.header('x-test-user')) ?? null,
            }),
      });
      return withNames;
    };
    const minute = (at: string | number) =>
      `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

    it('a used link: who decided (their name, escaped), what, when, and a link to the run', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      expect((await post(token, { decision: 'approve', comment: 'fine' }, {}, named())).status).toBe(200);
      const decidedAt = (await request(runId)).decisions[0]?.at ?? '';

      const page = await view(token, {}, named());

      expect(page.status).toBe(410);
      expect(page.html).toContain('<h1>Already approved</h1>');
      expect(page.html).toContain(
        `Mona &lt;Manager&gt; (manager@example.com) <strong>approved</strong> on ${minute(decidedAt)}`,
      );
      expect(page.html).toContain(`href="/runs/${runId}"`);
      expect(page.html).toContain('Approve Laptop for $900');
      expect(page.html).not.toContain('Nothing was decided');
    });

    it("another approver's decision, and that a refused POST did not record this one", async () => {
      const runId = await start();
      await clock.run(engine.host, ((await request(runId)).deadline ?? 0) + 1_000);
      expect((await post(tokenFor('director1@example.com'), { decision: 'reject' })).status).toBe(200);
      const second = tokenFor('director2@example.com');

      const page = await view(second, {}, named());
      const late = await post(second, { decision: 'approve' }, {}, named());

      expect(page.html).toContain('<h1>Already rejected</h1>');
      expect(page.html).toContain('Dora Director (director1@example.com) <strong>rejected</strong> on');
      expect(late.status).toBe(410);
      expect(late.html).toContain('Your approval was not recorded.');
      expect(late.html).toContain(`href="/runs/${runId}"`);
      expect((await request(runId, 2)).decisions.map((d) => [d.by, d.decision])).toEqual([
        ['director1@example.com', 'reject'],
      ]);
    });

    it('an expired link: nobody decided before the deadline, and when that was', async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      const deadline = (await request(runId)).deadline ?? 0;
      await clock.run(engine.host, deadline + 1_000);

      const page = await view(token, {}, named());

      expect(page.status).toBe(410);
      expect(page.html).toContain(`Nobody decided before its deadline, ${minute(deadline)}`);
      expect(page.html).toContain(`href="/runs/${runId}"`);
    });

    it("nothing about the request for a link that is not its holder's to see", async () => {
      const runId = await start();
      const token = tokenFor('manager@example.com');
      expect((await post(token, undefined, {}, named())).status).toBe(200);
      // A link for someone who was never asked, signed with the server's key.
      const foreign = links.token(await request(runId), 'viewer@example.com');
      const strict = named({ requireLogin: true }, true);

      const pages = {
        foreign: await view(foreign, {}, named()),
        anonymous: await view(token, {}, strict),
        someoneElse: await view(token, { 'x-test-user': 'viewer@example.com' }, strict),
        approver: await view(token, { 'x-test-user': 'manager@example.com' }, strict),
      };

      for (const page of [pages.foreign, pages.anonymous, pages.someoneElse]) {
        expect(page.html).not.toContain('manager@example.com');
        expect(page.html).not.toContain('/runs/');
      }
      expect(pages.approver.html).toContain('(manager@example.com) <strong>approved</strong>');
    });
  });

  it('escapes everything it shows: a message with markup is text, not markup', async () => {
    const runId = await start('member@example.com', '<script>alert("x")</script> & <img src=x onerror=y>');
    const page = await view(tokenFor('manager@example.com'));
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>');
    expect(page.html).not.toContain('<img');
    expect(page.html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=y&gt;',
    );
    expect((await request(runId)).decisions).toEqual([]);
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => makeLinks({ secret: new Uint8Array(16) })).toThrow(/32 bytes/);
  });
});
