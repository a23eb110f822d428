// Runs: every run the user may see, filtered by workflow, status, who started it and when (kept in the
// address, so a filtered list can be shared), with its duration and a chart of runs per day by outcome.
import { useEffect, useMemo } from 'react';
import { isEmail } from '../../../translator/email';
import { query } from '../api';
import { Link, navigate, useLocation } from '../router';
import { useMe } from '../session';
import type { RunSummary, WorkflowSummary } from '../types';
import {
  atLeast,
  Empty,
  formatDuration,
  formatTime,
  Loading,
  OutcomeBadge,
  Page,
  ProblemNote,
  StatusBadge,
  triggerKind,
  useApi,
} from '../ui';

const STATUSES = ['running', 'completed', 'failed', 'cancelled', 'timed_out'] as const;
const DAY = 86_400_000;
const REFRESH_MS = 5000;

interface Filters {
  workflowId: string;
  status: string;
  triggeredBy: string;
  from: string;
  to: string;
}

function startOfDay(text: string): number | undefined {
  if (text === '') return undefined;
  const t = new Date(`${text}T00:00:00`).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/** The filters, kept in the address; `set` changes one of them, replacing the history entry. */
function useRunFilters() {
  const location = useLocation();
  const filters: Filters = {
    workflowId: location.search.get('workflowId') ?? '',
    status: location.search.get('status') ?? '',
    triggeredBy: location.search.get('triggeredBy') ?? '',
    from: location.search.get('from') ?? '',
    to: location.search.get('to') ?? '',
  };
  const set = (key: keyof Filters, value: string) => {
    const next = { ...filters, [key]: value };
    navigate(`/runs${query({ ...next })}`, { replace: true });
  };
  return { filters, set };
}

/** The runs the filters select, asked of the server and filtered again here, refreshed while one runs. */
function useFilteredRuns(filters: Filters) {
  const fromMs = startOfDay(filters.from);
  const toMs = filters.to ? (startOfDay(filters.to) ?? 0) + DAY : undefined;
  const runs = useApi<RunSummary[]>(
    `/api/runs${query({
      workflowId: filters.workflowId,
      status: filters.status,
      // The API takes a whole address; part of a name or address is matched here.
      triggeredBy: isEmail(filters.triggeredBy.trim()) ? filters.triggeredBy.trim() : '',
      from: fromMs,
      to: toMs,
      limit: 500,
    })}`,
  );
  const anyRunning = runs.data?.some((r) => r.status === 'running') ?? false;
  const { reload } = runs;

  // While something runs, the list follows it.
  useEffect(() => {
    if (!anyRunning) return;
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [anyRunning, reload]);

  // The same filters again here: a server that ignores one still shows the right rows.
  const shown = useMemo(() => {
    const who = filters.triggeredBy.toLowerCase();
    return (runs.data ?? [])
      .filter((r) => !filters.workflowId || r.workflowId === filters.workflowId)
      .filter((r) => !filters.status || r.status === filters.status)
      .filter(
        (r) =>
          !who ||
          r.trigger.user.email.toLowerCase().includes(who) ||
          (r.trigger.user.name ?? '').toLowerCase().includes(who),
      )
      .filter((r) => fromMs === undefined || r.createdAt >= fromMs)
      .filter((r) => toMs === undefined || r.createdAt < toMs)
      .sort((a, b) => b.createdAt - a.createdAt);
  }, [runs.data, filters.workflowId, filters.status, filters.triggeredBy, fromMs, toMs]);

  return { runs, shown };
}

export function RunsScreen() {
  const me = useMe();
  const { filters, set } = useRunFilters();
  const { runs, shown } = useFilteredRuns(filters);
  const workflows = useApi<WorkflowSummary[]>('/api/workflows');
  const names = new Map((workflows.data ?? []).map((w) => [w.id, w.name]));
  const filtered = Object.values(filters).some((v) => v !== '');
  // Members see only the runs they started: an empty list says so rather than "no runs".
  const emptyTitle = atLeast(me.role, 'lead')
    ? 'No runs yet.'
    : 'You have not started any runs yet (members see only the runs they started).';

  return (
    <Page
      title="Runs"
      subtitle={
        atLeast(me.role, 'lead')
          ? 'What ran, who started it, and how it ended.'
          : 'The runs you started: how each went, and what decided it.'
      }
    >
      <RunFilters filters={filters} set={set} filtered={filtered} workflows={workflows.data ?? []} />
      <ProblemNote error={runs.error} />
      {runs.loading && !runs.data ? <Loading /> : null}
      {runs.data ? <RunsChart runs={shown} /> : null}
      {runs.data && shown.length === 0 ? (
        <Empty title={filtered ? 'No run you can see matches these filters.' : emptyTitle}>
          {filtered ? null : (
            <p>
              Start one from the <Link to="/workflows">workflows</Link> or the chat box.
            </p>
          )}
        </Empty>
      ) : null}
      {shown.length > 0 ? <RunsTable runs={shown} names={names} /> : null}
    </Page>
  );
}

function RunFilters({
  filters,
  set,
  filtered,
  workflows,
}: {
  filters: Filters;
  set: (key: keyof Filters, value: string) => void;
  filtered: boolean;
  workflows: WorkflowSummary[];
}) {
  return (
    <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter runs">
      <label className="field">
        <span>Workflow</span>
        <select value={filters.workflowId} onChange={(e) => set('workflowId', e.target.value)}>
          <option value="">All workflows</option>
          {workflows.map((w) => (
            <option key={w.id} value={w.id}>
              {w.name}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Status</span>
        <select value={filters.status} onChange={(e) => set('status', e.target.value)}>
          <option value="">Any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Started by</span>
        <input
          type="search"
          value={filters.triggeredBy}
          placeholder="email or name"
          onChange={(e) => set('triggeredBy', e.target.value)}
        />
      </label>
      <label className="field">
        <span>From</span>
        <input type="date" value={filters.from} onChange={(e) => set('from', e.target.value)} />
      </label>
      <label className="field">
        <span>To</span>
        <input type="date" value={filters.to} onChange={(e) => set('to', e.target.value)} />
      </label>
      {filtered ? (
        <button type="button" className="button-quiet" onClick={() => navigate('/runs', { replace: true })}>
          Clear filters
        </button>
      ) : null}
    </form>
  );
}

function RunsTable({ runs, names }: { runs: RunSummary[]; names: Map<string, string> }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Workflow</th>
          <th scope="col">Status</th>
          <th scope="col">Started by</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id}>
            <td>
              <Link to={`/runs/${encodeURIComponent(r.id)}`} className="mono">
                {r.id.length > 14 ? `${r.id.slice(0, 13)}…` : r.id}
              </Link>
            </td>
            <td>{names.get(r.workflowId) ?? r.workflowId}</td>
            <td>
              <span className="status-cell">
                <StatusBadge status={r.status} />
                {r.outcome ? <OutcomeBadge outcome={r.outcome} /> : null}
              </span>
            </td>
            <td>
              {r.trigger.user.name ?? r.trigger.user.email}
              <span className="muted small"> · {triggerKind(r.trigger)}</span>
            </td>
            <td className="nowrap">{formatTime(r.createdAt)}</td>
            <td className="nowrap">
              {formatDuration(r.durationMs ?? (r.endedAt ? r.endedAt - r.createdAt : undefined))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const OUTCOMES = ['completed', 'failed', 'timed_out', 'cancelled', 'running'] as const;

/** Runs per day over the last two weeks, stacked by outcome (drawn by hand: no chart library). */
function RunsChart({ runs }: { runs: RunSummary[] }) {
  const days = 14;
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const first = today.getTime() - (days - 1) * DAY;
  const buckets = Array.from({ length: days }, (_, i) => ({
    day: first + i * DAY,
    counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<string, number>,
  }));
  for (const run of runs) {
    const index = Math.floor((run.createdAt - first) / DAY);
    const bucket = buckets[index];
    if (bucket !== undefined) bucket.counts[run.status] = (bucket.counts[run.status] ?? 0) + 1;
  }
  const totals = buckets.map((b) => Object.values(b.counts).reduce((a, n) => a + n, 0));
  const max = Math.max(1, ...totals);
  const width = 720;
  const height = 140;
  const top = 12;
  const bottom = 22;
  const left = 28;
  const slot = (width - left) / days;
  const bar = Math.min(28, slot * 0.6);
  const scale = (n: number) => (n / max) * (height - top - bottom);
  const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
  const summary = buckets
    .filter((_, i) => (totals[i] ?? 0) > 0)
    .map((b, i) => `${dayLabel.format(b.day)}: ${totals[i]}`)
    .join(', ');
  return (
    <figure className="card chart">
      <figcaption>
        <strong>Runs per day</strong> <span className="muted small">last {days} days</span>
        <ul className="legend">
          {OUTCOMES.map((o) => (
            <li key={o}>
              <span className={`swatch outcome-${o}`} aria-hidden="true" /> {o.replace('_', ' ')}
            </li>
          ))}
        </ul>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Runs per day by outcome. ${summary || 'No runs in the last two weeks.'}`}
        className="chart-svg"
      >
        <line x1={left} x2={width} y1={height - bottom} y2={height - bottom} className="axis" />
        <text x={left - 6} y={top + 4} textAnchor="end" className="tick">
          {max}
        </text>
        <text x={left - 6} y={height - bottom} textAnchor="end" className="tick">
          0
        </text>
        {buckets.map((b, i) => {
          let y = height - bottom;
          const x = left + i * slot + (slot - bar) / 2;
          return (
            <g key={b.day}>
              <title>{`${dayLabel.format(b.day)}: ${
                OUTCOMES.filter((o) => (b.counts[o] ?? 0) > 0)
                  .map((o) => `${b.counts[o]} ${o.replace('_', ' ')}`)
                  .join(', ') || 'no runs'
              }`}</title>
              {OUTCOMES.map((o) => {
                const h = scale(b.counts[o] ?? 0);
                if (h === 0) return null;
                y -= h;
                return <rect key={o} x={x} y={y} width={bar} height={h} rx={2} className={`outcome-${o}`} />;
              })}
              {i % 2 === days % 2 || i === days - 1 ? (
                <text x={x + bar / 2} y={height - 6} textAnchor="middle" className="tick">
                  {dayLabel.format(b.day)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
