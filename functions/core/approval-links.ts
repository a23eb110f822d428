// Approval links: the signed, single-use links an approval email carries, one per approver.
//
// A token is `base64url(payload JSON) + '.' + base64url(HMAC-SHA256(secret, first part))`; the payload
// binds it to one level of one approval step (`r` run, `s` step, `v` visit, `l` level), one approver
// (`a`), an expiry (`exp`: the level's deadline, or at most `maxAgeMs` after issue when the level has no
// timeout) and a random nonce (`n`) that the link store records once the token is spent. Opening a link
// (`inspect`) never decides: only `decide`, behind the page's POST, does — mail scanners that prefetch
// links approve nothing. `decide` claims the nonce atomically before it decides, so two concurrent POSTs
// of one link decide once.
//
// Refusals (`tampered`, `expired`, `used`, `decided`, `not-approver`, `unknown`, `separation-of-duties`,
// `login-required`) change no state and do not spend the token. Every attempt, shown or decided,
// accepted or refused, is recorded in the run's history as `approval.link` — never the token itself. A
// used, decided or expired link's refusal carries the request as it stands, so that its own approver is
// told who decided what and when (never a tampered or foreign link's, nor without the required login).
//
// Separation of duties: whoever asked for the run (the approval record's `requesters`) gets no link, as
// they are not an approver; a link of theirs is refused anyway unless the step sets `allowSelfApproval`.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../../translator/util.js';
import { contextText } from './approval-context.js';
import type { ApprovalNotifier, ApprovalService, DecisionResult } from './approvals.js';
import type { AuditEntry } from './durable.js';
import { normalizeEmail, sameEmail } from './identity.js';
import type { ApprovalRecord, ApprovalStore, Clock, Directory, Notifier } from './ports.js';
import { type Identity, operationKey } from './protocol.js';

/** A spent token, as the link store keeps it (the nonce only: never the token). */
export interface UsedLink {
  nonce: string;
  runId: string;
  stepId: string;
  level: number;
  approver: string;
  usedAt: number;
  /** When the token would have expired anyway: the record may be pruned after. */
  expiresAt: number;
}

/** Spent approval-link tokens. `claim` is atomic: of concurrent claims of one nonce exactly one wins. */
export interface ApprovalLinkStore {
  /** True when this call recorded the nonce; false when it was recorded before. */
  claim(used: UsedLink): boolean | Promise<boolean>;
  isUsed(nonce: string): boolean | Promise<boolean>;
  /** Forgets spent tokens that expired before `before`; returns how many. */
  prune(before: number): number | Promise<number>;
}

export type LinkRefusal =
  | 'tampered'
  | 'expired'
  | 'used'
  | 'decided'
  | 'not-approver'
  | 'unknown'
  | 'separation-of-duties'
  | 'login-required';

/**
 * A refusal. `request` is the request as it stands now, given only where the link's own approver may
 * see what became of it (a used, decided or expired link; with `requireLogin`, only when logged in as
 * them): never for a tampered, foreign or unknown link.
 */
export interface LinkRefused {
  ok: false;
  reason: LinkRefusal;
  message: string;
  request?: ApprovalRecord;
}

export type LinkInspection =
  | { ok: true; record: ApprovalRecord; approver: string; expiresAt: number }
  | LinkRefused;

export type LinkDecision =
  | {
      ok: true;
      record: ApprovalRecord;
      approver: string;
      decision: 'approve' | 'reject';
      /** True when this decision settled the level (false while others still have to decide). */
      settled: boolean;
    }
  | LinkRefused;

export interface ApprovalLinksDeps {
  /** HMAC-SHA256 key; at least 32 bytes. */
  secret: Uint8Array;
  store: ApprovalLinkStore;
  approvals: Pick<ApprovalService, 'decide'>;
  approvalStore: Pick<ApprovalStore, 'get' | 'openFor'>;
  recordAudit(runId: string, entry: AuditEntry): Promise<void>;
  clock: Pick<Clock, 'now'>;
  /** Where the pages are served, e.g. `https://stepgate.example.com` (links are `<baseUrl>/approve/<token>`). */
  baseUrl: string;
  /** The approver must also be logged in (as themselves) to see or use the link. Default false. */
  requireLogin?: boolean;
  /** Lifetime of a link whose level has no timeout. Default 7 days. */
  maxAgeMs?: number;
}

interface Payload {
  r: string;
  s: string;
  v: number;
  l: number;
  a: string;
  exp: number;
  n: string;
}

export const LINK_CHANNEL = 'email-link';
export const DEFAULT_LINK_MAX_AGE_MS = 7 * 24 * 3_600_000;
const MAX_TOKEN_LENGTH = 2_048;

const MESSAGES: Record<LinkRefusal, string> = {
  tampered:
    'This approval link is not valid. It may have been altered or cut short; open it again from the email.',
  expired: 'This approval link has expired: the approval request timed out.',
  used: 'This approval link has already been used. Each link can be used once.',
  decided: 'This approval request has already been decided or is no longer open.',
  'not-approver': 'This approval link is not for you: you are not an approver of this request.',
  unknown: 'There is no approval request for this link.',
  'separation-of-duties': 'You asked for this run, so you cannot approve it yourself.',
  'login-required': 'Log in to Stepgate as the approver, then open this link again.',
};

/** The refusals after which a link's approver is shown what became of the request. */
const SHOWS_REQUEST: ReadonlySet<LinkRefusal> = new Set(['used', 'decided', 'expired']);

export class ApprovalLinks {
  private readonly maxAgeMs: number;

  constructor(private readonly deps: ApprovalLinksDeps) {
    if (deps.secret.byteLength < 32) throw new Error('the approval-link secret must be at least 32 bytes');
    this.maxAgeMs = deps.maxAgeMs ?? DEFAULT_LINK_MAX_AGE_MS;
  }

  /** Whether a login is needed on top of the link (pages use it to ask for one). */
  get requireLogin(): boolean {
    return this.deps.requireLogin === true;
  }

  /** The link for one approver of one level: `<baseUrl>/approve/<token>`. */
  issue(record: ApprovalRecord, approverEmail: string): string {
    return `${this.deps.baseUrl.replace(/\/+$/, '')}/approve/${this.token(record, approverEmail)}`;
  }

  /** The token alone (what `issue` puts in the link). */
  token(record: ApprovalRecord, approverEmail: string): string {
    const payload: Payload = {
      r: record.runId,
      s: record.stepId,
      v: record.visit,
      l: record.level,
      a: normalizeEmail(approverEmail),
      exp: record.deadline ?? this.deps.clock.now() + this.maxAgeMs,
      n: randomBytes(16).toString('base64url'),
    };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** What a GET of the link shows. Decides nothing; records the view. */
  async inspect(token: string, loggedInEmail?: string | null): Promise<LinkInspection> {
    const checked = await this.check(token, loggedInEmail);
    await this.audit(checked, 'view');
    return checked.ok
      ? { ok: true, record: checked.record, approver: checked.payload.a, expiresAt: checked.payload.exp }
      : this.refused(checked.reason, checked.payload, loggedInEmail);
  }

  /** The page's POST: checks the link again, spends it, then decides on behalf of its approver. */
  async decide(
    token: string,
    decision: 'approve' | 'reject',
    comment: string | null,
    loggedInEmail?: string | null,
  ): Promise<LinkDecision> {
    const checked = await this.check(token, loggedInEmail);
    if (!checked.ok) {
      await this.audit(checked, 'decide', decision);
      return this.refused(checked.reason, checked.payload, loggedInEmail);
    }
    const { payload } = checked;
    const claimed = await this.deps.store.claim({
      nonce: payload.n,
      runId: payload.r,
      stepId: payload.s,
      level: payload.l,
      approver: payload.a,
      usedAt: this.deps.clock.now(),
      expiresAt: payload.exp,
    });
    const refuse = (reason: LinkRefusal) => this.refuseDecision(checked, reason, decision, loggedInEmail);
    if (!claimed) return refuse('used');
    // The claim may have waited: the level must still be the one the link is for, and still open (the
    // decision checks it again against the request it reads, which names the link's level).
    const open = await this.deps.approvalStore.openFor(payload.r, payload.s);
    if (open === undefined || open.visit !== payload.v || open.level !== payload.l)
      return refuse(await this.closedReason(payload));
    const result: DecisionResult = await this.deps.approvals.decide({
      runId: payload.r,
      stepId: payload.s,
      by: payload.a,
      decision,
      comment,
      channel: LINK_CHANNEL,
      request: { visit: payload.v, level: payload.l },
    });
    if (!result.accepted) {
      const reason: LinkRefusal =
        result.reason === 'expired'
          ? 'expired'
          : result.reason === 'not-an-approver'
            ? 'not-approver'
            : result.reason === 'self-approval'
              ? 'separation-of-duties'
              : result.reason === 'no-open-request'
                ? await this.closedReason(payload)
                : 'decided';
      return refuse(reason);
    }
    await this.audit(checked, 'decide', decision);
    return {
      ok: true,
      record: checked.record,
      approver: payload.a,
      decision,
      settled: result.outcome !== null,
    };
  }

  private async refuseDecision(
    checked: Extract<Checked, { ok: true }>,
    reason: LinkRefusal,
    decision: 'approve' | 'reject',
    loggedInEmail: string | null | undefined,
  ): Promise<LinkDecision> {
    await this.audit({ ok: false, reason, payload: checked.payload }, 'decide', decision);
    return this.refused(reason, checked.payload, loggedInEmail);
  }

  /**
   * A refusal, with the request as it stands now when the link's own approver may see it: the link is
   * authentic (a payload is given only then, or for a forged one refused as tampered), the refusal is one
   * of SHOWS_REQUEST, they were asked at that level, and, where links require a login, it is theirs.
   */
  private async refused(
    reason: LinkRefusal,
    payload: Payload | null,
    loggedInEmail: string | null | undefined,
  ): Promise<LinkRefused> {
    const refusal: LinkRefused = { ok: false, reason, message: MESSAGES[reason] };
    if (payload === null || !SHOWS_REQUEST.has(reason)) return refusal;
    if (this.deps.requireLogin === true && !sameEmail(loggedInEmail, payload.a)) return refusal;
    const request = await this.deps.approvalStore.get(payload.r, payload.s, payload.v, payload.l);
    return request?.approvers.includes(payload.a) ? { ...refusal, request } : refusal;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.deps.secret).update(body).digest('base64url');
  }

  /** The signed payload, or null when the token is malformed or its signature does not match. */
  private verify(token: string): { payload: Payload | null; authentic: boolean } {
    if (token.length > MAX_TOKEN_LENGTH) return { payload: null, authentic: false };
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return { payload: null, authentic: false };
    const body = token.slice(0, dot);
    const payload = parsePayload(body);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(body), 'base64url');
    const authentic =
      given.length === expected.length &&
      timingSafeEqual(given, expected) &&
      // base64url decoding ignores stray characters: the signature text must be exactly the canonical one.
      token.slice(dot + 1) === expected.toString('base64url');
    return { payload, authentic: authentic && payload !== null };
  }

  private async check(token: string, loggedInEmail: string | null | undefined): Promise<Checked> {
    const { payload, authentic } = this.verify(token);
    if (payload === null) return { ok: false, reason: 'tampered', payload: null };
    // A forged payload is still attributed to the run it names, when that request exists.
    if (!authentic) {
      const named = await this.deps.approvalStore.get(payload.r, payload.s, payload.v, payload.l);
      return { ok: false, reason: 'tampered', payload: named === undefined ? null : payload };
    }
    const record = await this.deps.approvalStore.get(payload.r, payload.s, payload.v, payload.l);
    if (record === undefined) return { ok: false, reason: 'unknown', payload: null };
    const refuse = (reason: LinkRefusal): Checked => ({ ok: false, reason, payload });
    if (await this.deps.store.isUsed(payload.n)) return refuse('used');
    if (this.deps.clock.now() >= payload.exp) return refuse('expired');
    // Before the approver check: a requester is no approver, and is told why.
    if (!record.allowSelfApproval && record.requesters.includes(payload.a))
      return refuse('separation-of-duties');
    if (!record.approvers.includes(payload.a)) return refuse('not-approver');
    if (record.status !== 'open') return refuse(await this.closedReason(payload, record));
    if (record.decisions.some((d) => d.by === payload.a)) return refuse('decided');
    if (record.deadline !== null && this.deps.clock.now() >= record.deadline) return refuse('expired');
    if (this.deps.requireLogin === true) {
      if (loggedInEmail === undefined || loggedInEmail === null || loggedInEmail === '')
        return refuse('login-required');
      if (!sameEmail(loggedInEmail, payload.a)) return refuse('not-approver');
    }
    return { ok: true, payload, record };
  }

  /** Why a link's level is no longer open: it timed out, or it was decided (or cancelled). */
  private async closedReason(payload: Payload, record?: ApprovalRecord): Promise<LinkRefusal> {
    const current = record ?? (await this.deps.approvalStore.get(payload.r, payload.s, payload.v, payload.l));
    if (current === undefined) return 'unknown';
    if (current.status === 'approved' || current.status === 'rejected') return 'decided';
    const deadline = current.deadline ?? payload.exp;
    return this.deps.clock.now() >= deadline ? 'expired' : 'decided';
  }

  private async audit(
    checked: Checked,
    action: 'view' | 'decide',
    decision?: 'approve' | 'reject',
  ): Promise<void> {
    if (checked.payload === null) return; // names no existing request: no run to record it in
    const { payload } = checked;
    await this.deps.recordAudit(payload.r, {
      type: 'approval.link',
      step: payload.s,
      data: {
        approver: payload.a,
        level: payload.l,
        action,
        ...(decision !== undefined ? { decision } : {}),
        outcome: checked.ok ? (action === 'view' ? 'shown' : 'accepted') : 'refused',
        reason: checked.ok ? null : checked.reason,
      },
    });
  }
}

type Checked =
  | { ok: true; payload: Payload; record: ApprovalRecord }
  | { ok: false; reason: LinkRefusal; payload: Payload | null };

function parsePayload(body: string): Payload | null {
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const p = value as Record<string, unknown>;
  const ok =
    typeof p.r === 'string' &&
    typeof p.s === 'string' &&
    typeof p.a === 'string' &&
    typeof p.n === 'string' &&
    Number.isSafeInteger(p.v) &&
    Number.isSafeInteger(p.l) &&
    typeof p.exp === 'number' &&
    Number.isFinite(p.exp);
  return ok
    ? {
        r: p.r as string,
        s: p.s as string,
        v: p.v as number,
        l: p.l as number,
        a: normalizeEmail(p.a as string),
        exp: p.exp as number,
        n: p.n as string,
      }
    : null;
}

export interface LinkNotifierDeps {
  links: ApprovalLinks;
  notifier: Notifier;
  directory: Pick<Directory, 'user'>;
  /** Where a failed delivery is recorded (the run's history); optional. */
  recordAudit?(runId: string, entry: AuditEntry): Promise<void>;
}

/**
 * The ApprovalNotifier of the server: each approver of a newly opened level gets an email with their own
 * link. The email is sent with the credentials of the identity the run acts for (the vault cascade), as
 * notify steps are. A failed email is recorded and does not fail the request: the approver still finds
 * it in their inbox (`GET /api/approvals`).
 */
export function linkNotifier(deps: LinkNotifierDeps): ApprovalNotifier {
  return {
    async requested(record: ApprovalRecord): Promise<void> {
      const identity: Identity = (await deps.directory.user(record.requestedBy)) ?? {
        email: record.requestedBy,
        role: 'member',
        groups: [],
        manager: null,
      };
      for (const approver of record.approvers) {
        const url = deps.links.issue(record, approver);
        const expires =
          record.deadline === null
            ? ''
            : `\nThis link expires at ${new Date(record.deadline).toISOString()}.`;
        const context = contextText(record.context);
        try {
          await deps.notifier.send({
            workflowId: record.workflowId,
            runId: record.runId,
            stepId: record.stepId,
            visit: record.visit,
            identity,
            attempt: 1,
            idempotencyKey: `${operationKey(record.runId, record.stepId, record.visit)}:approval:${record.level}:${approver}`,
            channel: 'email',
            to: [approver],
            subject: `Approval needed: ${record.workflowId}`,
            message:
              `${record.message}\n\n${context === '' ? '' : `${context}\n\n`}` +
              `Requested by ${record.requestedBy} (workflow ${record.workflowId}, run ${record.runId}).\n\n` +
              `Open this link to approve or reject:\n${url}\n` +
              `The link is for you only and works once.${expires}`,
          });
          await deps.recordAudit?.(record.runId, {
            type: 'approval.notified',
            step: record.stepId,
            data: { approver, level: record.level, channel: 'email' },
          });
        } catch (error) {
          await deps.recordAudit?.(record.runId, {
            type: 'approval.link',
            step: record.stepId,
            data: {
              approver,
              level: record.level,
              action: 'notify',
              channel: 'email',
              outcome: 'failed',
              reason: errorMessage(error),
            },
          });
        }
      }
    },
  };
}
