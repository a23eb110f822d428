// A chat start waiting for the user's "yes": a workflow whose path can reach a write tool is not started by
// the message that names it. The chat answer hands back a confirmation token instead, and only
// POST /api/chat/confirm with that token starts the run (functions/core/http/chat-routes.ts), so the
// confirmation is the server's rule, not the dashboard's dialog.
//
// The token is a compact JWS (HS256, jose) under the platform's chat key (platform-keys.ts chatConfirmKey)
// whose payload is the JSON of the pending start: the user, the workflow and version, the input understood,
// the run id to start it under and when it expires. Nothing is stored: the token cannot be altered (the
// signature), is bound to one user (the route compares the caller), expires after a few minutes, and
// starts at most one run — the run id is chosen when the token is made, and the host starts a run id
// exactly once (DurableHost.startRun), so a replayed or double-clicked confirmation starts nothing more.
import { randomUUID } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import type { JsonValue } from '../../translator/template.js';

/** How long a confirmation holds, by default: long enough to read the inputs, short enough to go stale. */
export const CONFIRM_TTL_MS = 5 * 60_000;

export interface PendingStart {
  /** The chatting user's email, lower case. */
  user: string;
  workflowId: string;
  version: number;
  input: Record<string, JsonValue>;
  /** The run id the confirmed start uses (so a token starts one run at most). */
  runId: string;
  /** ms since epoch. */
  expiresAt: number;
}

/** The JWS type header: a token made for another purpose under the same key is not a confirmation. */
const TYPE = 'stepgate-chat-confirmation';

/** A new pending start's token (a fresh run id; expiring `ttlMs` after `now`) and the start it stands for. */
export async function pendingStartToken(
  key: Uint8Array,
  start: Pick<PendingStart, 'user' | 'workflowId' | 'version' | 'input'>,
  now: number,
  ttlMs = CONFIRM_TTL_MS,
): Promise<{ token: string; pending: PendingStart }> {
  const pending: PendingStart = {
    user: start.user.toLowerCase(),
    workflowId: start.workflowId,
    version: start.version,
    input: start.input,
    runId: randomUUID(),
    expiresAt: now + ttlMs,
  };
  const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(pending)))
    .setProtectedHeader({ alg: 'HS256', typ: TYPE })
    .sign(key);
  return { token, pending };
}

/** The pending start a token stands for, or why it is refused (not ours or altered, expired). */
export async function readPendingStart(
  key: Uint8Array,
  token: string,
  now: number,
): Promise<{ ok: true; pending: PendingStart } | { ok: false; problem: string }> {
  const refused = { ok: false as const, problem: 'the confirmation is not one this server gave' };
  let pending: PendingStart;
  try {
    const { payload, protectedHeader } = await compactVerify(token, key, { algorithms: ['HS256'] });
    if (protectedHeader.typ !== TYPE) return refused;
    pending = JSON.parse(new TextDecoder().decode(payload)) as PendingStart;
  } catch {
    return refused;
  }
  if (typeof pending.expiresAt !== 'number' || now >= pending.expiresAt)
    return { ok: false, problem: 'the confirmation has expired: ask again' };
  return { ok: true, pending };
}
