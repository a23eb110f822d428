// The access table walked against the started server: every declared route (functions/core/http/access.ts,
// generated from the OpenAPI document, so a new route cannot skip it) × unauthenticated, a login of every
// role, an API token of every scope, and a member's tokens. Each answer is classified as the table's
// refusal (401, or a 403 that names the role or scope) or "let through" (whatever the handler then says:
// 404 for the made-up ids, 422 for the empty bodies), and compared with what the table says it should be.
// Path parameters name nothing that exists and bodies are empty, so no request changes anything.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_SCOPES, type ApiScope, roleAtLeast, roleHolds, SCOPES } from '../../functions/core/auth.js';
import type { RouteRule } from '../../functions/core/http/access.js';
import { ROUTES } from '../../functions/core/http/app.js';
import { ROLES, type Role } from '../../translator/definition.js';
import { type Credential, E2eServer, PASSWORD } from '../e2e/support.js';

const PARAMS: Record<string, string> = {
  id: 'no-such-thing',
  version: '1',
  email: 'nobody@example.com',
  runId: 'no-such-run',
  stepId: 'no-such-step',
};
const WEBHOOK_SCOPE: ApiScope = `webhook:${PARAMS.id}`;
const TABLE_REFUSAL = /^(this needs the role |this needs the .+ scope|this API token lacks the )/;
const USERS: Record<Role, string> = {
  viewer: 'vera@example.com',
  member: 'emma@example.com',
  lead: 'fiona@example.com',
  manager: 'max@example.com',
  director: 'dana@example.com',
  admin: 'ada@example.com',
};

/** The table as the README's security model states it: `method path` → `role scope(s) body-class`. */
const REVIEWED: Record<string, string> = {
  'DELETE /api/schedules/{id}': 'member schedules:write default',
  'DELETE /api/tokens/{id}': 'viewer account default',
  'DELETE /api/users/{email}': 'admin users:write default',
  'DELETE /api/vault': 'member vault:write default',
  'DELETE /api/workflows/{id}': 'manager workflows:write default',
  'GET /api/approvals': 'viewer approvals:read default',
  'GET /api/health': 'public login',
  'GET /api/inbox': 'viewer inbox:read default',
  'GET /api/mcp/servers': 'member mcp:read default',
  'GET /api/mcp/tools': 'member mcp:read default',
  'GET /api/me': 'viewer - default',
  'GET /api/openapi.json': 'public login',
  'GET /api/runs': 'member runs:read default',
  'GET /api/runs/{id}': 'viewer runs:read default',
  'GET /api/runs/{id}/audit': 'viewer runs:read default',
  'GET /api/runs/{id}/events': 'viewer runs:read default',
  'GET /api/schedules': 'member schedules:read default',
  'GET /api/schedules/{id}': 'member schedules:read default',
  'GET /api/templates': 'viewer workflows:read default',
  'GET /api/tokens': 'viewer account default',
  'GET /api/users': 'manager users:read default',
  'GET /api/users/{email}': 'viewer users:read default',
  'GET /api/vault': 'member vault:read default',
  'GET /api/workflows': 'viewer workflows:read default',
  'GET /api/workflows/{id}': 'viewer workflows:read default',
  'GET /api/workflows/{id}/versions': 'viewer workflows:read default',
  'GET /api/workflows/{id}/versions/{version}': 'viewer workflows:read default',
  'PATCH /api/schedules/{id}': 'member schedules:write default',
  'POST /api/approvals/{runId}/{stepId}': 'viewer approvals:decide default',
  'POST /api/chat': 'member chat default',
  'POST /api/chat/confirm': 'member chat default',
  'POST /api/login': 'public login',
  'POST /api/logout': 'viewer account login',
  'POST /api/runs/{id}/cancel': 'viewer runs:cancel default',
  'POST /api/schedules': 'member schedules:write default',
  'POST /api/templates/{id}/install': 'lead workflows:write default',
  'POST /api/tokens': 'viewer account default',
  'POST /api/users/{email}/password': 'viewer account login',
  'POST /api/workflows/validate': 'lead workflows:write definition',
  'POST /api/workflows/{id}/run': 'viewer runs:start|webhook:{id} webhook',
  'PUT /api/users/{email}': 'admin users:write default',
  'PUT /api/vault': 'member vault:write default',
  'PUT /api/workflows/{id}': 'lead workflows:write definition',
};

type Verdict = 'unauthenticated' | 'refused' | 'through';

function pathOf(rule: RouteRule): string {
  return rule.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(PARAMS[name] ?? 'x'));
}

/** What the table says a caller of `role` holding `scopes` (null: a login's whole set) gets. */
function expected(rule: RouteRule, role: Role, scopes: readonly ApiScope[] | null): Verdict {
  if (!roleAtLeast({ role }, rule.access.role)) return 'refused';
  if (rule.access.scopes.length === 0) return 'through';
  const wanted = rule.access.scopes.map((s) => (s === 'webhook:{id}' ? WEBHOOK_SCOPE : s));
  const holds = (scope: ApiScope) =>
    roleHolds(role, scope) &&
    (scopes === null ||
      scopes.includes(scope) ||
      (scope.startsWith('webhook:') && scopes.includes('runs:start')));
  return wanted.some(holds) ? 'through' : 'refused';
}

describe('the access table, route by route, against the started server', () => {
  let server: E2eServer;
  const sessions = new Map<Role, Credential>();
  const adminTokens = new Map<ApiScope, Credential>();
  const memberTokens = new Map<ApiScope, Credential>();

  async function call(as: Credential | null, rule: RouteRule): Promise<{ verdict: Verdict; status: number }> {
    const body = rule.method === 'GET' ? undefined : {};
    const answer = await server.api<{ detail?: string }>(as, rule.method, pathOf(rule), body);
    if (answer.status === 401) return { verdict: 'unauthenticated', status: 401 };
    const refused = answer.status === 403 && TABLE_REFUSAL.test(answer.json?.detail ?? '');
    return { verdict: refused ? 'refused' : 'through', status: answer.status };
  }

  async function mint(as: Credential, scopes: ApiScope[]): Promise<{ status: number; token?: string }> {
    const answer = await server.api<{ token?: string }>(as, 'POST', '/api/tokens', {
      name: scopes.join(' '),
      scopes,
    });
    return { status: answer.status, ...(answer.json?.token ? { token: answer.json.token } : {}) };
  }

  beforeAll(async () => {
    server = await E2eServer.start();
    const admin = await server.login(USERS.admin);
    const made = await server.api(admin, 'PUT', `/api/users/${USERS.viewer}`, { role: 'viewer' });
    expect(made.status).toBe(201);
    const password = await server.api(admin, 'POST', `/api/users/${USERS.viewer}/password`, {
      password: PASSWORD,
    });
    expect(password.status).toBe(204);
    for (const role of ROLES) sessions.set(role, await server.login(USERS[role]));
    const member = sessions.get('member') as Credential;
    for (const scope of [...API_SCOPES, WEBHOOK_SCOPE]) {
      const minted = await mint(admin, [scope]);
      expect(minted.status, scope).toBe(201);
      adminTokens.set(scope, { token: minted.token as string });
      if (roleHolds('member', scope)) {
        const own = await mint(member, [scope]);
        expect(own.status, scope).toBe(201);
        memberTokens.set(scope, { token: own.token as string });
      }
    }
  }, 120_000);

  afterAll(async () => {
    await server?.dispose();
  });

  it('serves exactly the reviewed table (a changed, added or removed route must change this list)', () => {
    const table = Object.fromEntries(
      ROUTES.map((r) => [
        `${r.method} ${r.path}`,
        `${r.access.public ? 'public' : `${r.access.role} ${r.access.scopes.join('|') || '-'}`} ${r.access.body}`,
      ]),
    );
    expect(table).toEqual(REVIEWED);
  });

  it("is the table the README's security model shows, row for row", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    for (const r of ROUTES) {
      const scope = r.access.public ? '—' : r.access.scopes.map((s) => `\`${s}\``).join(' or ') || 'any';
      const role = r.access.public ? 'public' : r.access.role;
      expect(readme).toContain(`| ${r.method} | \`${r.path}\` | ${role} | ${scope} | ${r.access.body} |`);
    }
    for (const [scope, { role, description }] of Object.entries(SCOPES))
      expect(readme).toContain(`| \`${scope}\` | ${role} | ${description} |`);
  });

  it('refuses every non-public route without a credential (401) and lets public ones through', async () => {
    const wrong: string[] = [];
    for (const rule of ROUTES) {
      const { verdict, status } = await call(null, rule);
      const want = rule.access.public ? 'through' : 'unauthenticated';
      if (verdict !== want) wrong.push(`${rule.method} ${rule.path}: ${status}, wanted ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  it("gives a login of each role exactly the routes its role reaches and its role's scopes", async () => {
    const wrong: string[] = [];
    for (const role of ROLES)
      for (const rule of ROUTES.filter((r) => !r.access.public)) {
        // Logging out ends the session: a fresh one for that route.
        const as =
          rule.path === '/api/logout' ? await server.login(USERS[role]) : (sessions.get(role) as Credential);
        const { verdict, status } = await call(as, rule);
        const want = expected(rule, role, null);
        if (verdict !== want)
          wrong.push(`${role} ${rule.method} ${rule.path}: ${status} (${verdict}), wanted ${want}`);
      }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('gives an API token exactly the routes of its scopes, whoever minted it', async () => {
    const wrong: string[] = [];
    for (const [owner, tokens] of [
      ['admin', adminTokens],
      ['member', memberTokens],
    ] as const)
      for (const [scope, as] of tokens)
        for (const rule of ROUTES.filter((r) => !r.access.public)) {
          const { verdict, status } = await call(as, rule);
          const want = expected(rule, owner, [scope]);
          if (verdict !== want)
            wrong.push(
              `${owner}'s ${scope} token ${rule.method} ${rule.path}: ${status} (${verdict}), wanted ${want}`,
            );
        }
    expect(wrong).toEqual([]);
  }, 180_000);

  it('lets nobody mint a token with a scope their role does not hold, nor a token mint one', async () => {
    const member = sessions.get('member') as Credential;
    for (const scope of API_SCOPES.filter((s) => !roleHolds('member', s))) {
      const refused = await mint(member, [scope]);
      expect(refused.status, scope).toBe(403);
    }
    const token = adminTokens.get('users:write') as Credential;
    expect((await mint(token, ['runs:read'])).status).toBe(403);
    // Nothing was minted by the refused calls: the member still has only the tokens made above.
    const listed = await server.api<unknown[]>(member, 'GET', '/api/tokens');
    expect(listed.json).toHaveLength(memberTokens.size);
  });

  it('shrinks a token to its owner’s current role: a demoted lead’s workflows:write token stops working', async () => {
    const admin = sessions.get('admin') as Credential;
    const lead = await server.login(USERS.lead);
    const minted = await mint(lead, ['workflows:write']);
    expect(minted.status).toBe(201);
    const token = { token: minted.token as string };
    const validate = () =>
      server.api(token, 'POST', '/api/workflows/validate', { version: 1, id: 'x', steps: [] });
    expect((await validate()).status).toBe(200);
    const demoted = await server.api(admin, 'PUT', `/api/users/${USERS.lead}`, {
      role: 'member',
      groups: ['finance'],
    });
    expect(demoted.status).toBe(200);
    const refused = await validate();
    expect(refused.status).toBe(403);
    const restored = await server.api(admin, 'PUT', `/api/users/${USERS.lead}`, {
      role: 'lead',
      groups: ['finance'],
    });
    expect(restored.status).toBe(200);
  });
});
