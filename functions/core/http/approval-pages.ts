// The pages behind an approval email's link, served outside /api (the link's token is the credential, so
// the API's authentication does not apply; with `requireLogin` the approver's session is checked too).
//
//   GET  /approve/:token   what is being approved, and an Approve / Reject form with a comment. Decides
//                          nothing: mail scanners that prefetch links approve nothing.
//   POST /approve/:token   (form-urlencoded: decision=approve|reject, comment) decides, shows the result.
//
// The token in the URL is the capability, which is also what makes the form safe against cross-site
// posting: a forged form needs the token. Every response is `no-store`, sends no referrer (the token
// must not leak to another site), cannot be framed, and runs no script (CSP). Refusals answer with a page
// that says why: 400 tampered, 404 unknown, 410 expired / used / decided, 403 wrong approver, separation
// of duties, login required. A used, decided or expired link's page tells its own approver what became
// of the request — who decided what, when, or that nobody did — and links to the run (the dashboard asks
// for a login, and shows the run only to those who may read it).
import type { Context, Hono } from 'hono';
import type { JsonValue } from '../../../translator/template.js';
import { contextSections, contextValueText } from '../approval-context.js';
import type { ApprovalLinks, LinkRefusal, LinkRefused } from '../approval-links.js';
import type { ApprovalRecord, AuditRecord, Directory } from '../ports.js';
import type { ApprovalContext, Identity } from '../protocol.js';

export interface ApprovalPagesDeps {
  links: ApprovalLinks;
  /** The logged-in user, if any (session cookie or token); needed when the links require a login. */
  authenticateOptional?: (c: Context) => Promise<Identity | null>;
  /** The run's audit trail: the page shows the tool call the approval lets through (`approval.requested`). */
  audit?: (runId: string) => Promise<AuditRecord[]>;
  /** Deciders' names, shown beside their emails; without it, emails alone. */
  directory?: Pick<Directory, 'user'>;
}

/** The tool call an approval lets through, as the orchestrator recorded it when the request opened. */
export interface NextToolCall {
  step: string;
  tool: string;
  args: unknown;
}

/** The `next` of the request's `approval.requested` entry (its step, visit's latest level), if recorded. */
export function nextToolCall(audit: AuditRecord[], record: ApprovalRecord): NextToolCall | undefined {
  for (let i = audit.length - 1; i >= 0; i--) {
    const entry = audit[i];
    if (entry === undefined || entry.type !== 'approval.requested' || entry.step !== record.stepId) continue;
    if (entry.data.level !== record.level) continue;
    const next = entry.data.next as Partial<NextToolCall> | undefined;
    if (next === undefined || typeof next.tool !== 'string' || typeof next.step !== 'string')
      return undefined;
    return { step: next.step, tool: next.tool, args: next.args ?? null };
  }
  return undefined;
}

export const MAX_COMMENT_LENGTH = 2_000;

const STATUS: Record<LinkRefusal, 400 | 403 | 404 | 410> = {
  tampered: 400,
  unknown: 404,
  expired: 410,
  used: 410,
  decided: 410,
  'not-approver': 403,
  'separation-of-duties': 403,
  'login-required': 403,
};

const TITLES: Record<LinkRefusal, string> = {
  tampered: 'Invalid link',
  unknown: 'Unknown request',
  expired: 'Link expired',
  used: 'Link already used',
  decided: 'Already decided',
  'not-approver': 'Not your approval',
  'separation-of-duties': 'You cannot approve your own run',
  'login-required': 'Login required',
};

const HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function mountApprovalPages(
  // biome-ignore lint/suspicious/noExplicitAny: mounts on whatever app the host built, whatever its Env.
  app: Hono<any>,
  deps: ApprovalPagesDeps,
): void {
  const loggedIn = async (c: Context): Promise<string | null> => {
    if (deps.authenticateOptional === undefined) return null;
    try {
      return (await deps.authenticateOptional(c))?.email ?? null;
    } catch {
      return null;
    }
  };

  app.get('/approve/:token', async (c) => {
    const token = c.req.param('token');
    const inspection = await deps.links.inspect(token, await loggedIn(c));
    if (!inspection.ok) return refusal(inspection, await namesOf(deps, inspection.request));
    const next =
      deps.audit === undefined
        ? undefined
        : nextToolCall(await deps.audit(inspection.record.runId), inspection.record);
    return page(200, 'Approval needed', approvalForm(token, inspection.record, inspection.approver, next));
  });

  app.post('/approve/:token', async (c) => {
    const token = c.req.param('token');
    let form: Record<string, unknown>;
    try {
      form = await c.req.parseBody();
    } catch {
      form = {};
    }
    const decision = form.decision;
    const comment = form.comment ?? '';
    if ((decision !== 'approve' && decision !== 'reject') || typeof comment !== 'string') {
      return page(
        400,
        'Invalid form',
        '<p>Choose Approve or Reject on the approval page. Nothing was decided.</p>',
      );
    }
    if (comment.length > MAX_COMMENT_LENGTH) {
      return page(
        400,
        'Comment too long',
        `<p>A comment is at most ${MAX_COMMENT_LENGTH} characters. Nothing was decided.</p>`,
      );
    }
    const trimmed = comment.trim();
    const result = await deps.links.decide(
      token,
      decision,
      trimmed === '' ? null : trimmed,
      await loggedIn(c),
    );
    if (!result.ok) return refusal(result, await namesOf(deps, result.request), decision);
    const verb = result.decision === 'approve' ? 'approved' : 'rejected';
    const more = result.settled
      ? '<p>The workflow continues with your decision.</p>'
      : '<p>Your decision is recorded; the request waits for the other approvers.</p>';
    return page(
      200,
      result.decision === 'approve' ? 'Approved' : 'Rejected',
      `<p>You ${verb} <strong>${escapeHtml(result.record.workflowId)}</strong> (run <code>${escapeHtml(
        result.record.runId,
      )}</code>, step <code>${escapeHtml(result.record.stepId)}</code>).</p>${more}${runLink(result.record.runId)}`,
    );
  });
}

function approvalForm(
  token: string,
  record: ApprovalRecord,
  approver: string,
  next: NextToolCall | undefined,
): string {
  const rows: Array<[string, string]> = [
    ['Workflow', record.workflowId],
    ['Run', record.runId],
    ['Step', record.level > 1 ? `${record.stepId} (escalation level ${record.level})` : record.stepId],
    ['Requested by', record.requestedBy],
    ['Approvers', `${record.approvers.join(', ')} (${requireText(record.require)})`],
    ['You', approver],
    ...(record.deadline !== null ? [['Decide before', formatTime(record.deadline)] as [string, string]] : []),
  ];
  return `<p class="message">${escapeHtml(record.message)}</p>
<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${contextHtml(record.context)}
${
  next === undefined
    ? ''
    : `<h2>If approved, it calls <code>${escapeHtml(next.tool)}</code></h2>
<p class="note">Step <code>${escapeHtml(next.step)}</code>, with these arguments as they stand now:</p>
<pre class="args">${escapeHtml(JSON.stringify(next.args, null, 2))}</pre>`
}
<form method="post" action="/approve/${escapeHtml(encodeURIComponent(token))}">
<label for="comment">Comment (optional)</label>
<textarea id="comment" name="comment" rows="4" maxlength="${MAX_COMMENT_LENGTH}"></textarea>
<div class="buttons">
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject">Reject</button>
</div>
</form>`;
}

/** The request's details, the run's inputs and latest step results, each section a table (all escaped). */
function contextHtml(context: ApprovalContext | undefined): string {
  return contextSections(context)
    .map(
      (section) => `<h2>${escapeHtml(section.title)}</h2>
<table class="context">${section.entries
        .map((e) => `<tr><th>${escapeHtml(e.label)}</th><td>${valueHtml(e.value)}</td></tr>`)
        .join('')}</table>`,
    )
    .join('\n');
}

/** A list of plain values as a list, text as text, anything else as its JSON. */
function valueHtml(value: JsonValue): string {
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v !== 'object' || v === null))
    return `<ul>${value.map((v) => `<li>${escapeHtml(contextValueText(v))}</li>`).join('')}</ul>`;
  if (value !== null && typeof value === 'object')
    return `<pre class="args">${escapeHtml(JSON.stringify(value, null, 2))}</pre>`;
  return escapeHtml(contextValueText(value));
}

function requireText(require: ApprovalRecord['require']): string {
  if (require === 'any') return 'any one decides';
  if (require === 'all') return 'all must approve';
  return `${require} must approve`;
}

/** The deciders' display names, by email, where the directory knows them. */
async function namesOf(deps: ApprovalPagesDeps, request: ApprovalRecord | undefined) {
  const names = new Map<string, string>();
  if (request === undefined || deps.directory === undefined) return names;
  for (const { by } of request.decisions) {
    const name = (await deps.directory.user(by).catch(() => undefined))?.name;
    if (typeof name === 'string' && name.trim() !== '') names.set(by, name);
  }
  return names;
}

/**
 * A refused link's page: why, and, where the link's approver may see it, what became of the request. A
 * refused POST says the decision it carried was not recorded; a GET never decides anything anyway.
 */
function refusal(
  refused: LinkRefused,
  names: Map<string, string>,
  attempted?: 'approve' | 'reject',
): Response {
  const { reason, message, request } = refused;
  const notRecorded =
    attempted === undefined
      ? ''
      : `<p>Your ${attempted === 'approve' ? 'approval' : 'rejection'} was not recorded.</p>`;
  if (request === undefined)
    return page(
      STATUS[reason],
      TITLES[reason],
      `<p>${escapeHtml(message)}</p>${notRecorded || '<p>Nothing was decided.</p>'}`,
    );
  const title =
    request.status === 'approved'
      ? 'Already approved'
      : request.status === 'rejected'
        ? 'Already rejected'
        : TITLES[reason];
  return page(
    STATUS[reason],
    title,
    `<p>${escapeHtml(message)}</p>${requestState(request, reason, names)}${notRecorded}${requestFacts(request)}`,
  );
}

/** Who decided what and when at the link's level, or why nobody did. */
function requestState(request: ApprovalRecord, reason: LinkRefusal, names: Map<string, string>): string {
  const person = (email: string) => {
    const name = names.get(email);
    return name === undefined ? escapeHtml(email) : `${escapeHtml(name)} (${escapeHtml(email)})`;
  };
  const decisions = request.decisions.map(
    (d) =>
      `<li class="decision">${person(d.by)} <strong>${d.decision === 'approve' ? 'approved' : 'rejected'}</strong> on ${escapeHtml(formatTime(d.at))}</li>`,
  );
  const list = decisions.length === 0 ? '' : `<ul class="decisions">${decisions.join('')}</ul>`;
  switch (request.status) {
    case 'approved':
    case 'rejected':
      return `<h2>The request was ${request.status}</h2>${list}`;
    case 'open':
      return `<h2>Decisions so far</h2>${list}<p class="note">The request still waits for the other approvers (${escapeHtml(requireText(request.require))}).</p>`;
    case 'closed': {
      const why =
        reason === 'expired' && request.deadline !== null
          ? `${request.decisions.length === 0 ? 'Nobody decided' : 'It was not decided'} before its deadline, ${escapeHtml(formatTime(request.deadline))}: the workflow went on without a decision at this level (it escalates, or takes its timeout path).`
          : 'The request was closed before it was decided: the run ended, or was cancelled, first.';
      return `<h2>Not decided</h2>${list}<p>${why}</p>`;
    }
  }
}

/** The request's workflow, run and step, and where to follow the run (the dashboard asks for a login). */
function requestFacts(request: ApprovalRecord): string {
  const rows: Array<[string, string]> = [
    ['Workflow', request.workflowId],
    ['Step', request.stepId],
    ['Request', request.message],
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${runLink(request.runId)}`;
}

/** The run's dashboard page: it asks for a login, and shows the run only to those who may read it. */
function runLink(runId: string): string {
  return `<p><a href="/runs/${escapeHtml(encodeURIComponent(runId))}">Open run ${escapeHtml(runId)}</a> <span class="note">(log in to Stepgate to see it)</span></p>`;
}

/** A time as `2026-12-06 09:30 UTC`: approvers read it in mail and on pages, not as ISO-8601. */
function formatTime(at: string | number): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime())
    ? String(at)
    : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function page(status: number, title: string, body: string): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Stepgate</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.message { font-size: 1.15rem; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 1rem 0; }
th { text-align: left; padding: .25rem 1rem .25rem 0; color: #555; font-weight: normal; }
td { padding: .25rem 0; vertical-align: top; }
th { vertical-align: top; }
td ul { margin: 0; padding-left: 1.1rem; }
.context pre { margin: 0; }
h2 { font-size: 1.05rem; margin-top: 1.5rem; }
.note { color: #555; margin: .25rem 0; }
.args { background: #f6f8fa; padding: .75rem; overflow-x: auto; border-radius: 4px; }
textarea { display: block; width: 100%; margin: .25rem 0 1rem; }
button { font-size: 1rem; padding: .5rem 1.25rem; margin-right: .5rem; cursor: pointer; }
.approve { background: #1a7f37; color: #fff; border: 0; }
.reject { background: #cf222e; color: #fff; border: 0; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
  return new Response(html, { status, headers: HEADERS });
}
