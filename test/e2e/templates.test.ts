// Every template from every trigger type it declares, against `npm start`'s server over real HTTP: a
// manual start by a demo user, a signed webhook delivery (its secret put in the vault through the API) or
// a webhook API token, and chat. Each run ends where the template's scenarios say, with its effects
// visible through the API: the audit trail's step results and the mail in the development inbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Credential,
  E2eServer,
  finishedOf,
  linkIn,
  pathOf,
  postLink,
  resultOf,
  webhookSecret,
} from './support.js';

describe('the four templates from each of their triggers, over HTTP', () => {
  let s: E2eServer;
  let ada: Credential;
  let emma: Credential;
  let max: Credential;
  let dana: Credential;

  beforeAll(async () => {
    s = await E2eServer.start();
    [ada, emma, max, dana] = await Promise.all([
      s.login('ada@example.com'),
      s.login('emma@example.com'),
      s.login('max@example.com'),
      s.login('dana@example.com'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  /** Puts a workflow's webhook signing secret in the vault at org level, as an admin does. */
  const webhookSecretFor = async (workflowId: string): Promise<string> => {
    const secret = webhookSecret();
    const put = await s.api(ada, 'PUT', '/api/vault', {
      scope: 'org',
      name: `webhook.${workflowId}`,
      value: secret,
    });
    expect(put.status, put.text).toBe(201);
    return secret;
  };

  it('warns at validation and on save about a tool no MCP server offers, naming the closest', async () => {
    const definition = (tool: string) => ({
      version: 1,
      id: 'tool-check',
      name: 'Tool check',
      triggers: [{ type: 'manual', minRole: 'member' }],
      steps: [{ id: 'charge', type: 'tool', tool, args: { amount: 1 } }],
    });
    type Checked = { valid: boolean; diagnostics: { severity: string; code: string; message: string }[] };
    const misspelled = await s.api<Checked>(
      ada,
      'POST',
      '/api/workflows/validate',
      definition('payments-charg'),
    );
    expect(misspelled.status).toBe(200);
    expect(misspelled.json.valid).toBe(true);
    const warning = misspelled.json.diagnostics.find((d) => d.code === 'unknown-tool');
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toContain('payments-charge');
    const known = await s.api<Checked>(ada, 'POST', '/api/workflows/validate', definition('payments-charge'));
    expect(known.json.diagnostics.filter((d) => d.code === 'unknown-tool')).toEqual([]);
    const saved = await s.api<{ warnings: { code: string }[] }>(
      ada,
      'PUT',
      '/api/workflows/tool-check',
      definition('payments-charg'),
    );
    expect(saved.status).toBe(201);
    expect(saved.json.warnings.map((w) => w.code)).toContain('unknown-tool');
  });

  it('warns at validation and on save about an alias another workflow answers to in chat', async () => {
    const definition = (aliases: string[]) => ({
      version: 1,
      id: 'alias-check',
      name: 'Alias check',
      aliases,
      triggers: [{ type: 'manual', minRole: 'member' }],
      steps: [{ id: 'tell', type: 'notify', channel: 'email', to: 'emma@example.com', message: 'hi' }],
    });
    type Checked = {
      valid: boolean;
      diagnostics: { severity: string; code: string; message: string; line: number }[];
    };
    // expense-approval answers to 'submit expense': the same words in another order clash; 'file receipt' does not.
    const checked = await s.api<Checked>(
      ada,
      'POST',
      '/api/workflows/validate',
      definition(['file receipt', 'Expense  submit']),
    );
    expect(checked.json.valid).toBe(true);
    const clashes = checked.json.diagnostics.filter((d) => d.code === 'duplicate-alias');
    expect(clashes).toHaveLength(1);
    expect(clashes[0]).toMatchObject({ severity: 'warning' });
    expect(clashes[0]?.message).toContain("workflow 'expense-approval' with 'Expense  submit'");
    const saved = await s.api<{ warnings: { code: string }[] }>(
      ada,
      'PUT',
      '/api/workflows/alias-check',
      definition(['file receipt']),
    );
    expect(saved.status).toBe(201);
    expect(saved.json.warnings.map((w) => w.code)).not.toContain('duplicate-alias');
    // Saved again under its own id, its own aliases are not a clash with itself.
    const again = await s.api<{ warnings: { code: string }[] }>(
      ada,
      'PUT',
      '/api/workflows/alias-check',
      definition(['file receipt', 'incident response']),
    );
    expect(again.json.warnings.filter((w) => w.code === 'duplicate-alias')).toHaveLength(1);
  });

  describe('expense-approval', () => {
    it('manual: an expense under $500 is validated, paid through the sandbox and confirmed by email', async () => {
      const runId = await s.startRun(emma, 'expense-approval', {
        amount: 120,
        description: 'Airport taxi',
        category: 'travel',
      });

      const run = await s.finished(emma, runId);

      expect(run).toMatchObject({
        status: 'completed',
        trigger: { type: 'manual', user: { email: 'emma@example.com' } },
      });
      const audit = await s.audit(emma, runId);
      expect(pathOf(audit)).toEqual(['validate', 'over_threshold', 'process_payment', 'notify_paid']);
      const payment = resultOf(audit, 'process_payment');
      expect(payment).toMatchObject({ amount: 120, payee: 'emma@example.com', status: 'succeeded' });
      const paid = await s.mail(emma, (m) => m.subject === 'Expense paid: Airport taxi');
      expect(paid.text).toContain(`payment reference ${String(payment?.id)}`);
    });

    it('webhook (signature): a signed delivery runs as ops-bot once, however often it is redelivered', async () => {
      const secret = await webhookSecretFor('expense-approval');
      const body = { amount: 80, description: 'Printer toner', category: 'equipment' };

      const first = await s.deliver('expense-approval', secret, 'msg_expense_1', body);
      const again = await s.deliver('expense-approval', secret, 'msg_expense_1', body);

      expect(first.status, first.text).toBe(201);
      expect(again).toMatchObject({ status: 200, json: { runId: first.json.runId, redelivery: true } });
      const run = await s.finished(ada, first.json.runId);
      expect(run).toMatchObject({
        status: 'completed',
        trigger: { type: 'webhook', user: { email: 'ops-bot@example.com' } },
      });
      const audit = await s.audit(ada, run.id);
      expect(resultOf(audit, 'process_payment')).toMatchObject({ amount: 80, payee: 'ops-bot@example.com' });
      const runs = (
        await s.api<Array<{ trigger: { type: string } }>>(ada, 'GET', '/api/runs?workflowId=expense-approval')
      ).json;
      expect(runs.filter((r) => r.trigger.type === 'webhook')).toHaveLength(1);
      await s.mail(ada, (m) => m.subject === 'Expense paid: Printer toner', 'ops-bot@example.com');
    });

    it('chat: a message missing the description is asked for it, then starts the run as the chatting user', async () => {
      const ask = await s.api<{ action: string; context: unknown; missing: Array<{ field: string }> }>(
        emma,
        'POST',
        '/api/chat',
        { message: 'submit expense 45' },
      );
      expect(ask.json).toMatchObject({ action: 'ask', missing: [{ field: 'description' }] });

      // The expense can be charged (payments-charge writes): the chat asks before it starts the run.
      const understood = await s.api<{ action: string; confirmation: { token: string } }>(
        emma,
        'POST',
        '/api/chat',
        { message: 'description: team lunch', context: ask.json.context },
      );
      expect(understood.json.action, understood.text).toBe('confirm');
      const started = await s.api<{ action: string; runId: string }>(emma, 'POST', '/api/chat/confirm', {
        token: understood.json.confirmation.token,
      });

      expect(started.json.action, started.text).toBe('started');
      const run = await s.finished(emma, started.json.runId);
      expect(run).toMatchObject({
        status: 'completed',
        trigger: { type: 'chat', user: { email: 'emma@example.com' } },
      });
      await s.mail(emma, (m) => m.subject === 'Expense paid: team lunch');
    });
  });

  describe('employee-onboarding', () => {
    const hire = (fullName: string, personalEmail: string) => ({
      fullName,
      personalEmail,
      department: 'engineering',
      manager: 'max@example.com',
      startDate: '2026-12-07',
      equipment: 'laptop and two monitors',
    });

    it('manual: a manager onboards a hire; the account, groups and orientation are set up, equipment approved by the director, mails sent', async () => {
      const runId = await s.startRun(max, 'employee-onboarding', hire('Nina Newhire', 'nina@home.example'));
      // Max is both the starter and the hire's manager: separation of duties leaves him out of the
      // approvers, so the equipment request goes to the director at once.
      await s.awaitingApproval(max, runId, 'equipment_approval', 2);

      const decided = await s.api(dana, 'POST', `/api/approvals/${runId}/equipment_approval`, {
        decision: 'approve',
        comment: 'standard order',
      });

      expect(decided.status, decided.text).toBe(200);
      const run = await s.finished(max, runId);
      expect(run.status).toBe('completed');
      const audit = await s.audit(max, runId);
      const account = resultOf(audit, 'create_account') as { email: string };
      expect(account.email).toMatch(/@/);
      expect(finishedOf(audit, 'equipment_approval')).toMatchObject({
        approved: true,
        level: 2,
        decidedBy: 'dana@example.com',
      });
      expect(pathOf(audit)).toEqual(
        expect.arrayContaining(['assign_groups', 'schedule_orientation', 'welcome_email', 'notify_manager']),
      );
      expect(pathOf(audit)).not.toContain('equipment_declined');
      const welcome = await s.mail(
        ada,
        (m) => m.subject === 'Welcome to the team, Nina Newhire!',
        'nina@home.example',
      );
      expect(welcome.rcptTo).toEqual(['nina@home.example', account.email]);
      expect(welcome.text).toContain(`Your account is ${account.email}`);
      await s.mail(max, (m) => m.subject === 'Onboarding complete: Nina Newhire');
    });

    it('webhook (token): an API token scoped to the webhook starts the run; the manager approves by link', async () => {
      const minted = await s.api<{ token: string }>(ada, 'POST', '/api/tokens', {
        name: 'hr system',
        scopes: ['webhook:employee-onboarding'],
      });
      expect(minted.status, minted.text).toBe(201);
      const hook: Credential = { token: minted.json.token };

      const started = await s.api<{ runId: string }>(
        hook,
        'POST',
        '/api/workflows/employee-onboarding/run',
        hire('Omar Onboard', 'omar@home.example'),
      );

      expect(started.status, started.text).toBe(201);
      const runId = started.json.runId;
      const mail = await s.mail(
        max,
        (m) => m.subject === 'Approval needed: employee-onboarding' && m.text.includes('Omar Onboard'),
      );
      expect((await postLink(linkIn(mail), 'approve', 'ok')).status).toBe(200);
      const run = await s.finished(ada, runId);
      expect(run).toMatchObject({ status: 'completed', trigger: { type: 'webhook' } });
      await s.mail(ada, (m) => m.subject === 'Welcome to the team, Omar Onboard!', 'omar@home.example');
    });

    // A run started with a `webhook:<id>` token acts as the trigger's runAs; the token's owner is `by`.
    it('webhook (token): the run acts as the trigger’s runAs, hr-system', async () => {
      const minted = await s.api<{ token: string }>(ada, 'POST', '/api/tokens', {
        name: 'hr system (runAs)',
        scopes: ['webhook:employee-onboarding'],
      });
      const started = await s.api<{ runId: string }>(
        { token: minted.json.token },
        'POST',
        '/api/workflows/employee-onboarding/run',
        hire('Rui Runas', 'rui@home.example'),
      );
      const run = await s.run(ada, started.json.runId);
      expect(run.trigger.user.email).toBe('hr-system@example.com');
      expect(run.trigger.by).toBe('ada@example.com');
    });

    // Any user may mint a `webhook:<id>` token, but the token's owner must be allowed to start the workflow.
    it('webhook (token): a member cannot start the manager-only onboarding with a self-minted token', async () => {
      const minted = await s.api<{ token: string }>(emma, 'POST', '/api/tokens', {
        name: 'sneaky',
        scopes: ['webhook:employee-onboarding'],
      });
      // Refusing either the token or the start would fix it.
      const started =
        minted.status === 201
          ? await s.api(
              { token: minted.json.token },
              'POST',
              '/api/workflows/employee-onboarding/run',
              hire('Eve Escalate', 'eve@home.example'),
            )
          : undefined;
      expect(minted.status !== 201 || started?.status === 403).toBe(true);
    });
  });

  describe('incident-response', () => {
    /** A critical incident: it pages the on-call engineer, who acknowledges by the link in their mail. */
    const acknowledgeByLink = async (runId: string, as: Credential) => {
      const audit = await s.reached(as, runId, 'acknowledge');
      const oncall = resultOf(audit, 'find_oncall') as { email: string };
      const incident = resultOf(audit, 'assess') as { incidentId: string; severity: string };
      expect(incident.severity).toBe('critical');
      const mail = await s.mail(
        ada,
        (m) => m.subject === 'Approval needed: incident-response' && m.text.includes(incident.incidentId),
        oncall.email,
      );
      expect((await postLink(linkIn(mail), 'approve', 'on it')).status).toBe(200);
      const run = await s.finished(as, runId);
      const done = await s.audit(as, runId);
      return { run, audit: done, oncall, incident };
    };

    it('webhook (signature): a critical alert pages on-call, who acknowledges; the incident is owned', async () => {
      const secret = await webhookSecretFor('incident-response');

      const delivered = await s.deliver('incident-response', secret, 'msg_incident_1', {
        title: 'API down',
        service: 'api',
        source: 'grafana',
      });

      expect(delivered.status, delivered.text).toBe(201);
      const { run, audit, oncall, incident } = await acknowledgeByLink(delivered.json.runId, ada);
      expect(run).toMatchObject({
        status: 'completed',
        trigger: { type: 'webhook', user: { email: 'monitoring-bot@example.com' } },
      });
      expect(resultOf(audit, 'page_pager')).toMatchObject({
        incidentId: incident.incidentId,
        delivered: true,
      });
      expect(resultOf(audit, 'mark_acknowledged')).toMatchObject({
        incidentId: incident.incidentId,
        status: 'acknowledged',
        owner: oncall.email,
      });
    });

    it('manual: a member reports a critical outage; on-call acknowledges by link', async () => {
      const runId = await s.startRun(emma, 'incident-response', {
        title: 'Checkout outage',
        service: 'checkout',
        details: 'all requests fail',
      });

      const { run, audit } = await acknowledgeByLink(runId, emma);

      expect(run).toMatchObject({
        status: 'completed',
        trigger: { type: 'manual', user: { email: 'emma@example.com' } },
      });
      expect(pathOf(audit).at(-1)).toBe('mark_acknowledged');
    });

    // No Slack account in the vault: the repository's config sends the message to the development inbox.
    it('manual: a non-critical alert goes to #incidents (the dev inbox locally) and the incident is triaged', async () => {
      const runId = await s.startRun(emma, 'incident-response', {
        title: 'Search index slow',
        service: 'search',
      });
      const run = await s.finished(emma, runId);
      expect(run.status).toBe('completed');
      await s.mail(
        ada,
        (m) => m.subject.startsWith('[slack → #incidents]') && m.text.includes('Search index slow'),
      );
    });
  });

  describe('travel-booking', () => {
    it('manual: a fare within budget is booked, charged and the itinerary emailed', async () => {
      const runId = await s.startRun(emma, 'travel-booking', {
        origin: 'SFO',
        destination: 'JFK',
        departureDate: '2026-12-10',
        budget: 5000,
        purpose: 'customer visit',
      });

      const run = await s.finished(emma, runId);

      expect(run.status).toBe('completed');
      const audit = await s.audit(emma, runId);
      expect(pathOf(audit)).toEqual([
        'preferences',
        'search_flights',
        'check_budget',
        'book_flight',
        'charge_card',
        'send_itinerary',
      ]);
      const booking = resultOf(audit, 'book_flight') as { bookingReference: string };
      const flight = resultOf(audit, 'search_flights') as { price: number };
      expect(resultOf(audit, 'charge_card')).toMatchObject({
        amount: flight.price,
        payee: 'emma@example.com',
      });
      const itinerary = await s.mail(
        emma,
        (m) => m.subject === `Your flight SFO to JFK is booked (${booking.bookingReference})`,
      );
      expect(itinerary.text).toContain(`Charged $${flight.price}`);
    });

    it('chat: a fare over budget goes to the manager, who approves by link; then it is booked', async () => {
      // Booking and charging write: the chat shows what it understood and starts only once confirmed.
      const asked = await s.api<{
        action: string;
        input: Record<string, unknown>;
        writes: string[];
        confirmation: { token: string };
      }>(emma, 'POST', '/api/chat', { message: 'book a flight SFO to LHR on 2026-12-14 budget 100' });
      expect(asked.json, asked.text).toMatchObject({
        action: 'confirm',
        input: { origin: 'SFO', destination: 'LHR', departureDate: '2026-12-14', budget: 100 },
      });
      expect(asked.json.writes).toEqual(expect.arrayContaining(['travel-book', 'payments-charge']));
      expect(asked.json.writes).not.toContain('travel-search-flights');
      const started = await s.api<{ action: string; runId: string }>(emma, 'POST', '/api/chat/confirm', {
        token: asked.json.confirmation.token,
      });
      expect(started.json.action, started.text).toBe('started');
      const runId = started.json.runId;

      const mail = await s.mail(
        max,
        (m) => m.subject === 'Approval needed: travel-booking' && m.text.includes(`run ${runId}`),
      );
      expect((await postLink(linkIn(mail), 'approve', 'worth it')).status).toBe(200);

      const run = await s.finished(emma, runId);
      expect(run).toMatchObject({ status: 'completed', trigger: { type: 'chat' } });
      const audit = await s.audit(emma, runId);
      expect(pathOf(audit)).toEqual([
        'preferences',
        'search_flights',
        'check_budget',
        'manager_approval',
        'book_flight',
        'charge_card',
        'send_itinerary',
      ]);
      await s.mail(emma, (m) => m.subject.startsWith('Your flight SFO to LHR is booked'));
    });
  });
});
