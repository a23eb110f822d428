// Password login on sessions and a workflow's webhook secrets, as every host wires them into the HTTP API
// (the local server and the AWS api Lambda alike): the throttle counts every attempt (by account, address
// and both) before the password is checked; a login opens a session of SESSION_TTL_MS whose token travels
// in the session cookie. What differs per host is given: the stores, whether the cookie is HTTPS-only, and
// where the client's address comes from.
import type { Context } from 'hono';
import { readCookie, SESSION_COOKIE, sessionCookie } from '../auth.js';
import type { LoginThrottle } from '../login-throttle.js';
import type { AdminDirectory, SessionStore, Vault } from '../ports.js';
import type { LoginDeps } from './account-routes.js';

/** How long a login session lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface SessionLoginDeps {
  directory: Pick<AdminDirectory, 'verifyPassword'>;
  sessions: Pick<SessionStore, 'createSession' | 'deleteSession'>;
  throttle: Pick<LoginThrottle, 'attempt'>;
  /** The cookie is sent over HTTPS only. */
  secure: boolean;
  /** The client's address, as the throttle counts it. */
  clientAddress(c: Context): string;
}

/** The API's login: throttled password checks, sessions, the session cookie. */
export function sessionLogin(deps: SessionLoginDeps): LoginDeps {
  const { directory, sessions, throttle, secure } = deps;
  return {
    login: async (email, password, address) => {
      const identity = await throttle.attempt(email, address, () =>
        directory.verifyPassword(email, password),
      );
      if (identity === null) return null;
      return { ...(await sessions.createSession(identity.email, SESSION_TTL_MS)), identity };
    },
    logout: async (token) => {
      await sessions.deleteSession(token);
    },
    cookie: (token, expiresAt) => sessionCookie(token, expiresAt, { secure }),
    sessionToken: (c) => readCookie(c.req.header('cookie'), SESSION_COOKIE),
    clientAddress: deps.clientAddress,
  };
}

/**
 * A workflow's webhook signing secrets: in the vault at org level, `webhook.<id>`, and during a rotation
 * `webhook.<id>.previous` too.
 */
export function vaultWebhookSecrets(
  vault: Pick<Vault, 'resolve'>,
): (workflowId: string) => Promise<string[]> {
  return async (workflowId) => {
    const names = [`webhook.${workflowId}`, `webhook.${workflowId}.previous`];
    const found = await vault.resolve({ email: '', groups: [] }, names);
    return names.flatMap((name) => (found.values[name] === undefined ? [] : [found.values[name]]));
  };
}
