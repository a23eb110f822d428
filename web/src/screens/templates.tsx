// The template gallery: each template's description and a picture of its flow; one click installs a copy
// (POST /api/templates/:id/install?copy=true: the template's id while free, else `<id>-copy[-N]`) and opens
// it in the editor.
import { useState } from 'react';
import { api } from '../api';
import { parseDefinition } from '../definition';
import { FlowPicture } from '../flow';
import { Link, navigate } from '../router';
import { useMe } from '../session';
import type { TemplateSummary, WorkflowDetail } from '../types';
import { atLeast, Empty, InlineMarkdown, Loading, Page, ProblemNote, useApi } from '../ui';

export function TemplatesScreen() {
  const me = useMe();
  const templates = useApi<TemplateSummary[]>('/api/templates');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const canInstall = atLeast(me.role, 'lead');

  const install = async (template: TemplateSummary) => {
    setBusy(template.id);
    setError(undefined);
    try {
      const saved = await api<{ id: string }>(
        `/api/templates/${encodeURIComponent(template.id)}/install?copy=true`,
        { method: 'POST' },
      );
      navigate(`/workflows/${encodeURIComponent(saved.id)}`);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  };

  return (
    <Page
      title="Templates"
      subtitle="Proven workflows to start from. Installing one saves it as a workflow you can change."
      actions={
        <Link to="/workflows" className="button button-quiet">
          Back to workflows
        </Link>
      }
    >
      {!canInstall ? (
        <p className="note">Installing a template needs the role lead or above; you can look around.</p>
      ) : null}
      <ProblemNote error={templates.error ?? error} />
      {templates.loading && !templates.data ? <Loading /> : null}
      {templates.data?.length === 0 ? <Empty title="The gallery is empty." /> : null}
      <div className="cards">
        {templates.data?.map((t) => (
          <article key={t.id} className="card template-card" aria-labelledby={`template-${t.id}`}>
            <TemplatePicture template={t} />
            <div className="card-body">
              <h2 id={`template-${t.id}`}>{t.name}</h2>
              <p className="muted">
                {t.description ? <InlineMarkdown text={t.description} /> : 'No description.'}
              </p>
            </div>
            <footer className="card-footer">
              {t.installed ? (
                <Link to={`/workflows/${encodeURIComponent(t.id)}`} className="button button-quiet">
                  Open installed
                </Link>
              ) : (
                <span className="muted small">Not installed</span>
              )}
              {canInstall ? (
                <button
                  type="button"
                  className="button-primary"
                  disabled={busy !== null}
                  aria-label={`Install ${t.name}`}
                  onClick={() => void install(t)}
                >
                  {busy === t.id ? 'Installing…' : t.installed ? 'Install a copy' : 'Install'}
                </button>
              ) : null}
            </footer>
          </article>
        ))}
      </div>
    </Page>
  );
}

/** The template's flow: from its source when the gallery sends it, else from the installed workflow. */
function TemplatePicture({ template }: { template: TemplateSummary }) {
  const installed = useApi<WorkflowDetail>(
    template.source === undefined && template.installed
      ? `/api/workflows/${encodeURIComponent(template.id)}`
      : null,
  );
  const definition = parseDefinition(template.source ?? installed.data?.source);
  return (
    <div className="card-picture">
      {definition !== undefined ? (
        <FlowPicture definition={definition} height={200} />
      ) : (
        <div className="flow-placeholder" style={{ height: 200 }} aria-hidden="true" />
      )}
    </div>
  );
}
