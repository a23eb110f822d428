// Workflows: every workflow with its triggers and last run, searchable; New, From template, Import, and
// Run (the form generated from its inputs) on each.
import { type ChangeEvent, useMemo, useState } from 'react';
import { Link, navigate } from '../router';
import { RunDialog } from '../run-dialog';
import { useMe } from '../session';
import type { RunSummary, Trigger, WorkflowSummary } from '../types';
import {
  atLeast,
  canStartManually,
  Dialog,
  Empty,
  Loading,
  OutcomeBadge,
  Page,
  ProblemNote,
  relativeTime,
  StatusBadge,
  useApi,
} from '../ui';

/** The workflows matching the search (every word in the id or name), by name, with each one's last run. */
function useWorkflowList(search: string) {
  const me = useMe();
  const workflows = useApi<WorkflowSummary[]>('/api/workflows');
  const runs = useApi<RunSummary[]>(atLeast(me.role, 'member') ? '/api/runs?limit=500' : null);

  const lastRun = useMemo(() => {
    const latest = new Map<string, RunSummary>();
    for (const run of runs.data ?? []) {
      const seen = latest.get(run.workflowId);
      if (seen === undefined || seen.createdAt < run.createdAt) latest.set(run.workflowId, run);
    }
    return latest;
  }, [runs.data]);

  const shown = useMemo(() => {
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    return (workflows.data ?? [])
      .filter((w) => words.every((word) => `${w.id} ${w.name}`.toLowerCase().includes(word)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [workflows.data, search]);

  return { workflows, lastRun, shown };
}

/**
 * Whose runs the caller may see (GET /api/runs): leads and above everyone's, members their own, viewers
 * none. The last-run column says which, so a member is not told "never run" of a workflow others ran.
 */
type RunScope = 'all' | 'own' | 'none';

function runScopeOf(role: string): RunScope {
  if (atLeast(role, 'lead')) return 'all';
  return atLeast(role, 'member') ? 'own' : 'none';
}

const LAST_RUN_HEADER: Record<RunScope, string> = {
  all: 'Last run',
  own: 'Your last run',
  none: 'Last run',
};

export function WorkflowsScreen() {
  const me = useMe();
  const [search, setSearch] = useState('');
  const [running, setRunning] = useState<string | null>(null);
  const [importing, setImporting] = useState(false);
  const { workflows, lastRun, shown } = useWorkflowList(search);
  const canEdit = atLeast(me.role, 'lead');
  const scope = runScopeOf(me.role);

  return (
    <Page
      title="Workflows"
      subtitle="What your organisation can run, who may start it, and how it went last time."
      actions={<PageActions canEdit={canEdit} onImport={() => setImporting(true)} />}
    >
      <div className="toolbar">
        <label className="search">
          <span className="visually-hidden">Search workflows</span>
          <input
            type="search"
            placeholder="Search workflows"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      </div>
      <ProblemNote error={workflows.error} />
      {workflows.loading && !workflows.data ? <Loading /> : null}
      {workflows.data && workflows.data.length === 0 ? (
        <Empty title="No workflows yet.">
          {canEdit ? (
            <p>
              Start from a <Link to="/templates">template</Link> or{' '}
              <Link to="/workflows/new">design a new one</Link>.
            </p>
          ) : (
            <p>Ask a lead to publish one.</p>
          )}
        </Empty>
      ) : null}
      {workflows.data && workflows.data.length > 0 && shown.length === 0 ? (
        <Empty title={`No workflow matches “${search}”.`} />
      ) : null}
      {shown.length > 0 ? (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Triggers</th>
              <th scope="col" title={scope === 'own' ? 'Members see only the runs they started' : undefined}>
                {LAST_RUN_HEADER[scope]}
              </th>
              <th scope="col">Version</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((w) => (
              <WorkflowRow
                key={w.id}
                workflow={w}
                last={lastRun.get(w.id)}
                scope={scope}
                canStart={canStartManually(w.triggers, me.role)}
                canEdit={canEdit}
                onRun={() => setRunning(w.id)}
              />
            ))}
          </tbody>
        </table>
      ) : null}
      <RunDialog workflowId={running} onClose={() => setRunning(null)} />
      <ImportDialog open={importing} onClose={() => setImporting(false)} />
    </Page>
  );
}

/** New, From template and Import for those who may edit; the templates for the others. */
function PageActions({ canEdit, onImport }: { canEdit: boolean; onImport: () => void }) {
  return canEdit ? (
    <>
      <button type="button" className="button-quiet" onClick={onImport}>
        Import YAML/JSON
      </button>
      <Link to="/templates" className="button">
        From template
      </Link>
      <Link to="/workflows/new" className="button button-primary">
        New workflow
      </Link>
    </>
  ) : (
    <Link to="/templates" className="button">
      Templates
    </Link>
  );
}

/** The last-run cell with no run to show: what the caller may see, not a claim about everyone's runs. */
function NoLastRun({ scope }: { scope: RunScope }) {
  switch (scope) {
    case 'all':
      return <span className="muted small">never run</span>;
    case 'own':
      return (
        <span className="muted small" title="Others may have run it; members see only the runs they started.">
          none by you
        </span>
      );
    case 'none':
      return (
        <span
          className="muted small"
          title="Viewers cannot list runs; a run they started opens from its own link."
        >
          runs not shown to viewers
        </span>
      );
  }
}

function WorkflowRow(props: {
  workflow: WorkflowSummary;
  last: RunSummary | undefined;
  scope: RunScope;
  canStart: boolean;
  canEdit: boolean;
  onRun: () => void;
}) {
  const { workflow: w, last, canEdit } = props;
  return (
    <tr>
      <td>
        <Link to={`/workflows/${encodeURIComponent(w.id)}`} className="row-title">
          {w.name}
        </Link>
        <div className="muted small mono">{w.id}</div>
      </td>
      <td>
        <div className="chips">
          {w.triggers.map((t) => (
            <TriggerChip key={JSON.stringify(t)} trigger={t} />
          ))}
        </div>
      </td>
      <td>
        {last ? (
          <Link
            to={`/runs/${encodeURIComponent(last.id)}`}
            className="last-run"
            data-testid="last-run-status"
          >
            <StatusBadge status={last.status} />{' '}
            {last.outcome ? <OutcomeBadge outcome={last.outcome} /> : null}{' '}
            <span className="muted small">{relativeTime(last.createdAt)}</span>
          </Link>
        ) : (
          <NoLastRun scope={props.scope} />
        )}
      </td>
      <td className="muted small">
        v{w.version} · {relativeTime(w.createdAt)}
      </td>
      <td>
        <div className="row-actions">
          {props.canStart ? (
            <button type="button" className="button-small" onClick={props.onRun} aria-label={`Run ${w.name}`}>
              Run
            </button>
          ) : null}
          <Link
            to={`/workflows/${encodeURIComponent(w.id)}`}
            className="button button-small button-quiet"
            aria-label={`${canEdit ? 'Edit' : 'Open'} ${w.name}`}
          >
            {canEdit ? 'Edit' : 'Open'}
          </Link>
        </div>
      </td>
    </tr>
  );
}

function TriggerChip({ trigger }: { trigger: Trigger }) {
  const detail =
    trigger.type === 'manual' && typeof trigger.minRole === 'string'
      ? `${trigger.minRole}+`
      : trigger.type === 'schedule' && typeof trigger.cron === 'string'
        ? trigger.cron
        : trigger.type === 'webhook' && typeof trigger.auth === 'string'
          ? trigger.auth
          : '';
  return (
    <span
      className={`chip chip-${trigger.type}`}
      title={detail ? `${trigger.type}: ${detail}` : trigger.type}
    >
      {trigger.type}
      {detail ? <span className="chip-detail"> {detail}</span> : null}
    </span>
  );
}

/** Import: a file or pasted text, opened in the editor (nothing is saved until the editor saves it). */
function ImportDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();

  const pick = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file === undefined) return;
    if (file.size > 1_000_000) {
      setError('That file is over 1 MB; a definition is at most 1 MB.');
      return;
    }
    setError(undefined);
    setText(await file.text());
  };

  const openInEditor = () => {
    if (text.trim() === '') {
      setError('Choose a file or paste a definition first.');
      return;
    }
    onClose();
    navigate('/workflows/new', { state: { initialSource: text } });
  };

  return (
    <Dialog open={open} title="Import a workflow" onClose={onClose} wide>
      <p className="muted">
        A YAML or JSON definition opens in the editor; nothing is saved until you save it there.
      </p>
      <div className="field">
        <label htmlFor="import-file">Definition file</label>
        <input
          id="import-file"
          type="file"
          accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
          onChange={pick}
        />
      </div>
      <div className="field">
        <label htmlFor="import-text">Or paste it</label>
        <textarea
          id="import-text"
          className="mono"
          rows={12}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
        />
      </div>
      {error ? (
        <p className="problem" role="alert">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="button" className="button-quiet" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button-primary" onClick={openInEditor}>
          Open in editor
        </button>
      </div>
    </Dialog>
  );
}
