// Approvals: what waits for the logged-in user's decision, with the request as the workflow worded it,
// who asked, what the request carries to decide on (the step's details, the run's inputs, the latest
// step results) and the deadline; approve or reject with a comment.
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api } from '../api';
import { ContextFacts } from '../approval-context';
import { Link } from '../router';
import { approvalsChanged, useMe } from '../session';
import type { PendingApproval, RunView } from '../types';
import { atLeast, Empty, formatTime, Loading, Page, ProblemNote, relativeTime, useApi } from '../ui';

const REFRESH_MS = 10_000;

/** What a refused decision's reason (the API's 409 detail) means for the approver looking at the card. */
const REFUSALS: Record<string, string> = {
  'no-open-request':
    'This request is no longer open: another approver decided it, it timed out, or the run ended. Open the run to see which.',
  'already-decided': 'You have already decided this request.',
  expired: 'This request timed out before your decision.',
  'not-an-approver': 'You are not an approver of this request.',
};

function refusalInWords(error: unknown): unknown {
  if (!(error instanceof ApiError) || error.status !== 409) return error;
  const words = REFUSALS[error.detail];
  return words === undefined ? error : new ApiError(409, 'Your decision was not recorded', words);
}

export function ApprovalsScreen() {
  const pending = useApi<PendingApproval[]>('/api/approvals');
  const [decided, setDecided] = useState<Array<{ key: string; text: string }>>([]);
  const { reload } = pending;

  // New requests arrive while the page is open (a run reaching its approval step): look again now and then.
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  const onDecided = (approval: PendingApproval, decision: 'approve' | 'reject') => {
    setDecided((d) => [
      {
        key: `${approval.runId}/${approval.stepId}`,
        text: `${decision === 'approve' ? 'Approved' : 'Rejected'}: ${approval.message ?? approval.workflowId}`,
      },
      ...d,
    ]);
    approvalsChanged();
    pending.reload();
  };

  return (
    <Page title="Approvals" subtitle="Requests waiting for your decision.">
      <div aria-live="polite">
        {decided.map((d) => (
          <p key={d.key} className="note note-success">
            {d.text}
          </p>
        ))}
      </div>
      <ProblemNote error={pending.error} />
      {pending.loading && !pending.data ? <Loading /> : null}
      {pending.data?.length === 0 ? (
        <Empty title="Nothing waits for you.">
          <p>When a workflow needs your approval it shows up here, and you get an email.</p>
        </Empty>
      ) : null}
      <div className="approval-list">
        {pending.data?.map((a) => (
          <ApprovalCard key={`${a.runId}/${a.stepId}/${a.level}`} approval={a} onDecided={onDecided} />
        ))}
      </div>
    </Page>
  );
}

function ApprovalCard({
  approval,
  onDecided,
}: {
  approval: PendingApproval;
  onDecided: (approval: PendingApproval, decision: 'approve' | 'reject') => void;
}) {
  const me = useMe();
  // The run gives the requester's name, and the input of a request made before requests carried their
  // context; members see only their own runs, so for anyone else the request's own context has to do.
  const mayReadRun =
    atLeast(me.role, 'lead') || approval.requestedBy?.toLowerCase() === me.email.toLowerCase();
  const run = useApi<RunView>(mayReadRun ? `/api/runs/${encodeURIComponent(approval.runId)}` : null);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null);
  const [error, setError] = useState<unknown>();
  const id = `approval-${approval.runId}-${approval.stepId}`.replace(/[^A-Za-z0-9_-]/g, '-');

  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(decision);
    setError(undefined);
    try {
      await api(
        `/api/approvals/${encodeURIComponent(approval.runId)}/${encodeURIComponent(approval.stepId)}`,
        {
          body: { decision, comment: comment.trim() === '' ? null : comment.trim() },
        },
      );
      onDecided(approval, decision);
    } catch (e) {
      setError(refusalInWords(e));
      setBusy(null);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void decide('approve');
  };

  const input = run.data?.input;
  const user = run.data?.trigger.user;
  return (
    <article className="card approval-card" aria-labelledby={`${id}-title`}>
      <header className="approval-head">
        <h2 id={`${id}-title`}>{approval.message ?? `Approve ${approval.stepId}`}</h2>
        <p className="muted small">
          <Link to={`/runs/${encodeURIComponent(approval.runId)}`}>{approval.workflowId}</Link> · step{' '}
          <span className="mono">{approval.stepId}</span>
          {approval.level > 1 ? ` · escalated to level ${approval.level}` : ''}
        </p>
      </header>
      <dl className="facts">
        <div>
          <dt>Requested by</dt>
          <dd>
            {user?.name ? `${user.name} (${user.email})` : (approval.requestedBy ?? user?.email ?? '—')}
          </dd>
        </div>
        <div>
          <dt>Decide by</dt>
          <dd>
            {approval.deadline ? (
              <>
                {formatTime(approval.deadline)}{' '}
                <span className="muted small">({relativeTime(approval.deadline)})</span>
              </>
            ) : (
              'no deadline'
            )}
          </dd>
        </div>
        {approval.context ? <ContextFacts context={approval.context} /> : null}
        {!approval.context && input && typeof input === 'object' ? (
          <div className="facts-wide">
            <dt>Details</dt>
            <dd>
              <ul className="input-list">
                {Object.entries(input as Record<string, unknown>).map(([k, v]) => (
                  <li key={k}>
                    <span className="muted">{k}</span> {typeof v === 'string' ? v : JSON.stringify(v)}
                  </li>
                ))}
              </ul>
            </dd>
          </div>
        ) : null}
      </dl>
      <form onSubmit={submit} className="decision-form">
        <div className="field">
          <label htmlFor={`${id}-comment`}>
            Comment <span className="muted small">(optional; the requester sees it)</span>
          </label>
          <textarea
            id={`${id}-comment`}
            rows={2}
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
        </div>
        <ProblemNote error={error} />
        <div className="form-actions">
          <button
            type="button"
            className="button-danger"
            disabled={busy !== null}
            onClick={() => void decide('reject')}
          >
            {busy === 'reject' ? 'Rejecting…' : 'Reject'}
          </button>
          <button type="submit" className="button-primary" disabled={busy !== null}>
            {busy === 'approve' ? 'Approving…' : 'Approve'}
          </button>
        </div>
      </form>
    </article>
  );
}
