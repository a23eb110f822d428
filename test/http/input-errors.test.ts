// What the API says to someone who gets a request slightly wrong, over real HTTP on `npm start`'s server
// (the repository's config, demo users and templates): run inputs sent without the `input` wrapper (or a
// webhook body with one), a pattern or format said in words with the property's description, a misspelt
// input name, a misspelt workflow / template / route / user / vault entry with did-you-mean among what the caller may list —
// never to an API token that may not list workflows — and a schedule's cron and time zone in words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credential, E2eServer } from '../e2e/support.js';

interface Answer {
  status: number;
  problem: { detail?: string; field?: string; title?: string };
}

describe('API errors a new user meets', () => {
  let s: E2eServer;

  beforeAll(async () => {
    s = await E2eServer.start();
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  /** A request whose error answers must be problem documents (RFC 9457). */
  const call = async (who: Credential, method: string, path: string, body?: unknown): Promise<Answer> => {
    const answer = await s.api<Answer['problem'] | null>(who, method, path, body);
    if (answer.status >= 400)
      expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
    return { status: answer.status, problem: answer.json ?? {} };
  };

  /** A new API token of `owner`'s with `scopes`. */
  const token = async (owner: Credential, name: string, scopes: string[]): Promise<Credential> => {
    const created = await s.api<{ token: string }>(owner, 'POST', '/api/tokens', { name, scopes });
    expect(created.status).toBe(201);
    return { token: created.json.token };
  };

  it('points at the input wrapper when the inputs are sent as the body of a start by hand', async () => {
    const emma = await s.login('emma@example.com');
    const bare = await call(emma, 'POST', '/api/workflows/expense-approval/run', {
      amount: 12,
      description: 'Lunch',
    });
    expect(bare.status).toBe(422);
    expect(bare.problem.field).toBe('input');
    expect(bare.problem.detail).toBe(
      `the body has 'amount', 'description' but no 'input': send the inputs as {"input": {"amount": …, "description": …}}`,
    );
    const beside = await call(emma, 'POST', '/api/workflows/expense-approval/run', {
      input: { amount: 12, description: 'Lunch' },
      category: 'meals',
    });
    expect(beside.status).toBe(422);
    expect(beside.problem).toMatchObject({
      field: 'category',
      detail:
        "unknown field 'category': the body has only 'input' (put 'category' inside it if it is an input)",
    });
    // The right shape still starts the run.
    const started = await call(emma, 'POST', '/api/workflows/expense-approval/run', {
      input: { amount: 12, description: 'Lunch' },
    });
    expect(started.status).toBe(201);
  });

  it('says a pattern and a format in words with the description, and spots a misspelt input name', async () => {
    const emma = await s.login('emma@example.com');
    const wrong = await call(emma, 'POST', '/api/workflows/travel-booking/run', {
      input: { origin: 'lhr', destination: 'JFK', departureDate: 'next friday', budget: '900' },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.problem.field).toBe('input.origin');
    const detail = wrong.problem.detail ?? '';
    expect(detail).toContain("origin: 'origin' must be 3 capital letters (IATA airport code, e.g. LHR)");
    expect(detail).toContain("departureDate: 'departureDate' must be a date such as 2026-03-14");
    expect(detail).toContain(`budget: 'budget' must be a number, not text ("900")`);
    expect(detail).not.toContain('^[A-Z]');

    const typo = await call(emma, 'POST', '/api/workflows/expense-approval/run', {
      input: { ammount: 12, description: 'Lunch' },
    });
    expect(typo.status).toBe(422);
    expect(typo.problem.detail).toBe(
      "amount: 'amount' is required (the input has 'ammount': did you mean 'amount'?)",
    );
  });

  it('suggests the workflow, version, template and route meant by a misspelt one', async () => {
    const emma = await s.login('emma@example.com');
    const get = await call(emma, 'GET', '/api/workflows/expense-aproval');
    expect(get).toMatchObject({
      status: 404,
      problem: { detail: "no workflow 'expense-aproval' (did you mean 'expense-approval'?)" },
    });
    const run = await call(emma, 'POST', '/api/workflows/travel-bookin/run', { input: {} });
    expect(run.status).toBe(404);
    expect(run.problem.detail).toBe("no workflow 'travel-bookin' (did you mean 'travel-booking'?)");
    const nothingClose = await call(emma, 'GET', '/api/workflows/payroll');
    expect(nothingClose.problem.detail).toBe("no workflow 'payroll'");
    const version = await call(emma, 'GET', '/api/workflows/expense-approval/versions/7');
    expect(version.status).toBe(404);
    expect(version.problem.detail).toBe("no version 7 of workflow 'expense-approval': it has version 1");

    const fiona = await s.login('fiona@example.com'); // a lead: may install templates
    const template = await call(fiona, 'POST', '/api/templates/incident-respons/install');
    expect(template.status).toBe(404);
    expect(template.problem.detail).toBe(
      "no template 'incident-respons' (did you mean 'incident-response'?)",
    );

    const route = await call(emma, 'POST', '/api/workflows/expense-approval/runs', { input: {} });
    expect(route.status).toBe(404);
    expect(route.problem.detail).toBe(
      'no route POST /api/workflows/expense-approval/runs (did you mean POST /api/workflows/{id}/run?)',
    );
    const method = await call(emma, 'GET', '/api/workflows/expense-approval/run');
    expect(method.status).toBe(405);
    expect(method.problem.detail).toBe(
      'no route GET /api/workflows/expense-approval/run: this path takes POST',
    );
  });

  it('suggests the user and the vault entry meant, to those who may list them', async () => {
    const ada = await s.login('ada@example.com'); // an admin: may list users
    const user = await call(ada, 'GET', '/api/users/emma@exmaple.com');
    expect(user).toMatchObject({
      status: 404,
      problem: { detail: "no user 'emma@exmaple.com' (did you mean 'emma@example.com'?)" },
    });
    const emma = await s.login('emma@example.com');
    const scope = 'user:emma@example.com';
    const set = await call(emma, 'PUT', '/api/vault', { scope, name: 'SLACK_WEBHOOK', value: 'https://x' });
    expect(set.status).toBe(201);
    const removed = await call(emma, 'DELETE', '/api/vault', { scope, name: 'SLACK_WEBHOK' });
    expect(removed).toMatchObject({
      status: 404,
      problem: { detail: `no vault entry 'SLACK_WEBHOK' in ${scope} (did you mean 'SLACK_WEBHOOK'?)` },
    });
  });

  it('tells a webhook caller its body is the input itself, and suggests no id it may not list', async () => {
    const max = await s.login('max@example.com'); // a manager: may start employee onboarding
    const machine = await token(max, 'hr system', ['webhook:employee-onboarding']);
    const hire = {
      fullName: 'Grace Hopper',
      personalEmail: 'grace@example.org',
      department: 'engineering',
      manager: 'max@example.com',
      startDate: '2026-02-02',
    };
    const wrapped = await call(machine, 'POST', '/api/workflows/employee-onboarding/run', { input: hire });
    expect(wrapped.status).toBe(422);
    expect(wrapped.problem.detail).toContain(
      `(a webhook's body is the input itself: send the fields without the {"input": …} wrapper)`,
    );
    // Its token reaches nothing but that workflow's webhook; a token that may start runs but not list
    // workflows gets no suggestion for a misspelt id (it would learn ids it may not list).
    expect((await call(machine, 'POST', '/api/workflows/employee-onboardng/run', hire)).status).toBe(403);
    const blind = await token(max, 'starter', ['runs:start']);
    const misspelt = await call(blind, 'POST', '/api/workflows/employee-onboardng/run', { input: hire });
    expect(misspelt.status).toBe(404);
    expect(misspelt.problem.detail).toBe("no workflow 'employee-onboardng'");
    // With workflows:read, the same mistake gets the suggestion.
    const seeing = await token(max, 'reader', ['runs:start', 'workflows:read']);
    const suggested = await call(seeing, 'POST', '/api/workflows/employee-onboardng/run', { input: hire });
    expect(suggested.problem.detail).toBe(
      "no workflow 'employee-onboardng' (did you mean 'employee-onboarding'?)",
    );
  });

  it('says what is wrong with a schedule in words, naming the field', async () => {
    const emma = await s.login('emma@example.com');
    const schedule = (fields: Record<string, unknown>) =>
      call(emma, 'POST', '/api/schedules', {
        workflowId: 'expense-approval',
        input: { amount: 5, description: 'Coffee beans' },
        ...fields,
      });
    const hour = await schedule({ cron: '0 25 * * *' });
    expect(hour.status).toBe(422);
    expect(hour.problem).toMatchObject({
      field: 'cron',
      detail:
        "invalid cron expression '0 25 * * *': the hour field '25' is out of range 0–23; e.g. '0 9 * * 1-5' is 9:00 on weekdays",
    });
    const zone = await schedule({ cron: '0 9 * * 1-5', timezone: 'Europe/Pariss' });
    expect(zone.problem).toMatchObject({
      field: 'timezone',
      detail: "'Europe/Pariss' is not an IANA time zone — did you mean Europe/Paris?",
    });
    const six = await schedule({ cron: '0 0 9 * * 1' });
    expect(six.problem.detail).toContain('found 6 (there is no seconds field)');
    for (const detail of [hour, zone, six].map((a) => a.problem.detail ?? ''))
      expect(detail).not.toMatch(/CronPattern|Syntax error|toTZ|Original error/);

    const workflow = await schedule({ workflowId: 'expense-aproval', preset: 'hourly' });
    expect(workflow.problem).toMatchObject({
      field: 'workflowId',
      detail: "no workflow 'expense-aproval' (did you mean 'expense-approval'?)",
    });
    const field = await schedule({ preset: 'hourly', timeZone: 'UTC' });
    expect(field.problem).toMatchObject({
      field: 'timeZone',
      detail: "unknown field 'timeZone' (did you mean 'timezone'?)",
    });
    const bare = await call(emma, 'POST', '/api/schedules', {
      workflowId: 'expense-approval',
      preset: 'hourly',
      amount: 5,
    });
    expect(bare.problem.detail).toBe(
      `unknown field 'amount' (the workflow's inputs go in 'input': {"input": {"amount": …}})`,
    );
  });
});
