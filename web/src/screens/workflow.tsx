// /workflows/new and /workflows/:id: the designer's editing screen, with Run and the workflow's runs in
// its toolbar (one bar, so the canvas keeps the height). An import arrives as `initialSource` in the
// navigation state.
import { useEffect, useState } from 'react';
import { WorkflowEditor } from '../designer';
import { Link, navigate, useLocation } from '../router';
import { RunDialog } from '../run-dialog';
import { useMe } from '../session';
import type { WorkflowDetail } from '../types';
import { canStartManually, useApi } from '../ui';

export function WorkflowScreen({ id }: { id: string | null }) {
  const me = useMe();
  const location = useLocation();
  const [running, setRunning] = useState(false);
  const workflow = useApi<WorkflowDetail>(id === null ? null : `/api/workflows/${encodeURIComponent(id)}`);
  const state = location.state as { initialSource?: unknown } | null;
  const initialSource = typeof state?.initialSource === 'string' ? state.initialSource : undefined;
  const name = workflow.data?.name ?? id ?? 'New workflow';

  useEffect(() => {
    document.title = `${name} · Stepgate`;
  }, [name]);

  const manual = workflow.data !== undefined && canStartManually(workflow.data.triggers, me.role);
  return (
    <section className="page page-editor">
      <h1 className="visually-hidden">{name}</h1>
      <WorkflowEditor
        workflowId={id}
        {...(initialSource !== undefined && id === null ? { initialSource } : {})}
        heading={
          <nav aria-label="Breadcrumb" className="breadcrumb sg-title">
            <Link to="/workflows">Workflows</Link>
            <span aria-hidden="true"> / </span>
            <span aria-current="page">{name}</span>
          </nav>
        }
        actions={
          id !== null ? (
            <>
              <Link to={`/runs?workflowId=${encodeURIComponent(id)}`} className="button button-quiet">
                Runs
              </Link>
              {manual ? (
                <button type="button" className="sg-primary" onClick={() => setRunning(true)}>
                  Run
                </button>
              ) : null}
            </>
          ) : null
        }
        onSaved={(saved) => {
          if (saved !== id) navigate(`/workflows/${encodeURIComponent(saved)}`, { replace: id === null });
          else workflow.reload();
        }}
      />
      <RunDialog workflowId={running && id !== null ? id : null} onClose={() => setRunning(false)} />
    </section>
  );
}
