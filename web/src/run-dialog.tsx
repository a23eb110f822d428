// "Run": the form generated from the workflow's `inputs`, POST /api/workflows/:id/run, then the run page.
// The API's 422 names the field at fault; it is shown next to that control.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api } from './api';
import { type Draft, draftToInput, fieldMessage, InputFields, initialDraft } from './input-form';
import { navigate } from './router';
import type { WorkflowDetail } from './types';
import { Dialog, Loading, ProblemNote, useApi } from './ui';

export function RunDialog({ workflowId, onClose }: { workflowId: string | null; onClose: () => void }) {
  return (
    <Dialog open={workflowId !== null} title="Start a run" onClose={onClose}>
      {workflowId !== null ? <RunForm workflowId={workflowId} onCancel={onClose} /> : null}
    </Dialog>
  );
}

function RunForm({ workflowId, onCancel }: { workflowId: string; onCancel: () => void }) {
  const workflow = useApi<WorkflowDetail>(`/api/workflows/${encodeURIComponent(workflowId)}`);
  const [draft, setDraft] = useState<Draft>({});
  const [error, setError] = useState<{ field?: string; message: string }>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [submitted, setSubmitted] = useState(false);

  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (workflow.data) setDraft(initialDraft(workflow.data.inputs));
  }, [workflow.data]);
  // Once the fields are there, start typing in the first one.
  const ready = workflow.data !== undefined;
  useEffect(() => {
    if (ready) form.current?.querySelector<HTMLElement>('input, select, textarea')?.focus();
  }, [ready]);

  if (workflow.error) return <ProblemNote error={workflow.error} />;
  if (!workflow.data) return <Loading />;
  const detail = workflow.data;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setError(undefined);
    setFailure(undefined);
    const read = draftToInput(detail.inputs, draft);
    if ('field' in read) {
      setError(read);
      return;
    }
    setBusy(true);
    try {
      const started = await api<{ runId: string }>(`/api/workflows/${encodeURIComponent(detail.id)}/run`, {
        body: { input: read.input },
      });
      navigate(`/runs/${encodeURIComponent(started.runId)}`);
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.field?.startsWith('input.'))
        setError({ field: e.field, message: fieldMessage(e.detail, e.field) });
      else setFailure(e);
    }
  };

  return (
    <form ref={form} onSubmit={submit} noValidate className="run-form">
      <p className="muted">
        <strong>{detail.name}</strong> · version {detail.version}
      </p>
      <InputFields
        schema={detail.inputs}
        draft={draft}
        onChange={setDraft}
        error={error}
        showAll={submitted}
      />
      {error && !error.field?.startsWith('input.') ? <p className="problem">{error.message}</p> : null}
      <ProblemNote error={failure} />
      <div className="form-actions">
        <button type="button" className="button-quiet" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button-primary" disabled={busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
      </div>
    </form>
  );
}
