// /runs/:id: one run, live. The graph coloured by step state, the status, who started it and how, and a
// timeline of every step: attempts, results, policy decisions, approval requests (with what each level's
// approvers were shown: the message, the details, inputs and latest results) and decisions. Updates
// come from the run's event stream (GET /api/runs/:id/events, `event: run` carrying the whole view);
// when the stream fails the page polls instead. Cancel where the caller may.
import { useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../api';
import { ContextFacts } from '../approval-context';
import { parseDefinition } from '../definition';
import { RunFlow } from '../flow';
import { Link } from '../router';
import { useMe } from '../session';
import type {
  ApprovalShown,
  AuditEntry,
  RunView,
  StepAttempt,
  StepState,
  StepView,
  WorkflowDetail,
} from '../types';
import {
  atLeast,
  Empty,
  formatClock,
  formatDuration,
  formatTime,
  Loading,
  OutcomeBadge,
  Page,
  ProblemNote,
  preview,
  StatusBadge,
  triggerKind,
  useApi,
} from '../ui';

const POLL_MS = 2000;

/** The run as the server sent it, with what an older server leaves out filled in. */
export function toRunView(raw: unknown): RunView {
  const value = raw as Partial<RunView> & { audit?: AuditEntry[] };
  return {
    ...(value as RunView),
    steps: Array.isArray(value.steps) ? value.steps : [],
    history: Array.isArray(value.history) ? value.history : Array.isArray(value.audit) ? value.audit : [],
  };
}

function useLiveRun(id: string): {
  run: RunView | undefined;
  error: unknown;
  live: 'stream' | 'polling' | 'off';
} {
  const [run, setRun] = useState<RunView>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState<'stream' | 'polling' | 'off'>('off');
  const path = `/api/runs/${encodeURIComponent(id)}`;

  useEffect(() => {
    const controller = new AbortController();
    api(path, { signal: controller.signal })
      .then((raw) => setRun(toRunView(raw)))
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      });
    return () => controller.abort();
  }, [path]);

  const running = run?.status === 'running';
  useEffect(() => {
    if (!running) {
      setLive('off');
      return;
    }
    let closed = false;
    let timer: number | undefined;
    const poll = () => {
      api(path)
        .then((raw) => {
          if (closed) return;
          const view = toRunView(raw);
          setRun(view);
          if (view.status === 'running') timer = window.setTimeout(poll, POLL_MS);
        })
        .catch(() => {
          if (!closed) timer = window.setTimeout(poll, POLL_MS * 2);
        });
    };
    if (typeof EventSource === 'undefined') {
      setLive('polling');
      poll();
      return () => {
        closed = true;
        window.clearTimeout(timer);
      };
    }
    const source = new EventSource(`${path}/events`);
    setLive('stream');
    source.addEventListener('run', (event) => {
      const view = toRunView(JSON.parse((event as MessageEvent<string>).data));
      setRun(view);
      if (view.status !== 'running') source.close();
    });
    source.onerror = () => {
      // The stream broke (or the server has none): fall back to asking now and then.
      source.close();
      if (closed) return;
      setLive('polling');
      poll();
    };
    return () => {
      closed = true;
      source.close();
      window.clearTimeout(timer);
    };
  }, [path, running]);

  return { run, error, live };
}

/** Cancelling the run, after the user confirms; the server's refusal is kept to show. */
function useCancelRun(runId: string | undefined) {
  const [cancelError, setCancelError] = useState<unknown>();
  const [cancelling, setCancelling] = useState(false);
  const cancel = async () => {
    if (runId === undefined) return;
    if (!window.confirm('Cancel this run? Steps that have not run yet will not run.')) return;
    setCancelling(true);
    setCancelError(undefined);
    try {
      await api(`/api/runs/${encodeURIComponent(runId)}/cancel`, { method: 'POST' });
    } catch (e) {
      setCancelError(e);
    } finally {
      setCancelling(false);
    }
  };
  return { cancel, cancelling, cancelError };
}

export function RunScreen({ id }: { id: string }) {
  const me = useMe();
  const { run, error, live } = useLiveRun(id);
  // The graph of the version the run ran (the latest when the server does not say which).
  const workflow = useApi<WorkflowDetail>(
    run
      ? `/api/workflows/${encodeURIComponent(run.workflowId)}${
          run.workflowVersion === undefined ? '' : `/versions/${run.workflowVersion}`
        }`
      : null,
  );
  const definition = useMemo(() => parseDefinition(workflow.data?.source), [workflow.data?.source]);
  const { cancel, cancelling, cancelError } = useCancelRun(run?.id);
  const [selected, setSelected] = useState<string>();

  if (error) {
    return (
      <Page title="Run">
        <ProblemNote error={error} />
        <p>
          <Link to="/runs">All runs</Link>
        </p>
      </Page>
    );
  }
  if (!run) return <Loading what="Loading the run" />;

  const states: Record<string, StepState> = Object.fromEntries(run.steps.map((s) => [s.id, s.state]));
  const canCancel =
    run.status === 'running' &&
    (run.trigger.user.email.toLowerCase() === me.email.toLowerCase() || atLeast(me.role, 'manager'));

  const select = (stepId: string) => {
    setSelected(stepId);
    document.getElementById(`step-${stepId}`)?.scrollIntoView({ behavior: 'smooth', block: 'center' });
  };

  return (
    <Page
      title={workflow.data?.name ?? run.workflowId}
      subtitle={
        <>
          Run <span className="mono">{run.id}</span>
          {run.workflowVersion !== undefined ? ` · version ${run.workflowVersion}` : ''}
        </>
      }
      actions={
        <>
          <Link to={`/runs?workflowId=${encodeURIComponent(run.workflowId)}`} className="button button-quiet">
            All runs of this workflow
          </Link>
          {/* The API's export as it is: the browser saves it under the server's content-disposition name. */}
          <a
            href={`/api/runs/${encodeURIComponent(run.id)}/audit`}
            download
            className="button button-quiet"
            data-testid="audit-download"
          >
            Download audit trail
          </a>
          {canCancel ? (
            <button type="button" className="button-danger" onClick={cancel} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel run'}
            </button>
          ) : null}
        </>
      }
    >
      <ProblemNote error={cancelError} />
      <RunFacts run={run} live={live} />
      {run.error ? (
        <div className="problem" role="status">
          <strong>{run.error.code ?? 'Error'}</strong>
          {run.error.step ? ` at ${run.error.step}` : ''} — {run.error.message}
        </div>
      ) : null}

      <div className="card graph-card">
        {definition !== undefined ? (
          <RunFlow definition={definition} states={states} onSelectStep={select} />
        ) : (
          <div className="flow-placeholder" style={{ height: 120 }}>
            {workflow.error ? <ProblemNote error={workflow.error} /> : null}
          </div>
        )}
        <Legend />
      </div>

      <div className="run-columns">
        <section aria-labelledby="timeline-title" className="timeline-section">
          <h2 id="timeline-title">Timeline</h2>
          <Timeline run={run} selected={selected} />
        </section>
        <aside className="run-side">
          <section className="card">
            <h2>Input</h2>
            <Json value={run.input} />
          </section>
          {run.output !== undefined && run.output !== null ? (
            <section className="card">
              <h2>Result</h2>
              <Json value={run.output} />
            </section>
          ) : null}
        </aside>
      </div>
      <History entries={run.history} />
    </Page>
  );
}

/** Status (live while the stream is open), who started the run and how, when, and how long it took. */
function RunFacts({ run, live }: { run: RunView; live: 'stream' | 'polling' | 'off' }) {
  const now = useNow(run.status === 'running');
  const duration = run.durationMs ?? (run.endedAt ? run.endedAt - run.createdAt : now - run.createdAt);
  const user = run.trigger.user;
  return (
    <dl className="run-facts">
      <div>
        <dt>Status</dt>
        <dd data-testid="run-status" aria-live="polite">
          <StatusBadge status={run.status} />
          {run.outcome ? (
            <>
              {' '}
              <OutcomeBadge outcome={run.outcome} />
            </>
          ) : null}
          {live === 'stream' ? <span className="live-dot" title="Updating live" /> : null}
        </dd>
      </div>
      <div>
        <dt>Started by</dt>
        <dd>
          {user.name ? `${user.name} ` : ''}
          <span className={user.name ? 'muted' : ''}>{user.email}</span>
          <span className="muted"> · {describeTrigger(triggerKind(run.trigger))}</span>
        </dd>
      </div>
      <div>
        <dt>Started</dt>
        <dd>{formatTime(run.createdAt)}</dd>
      </div>
      <div>
        <dt>{run.status === 'running' ? 'Running for' : 'Took'}</dt>
        <dd>{formatDuration(duration)}</dd>
      </div>
    </dl>
  );
}

function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!ticking) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return now;
}

function describeTrigger(kind: string): string {
  switch (kind) {
    case 'manual':
      return 'started by hand';
    case 'chat':
      return 'started from chat';
    case 'webhook':
      return 'by webhook';
    case 'schedule':
      return 'on a schedule';
    default:
      return kind;
  }
}

const STATE_LABELS: Record<StepState, string> = {
  pending: 'not reached',
  running: 'running',
  waiting: 'waiting',
  done: 'done',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

function Legend() {
  return (
    <ul className="legend" aria-label="Step states">
      {(['done', 'running', 'waiting', 'failed', 'cancelled', 'skipped', 'pending'] as StepState[]).map(
        (s) => (
          <li key={s}>
            <span className={`state-dot state-${s}`} aria-hidden="true" /> {STATE_LABELS[s]}
          </li>
        ),
      )}
    </ul>
  );
}

function Timeline({ run, selected }: { run: RunView; selected: string | undefined }) {
  const started = (s: StepView) =>
    s.startedAt !== undefined || ['running', 'waiting', 'done', 'failed'].includes(s.state);
  const reached = run.steps
    .filter(started)
    .sort((a, b) => (a.startedAt ?? Number.MAX_SAFE_INTEGER) - (b.startedAt ?? Number.MAX_SAFE_INTEGER));
  const notReached = run.steps.filter((s) => !started(s));
  if (run.steps.length === 0)
    return (
      <Empty title="No steps to show yet.">
        {run.history.length > 0 ? <p>See the audit trail below.</p> : null}
      </Empty>
    );
  return (
    <>
      <ol className="timeline">
        {reached.map((step) => (
          <StepItem key={step.id} step={step} selected={selected === step.id} />
        ))}
        {run.status !== 'running' ? (
          <li className="timeline-item timeline-end">
            <span className={`state-dot state-${endState(run.status)}`} aria-hidden="true" />
            <div className="timeline-body">
              <div className="timeline-head">
                <strong>
                  Run {run.status === 'timed_out' ? 'timed out' : run.status}
                  {cancelledBy(run.history) ? ` by ${cancelledBy(run.history)}` : ''}
                </strong>
                <span className="muted small">{formatClock(run.endedAt)}</span>
              </div>
            </div>
          </li>
        ) : null}
      </ol>
      {notReached.length > 0 ? (
        <p className="muted small not-reached">
          {run.status === 'running' ? 'Not reached yet' : 'Not taken'}:{' '}
          {notReached.map((s) => s.name ?? s.id).join(', ')}
        </p>
      ) : null}
    </>
  );
}

const CHANNELS: Record<string, string> = { api: 'in Stepgate', email: 'from the email link' };

function channelLabel(channel: string): string {
  return CHANNELS[channel] ?? `via ${channel}`;
}

function endState(status: string): StepState {
  if (status === 'completed') return 'done';
  return status === 'cancelled' ? 'cancelled' : 'failed';
}

/** Who cancelled the run, as its audit trail says. */
function cancelledBy(history: AuditEntry[]): string | undefined {
  const by = history.find((e) => e.type === 'run.cancelled')?.data?.by;
  return typeof by === 'string' ? by : undefined;
}

/** A step's state in words: a message delivered after its branch was cancelled says so. */
function stepStateLabel(step: StepView): string {
  if (step.afterJoin === 'done')
    return step.type === 'notify' ? 'delivered after the join' : 'done after the join';
  return STATE_LABELS[step.state];
}

function StepItem({ step, selected }: { step: StepView; selected: boolean }) {
  const ref = useRef<HTMLLIElement>(null);
  const duration =
    step.startedAt !== undefined && step.endedAt !== undefined ? step.endedAt - step.startedAt : undefined;
  return (
    <li
      ref={ref}
      id={`step-${step.id}`}
      className={selected ? 'timeline-item selected' : 'timeline-item'}
      aria-label={`${step.name ?? step.id}: ${stepStateLabel(step)}`}
    >
      <span className={`state-dot state-${step.state}`} aria-hidden="true" />
      <div className="timeline-body">
        <div className="timeline-head">
          <strong>{step.name ?? step.id}</strong>
          <span className="step-type">{step.type}</span>
          <span className={`state-label state-text-${step.state}`}>{stepStateLabel(step)}</span>
          <span className="muted small timeline-time">
            {formatClock(step.startedAt)}
            {duration !== undefined ? ` · ${formatDuration(duration)}` : ''}
            {step.visits > 1 ? ` · ${step.visits} visits` : ''}
          </span>
        </div>
        {step.type === 'tool' || step.type === 'notify' || step.attempts.length > 1 ? (
          step.attempts.length > 0 ? (
            <ol className="attempts">
              {step.attempts.map((a) => (
                <AttemptItem key={`${a.visit ?? 1}-${a.attempt}`} attempt={a} />
              ))}
            </ol>
          ) : null
        ) : null}
        {step.afterJoin ? (
          <p className="small muted after-join">
            {step.afterJoin === 'done'
              ? `${step.type === 'notify' ? 'Delivered' : 'Answered'} after the parallel had already gone on without this branch: it happened, but nothing waited for it.`
              : 'Failed after the parallel had already gone on without this branch; it was not retried.'}
          </p>
        ) : null}
        {step.approval ? <ApprovalDetails approval={step.approval} /> : null}
        {step.type === 'condition' && step.output !== undefined ? (
          <p className="small">
            Condition was <strong>{String(step.output)}</strong>
          </p>
        ) : null}
        {step.error && step.attempts.every((a) => a.error === undefined) ? (
          <p className="small error-text">
            {step.error.code ? `${step.error.code}: ` : ''}
            {step.error.message}
          </p>
        ) : null}
      </div>
    </li>
  );
}

function AttemptItem({ attempt }: { attempt: StepAttempt }) {
  const duration =
    attempt.startedAt !== undefined && attempt.endedAt !== undefined
      ? attempt.endedAt - attempt.startedAt
      : undefined;
  return (
    <li className="attempt">
      <div className="attempt-head">
        <span>Attempt {attempt.attempt}</span>
        {attempt.error ? (
          <span className="error-text">
            {attempt.error.code ? `${attempt.error.code}: ` : ''}
            {attempt.error.message}
          </span>
        ) : attempt.endedAt !== undefined ? (
          <span className="ok-text">succeeded</span>
        ) : attempt.cutShort ? (
          <span className="muted">cut short: no answer before the step was stopped</span>
        ) : (
          <span className="muted">in progress</span>
        )}
        {attempt.late ? (
          <span className="chip" title="The answer came after the step's branch was cancelled">
            after the join
          </span>
        ) : null}
        {duration !== undefined ? <span className="muted small">{formatDuration(duration)}</span> : null}
        {attempt.policy ? (
          <span
            className={`chip chip-policy-${attempt.policy.decision}`}
            title={
              attempt.policy.decisions
                ?.map((d) => `${d.rule}: ${d.outcome}${d.detail ? ` (${d.detail})` : ''}`)
                .join('\n') ?? attempt.policy.rule
            }
          >
            policy {attempt.policy.decision === 'allow' ? 'allowed' : 'denied'}
            {attempt.policy.rule ? <span className="chip-detail"> {attempt.policy.rule}</span> : null}
          </span>
        ) : null}
        {attempt.credentials?.map((c) => (
          <span key={c.name} className="chip" title={`credential ${c.name} from the ${c.level} level`}>
            🔑 {c.name} <span className="chip-detail">{c.level}</span>
          </span>
        ))}
      </div>
      {attempt.input !== undefined || attempt.output !== undefined ? (
        <details className="attempt-data">
          <summary>Input and result</summary>
          {attempt.input !== undefined ? (
            <>
              <h4>Input</h4>
              <Json value={attempt.input} />
            </>
          ) : null}
          {attempt.output !== undefined ? (
            <>
              <h4>Result</h4>
              <Json value={attempt.output} />
            </>
          ) : null}
        </details>
      ) : null}
    </li>
  );
}

function ApprovalDetails({ approval }: { approval: NonNullable<StepView['approval']> }) {
  const shown = approval.shown ?? [];
  const byLevel = new Map<number, string[]>();
  for (const r of approval.requests)
    byLevel.set(r.level ?? 1, [...(byLevel.get(r.level ?? 1) ?? []), r.approver]);
  const asked = (level: number, approvers: string[]) =>
    `${level > 1 ? `Escalated (level ${level}) to ` : 'Asked '}${[...new Set(approvers)].join(', ')}`;
  return (
    <div className="approval-details">
      {shown.length > 0
        ? shown.map((request, i) => (
            <ShownRequest
              key={`${request.visit}-${request.level}`}
              request={request}
              asked={asked(
                request.level,
                approval.requests
                  .filter((r) => (r.level ?? 1) === request.level && (r.visit ?? 1) === request.visit)
                  .map((r) => r.approver),
              )}
              latest={i === shown.length - 1}
            />
          ))
        : [...byLevel.entries()].map(([level, approvers]) => (
            <p key={level} className="small">
              {asked(level, approvers)}
            </p>
          ))}
      {approval.decisions.map((d) => (
        <p key={`${d.by}-${d.at}`} className={`decision decision-${d.decision}`}>
          <strong>
            {d.decision === 'approve' ? 'Approved' : d.decision === 'reject' ? 'Rejected' : d.decision}
          </strong>{' '}
          by {d.by}
          {d.selfApproval ? <span className="muted"> (their own run)</span> : null}
          {d.channel ? <span className="muted"> {channelLabel(d.channel)}</span> : null}
          <span className="muted small"> · {formatClock(d.at)}</span>
          {d.comment ? <q className="comment">{d.comment}</q> : null}
        </p>
      ))}
      {approval.refused?.map((r) => (
        <p key={`${r.by}-${r.at}`} className="small muted">
          Not counted: {r.decision} by {r.by} ({r.reason})
        </p>
      ))}
    </div>
  );
}

/**
 * One level's request: who was asked, and what they were shown — the message and the request's context,
 * as the Approvals card draws it; the latest request open, earlier ones folded.
 */
function ShownRequest({
  request,
  asked,
  latest,
}: {
  request: ApprovalShown;
  asked: string;
  latest: boolean;
}) {
  return (
    <div className="approval-request" data-testid={`approval-request-${request.visit}-${request.level}`}>
      <p className="small">
        {asked} <span className="muted small">· {formatClock(request.at)}</span>
      </p>
      <details className="approval-shown" open={latest}>
        <summary>What the approvers were shown</summary>
        {request.message ? <p className="approval-message">{request.message}</p> : null}
        {request.context ? (
          <dl className="facts">
            <ContextFacts context={request.context} />
          </dl>
        ) : (
          <p className="muted small">
            Only the message: this request was made before requests kept their context.
          </p>
        )}
      </details>
    </div>
  );
}

function History({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return null;
  return (
    <details className="card history">
      <summary>Audit trail ({entries.length} entries)</summary>
      <table className="table compact">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">Step</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e, i) => (
            <tr key={e.seq ?? i}>
              <td className="nowrap">{formatClock(e.at)}</td>
              <td className="mono">{e.type}</td>
              <td className="mono">{e.step ?? ''}</td>
              <td className="mono small">{preview(e.data, 200)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Json({ value }: { value: unknown }) {
  if (value === undefined || value === null) return <p className="muted small">none</p>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}
