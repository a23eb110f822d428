// The end-to-end harness: `npm start`'s server (functions/local/server.ts) on a fresh data folder with the
// repository's config, driven over real HTTP with fetch, on a VirtualClock the tests move by hand (so a
// 24-hour approval timeout or an hourly schedule passes in milliseconds). Every wait polls the API with a
// bounded deadline; nothing sleeps a fixed time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../adapters/local/clock.js';
import { signWebhook } from '../../functions/core/triggers/webhook.js';
import { type RunningServer, startServer } from '../../functions/local/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const PASSWORD = 'stepgate-demo';
export const HOUR = 3_600_000;

/** A logged-in browser session (cookie + CSRF token) or an API token: how a request authenticates. */
export type Credential = { cookie: string; csrf: string } | { token: string };

/** A response read whole: its status and headers, its body as text and as JSON (null when it is not). */
export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  json: T;
  text: string;
}

/** One line of `GET /api/runs/:id/audit`. */
export interface AuditLine {
  runId: string;
  type: string;
  step: string | null;
  data: Record<string, unknown> | null;
  at: number;
}

/** A message of the development inbox (`GET /api/inbox`). */
export interface Mail {
  id: string;
  rcptTo: string[];
  subject: string;
  text: string;
}

export interface RunView {
  id: string;
  workflowId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';
  trigger: { type: string; user: { email: string }; by?: string };
  createdAt: number;
}

/** Polls `probe` until it returns a value (not undefined); fails naming `what` after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The first `/approve/<token>` link of a message. */
export function linkIn(mail: Mail): string {
  const link = /https?:\/\/\S+\/approve\/[A-Za-z0-9_.-]+/.exec(mail.text)?.[0];
  if (link === undefined) throw new Error(`no approval link in '${mail.subject}'`);
  return link;
}

/** The step ids a run entered, in order (its path), from its audit trail. */
export function pathOf(audit: AuditLine[]): string[] {
  return audit.filter((a) => a.type === 'step.entered' && a.step !== null).map((a) => a.step as string);
}

/** What a step's last `step.finished` entry says (an approval: approved, level, decidedBy, timedOut). */
export function finishedOf(audit: AuditLine[], step: string): Record<string, unknown> | undefined {
  return audit.filter((a) => a.type === 'step.finished' && a.step === step).at(-1)?.data ?? undefined;
}

/** The result a tool step produced, or undefined when it did not finish. */
export function resultOf(audit: AuditLine[], step: string): Record<string, unknown> | undefined {
  return finishedOf(audit, step)?.result as Record<string, unknown> | undefined;
}

/** A running server with its clock and data folder, and the HTTP helpers the tests share. */
export class E2eServer {
  private constructor(
    public server: RunningServer,
    public clock: VirtualClock,
    readonly home: string,
    private readonly config: string,
  ) {}

  /**
   * Starts the server on a fresh data folder (or `home`, to restart on the same state), with the
   * repository's config or the `config` file given.
   */
  static async start(
    options: { clock?: VirtualClock; home?: string; config?: string } = {},
  ): Promise<E2eServer> {
    const home = options.home ?? mkdtempSync(join(tmpdir(), 'stepgate-e2e-'));
    const clock = options.clock ?? new VirtualClock(Date.now());
    const config = options.config ?? join(ROOT, 'stepgate.config.yaml');
    const server = await startServer(E2eServer.env(home, config), { clock });
    const started = new E2eServer(server, clock, home, config);
    await started.warmUp();
    return started;
  }

  /**
   * Lists the MCP tools once, which spawns every sandbox server: the first tool step of a test then does
   * not pay for a cold start (seconds on a loaded machine). Call it in a hook with a generous timeout.
   */
  async warmUp(): Promise<void> {
    const tools = await this.api<unknown[]>(await this.login('emma@example.com'), 'GET', '/api/mcp/tools');
    if (tools.status !== 200 || tools.json.length === 0)
      throw new Error(`MCP tools: ${tools.status} ${tools.text}`);
  }

  private static env(home: string, config: string, port = 0): NodeJS.ProcessEnv {
    return { PORT: String(port), STEPGATE_HOME: home, STEPGATE_CONFIG: config };
  }

  get url(): string {
    return this.server.url;
  }

  /**
   * Stops the server and starts a new one on the same data folder and port (links emailed before still
   * point at it) with `clock`: the process restarted.
   */
  async restart(clock: VirtualClock): Promise<void> {
    const port = this.server.port;
    await this.server.close();
    this.clock = clock;
    this.server = await startServer(E2eServer.env(this.home, this.config, port), { clock });
    await this.warmUp();
  }

  /** Stops the server and removes its data folder. */
  async dispose(): Promise<void> {
    await this.server.close();
    rmSync(this.home, { recursive: true, force: true });
  }

  /**
   * Moves virtual time on to `at`, firing every timer that falls due on the way (approval deadlines,
   * escalations, schedules, retries) in time order. The server does not expose its engine's pending
   * work, so the clock cannot wait for it: first wait for what arms the timer (`awaitingApproval`, a
   * schedule's creation), and advance again after each timer whose effects arm the next one.
   */
  async advanceTo(at: number): Promise<void> {
    await this.clock.run({ pending: () => 0 }, at);
  }

  /**
   * Waits until the run waits at `level` of approval step `step` and returns that level's deadline. Its
   * `approval.requested` entry is committed in the same batch that arms the deadline's timer, so once it is
   * visible the timer is on the clock (the email, sent before, is not proof of that).
   */
  async awaitingApproval(as: Credential, runId: string, step: string, level: number): Promise<number> {
    return until(`run ${runId} to wait at ${step} level ${level}`, async () => {
      const requested = (await this.audit(as, runId)).find(
        (a) => a.type === 'approval.requested' && a.step === step && a.data?.level === level,
      );
      return requested?.data?.deadline as number | undefined;
    });
  }

  async login(email: string, password = PASSWORD): Promise<Credential> {
    const response = await fetch(`${this.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    if (response.status !== 200) throw new Error(`login ${email}: ${response.status}`);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrf } = (await response.json()) as { csrf: string };
    return { cookie, csrf };
  }

  async api<T = unknown>(
    as: Credential | null,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = as === null ? {} : authHeaders(as);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.status, headers: response.headers, json: json as T, text };
  }

  /** Starts a workflow by hand (201 expected) and returns the run id. */
  async startRun(as: Credential, workflowId: string, input: Record<string, unknown>): Promise<string> {
    const started = await this.api<{ runId: string }>(as, 'POST', `/api/workflows/${workflowId}/run`, {
      input,
    });
    if (started.status !== 201) throw new Error(`start ${workflowId}: ${started.status} ${started.text}`);
    return started.json.runId;
  }

  async run(as: Credential, runId: string): Promise<RunView> {
    const answer = await this.api<RunView>(as, 'GET', `/api/runs/${runId}`);
    if (answer.status !== 200) throw new Error(`run ${runId}: ${answer.status} ${answer.text}`);
    return answer.json;
  }

  /** Waits until the run is no longer running and returns it. */
  async finished(as: Credential, runId: string): Promise<RunView> {
    return until(`run ${runId} to end`, async () => {
      const run = await this.run(as, runId);
      return run.status === 'running' ? undefined : run;
    });
  }

  /** The run's audit trail, from its JSON Lines export. */
  async audit(as: Credential, runId: string): Promise<AuditLine[]> {
    const response = await fetch(`${this.url}/api/runs/${runId}/audit`, { headers: authHeaders(as) });
    if (response.status !== 200) throw new Error(`audit ${runId}: ${response.status}`);
    const text = await response.text();
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AuditLine);
  }

  /** Waits until the run has entered `step` (it is, or was, waiting there). */
  async reached(as: Credential, runId: string, step: string): Promise<AuditLine[]> {
    return until(`run ${runId} to reach ${step}`, async () => {
      const audit = await this.audit(as, runId);
      return pathOf(audit).includes(step) ? audit : undefined;
    });
  }

  /** The caller's mail (an admin: anyone's, with `to`). */
  async inbox(as: Credential, to?: string): Promise<Mail[]> {
    const query = to === undefined ? '' : `?to=${encodeURIComponent(to)}`;
    return (await this.api<Mail[]>(as, 'GET', `/api/inbox${query}`)).json;
  }

  /** Waits for a message in the caller's inbox (an admin's: `to`'s) that `match` accepts. */
  async mail(as: Credential, match: (mail: Mail) => boolean, to?: string): Promise<Mail> {
    return until(`mail${to ? ` to ${to}` : ''}`, async () => (await this.inbox(as, to)).find(match));
  }

  /**
   * A Standard Webhooks delivery signed with `secret`, its timestamp on the server's clock (the signature
   * check reads the virtual time).
   */
  async deliver(
    workflowId: string,
    secret: string,
    id: string,
    body: Record<string, unknown>,
  ): Promise<Answer<{ runId: string; redelivery: boolean }>> {
    const raw = JSON.stringify(body);
    const timestamp = Math.floor(this.clock.now() / 1000);
    const response = await fetch(`${this.url}/api/workflows/${workflowId}/run`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook({ secret, id, timestamp, body: raw }),
      },
      body: raw,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: JSON.parse(text), text };
  }
}

/** The headers that authenticate a request (a session's state-changing requests need its CSRF token). */
function authHeaders(as: Credential): Record<string, string> {
  return 'token' in as
    ? { authorization: `Bearer ${as.token}` }
    : { cookie: as.cookie, 'x-csrf-token': as.csrf };
}

/** Posts an approval page's form (what the Approve / Reject buttons send). */
export function postLink(link: string, decision: 'approve' | 'reject', comment = ''): Promise<Response> {
  return fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision, comment }),
  });
}

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
export function webhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}
