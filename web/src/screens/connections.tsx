// Connections: the credentials and channels the user's runs use (vault entries: set, replace, delete;
// a value is never shown back), at group and org level for those allowed, and the MCP servers with their
// tools that tool steps can call (their descriptions' inline markdown rendered, never as HTML).
import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { useMe } from '../session';
import type { McpServer, McpTool, Me, VaultEntry } from '../types';
import {
  atLeast,
  Empty,
  InlineMarkdown,
  type Loaded,
  Loading,
  Page,
  ProblemNote,
  relativeTime,
  useApi,
} from '../ui';

function scopesFor(me: Me): Array<{ value: string; label: string }> {
  const scopes = [{ value: `user:${me.email.toLowerCase()}`, label: 'Mine' }];
  if (atLeast(me.role, 'lead'))
    for (const g of me.groups) scopes.push({ value: `group:${g}`, label: `Group ${g}` });
  if (atLeast(me.role, 'manager')) scopes.push({ value: 'org', label: 'Organisation' });
  return scopes;
}

function scopeLabel(scope: string, me: Me): string {
  if (scope === `user:${me.email.toLowerCase()}`) return 'Mine';
  if (scope === 'org') return 'Organisation';
  if (scope.startsWith('group:')) return `Group ${scope.slice(6)}`;
  return scope;
}

export function ConnectionsScreen() {
  const me = useMe();
  const vault = useApi<VaultEntry[]>('/api/vault');
  const servers = useApi<McpServer[]>('/api/mcp/servers');
  const tools = useApi<McpTool[]>('/api/mcp/tools');
  const [replacing, setReplacing] = useState<VaultEntry | null>(null);
  const [error, setError] = useState<unknown>();

  const remove = async (entry: VaultEntry) => {
    if (
      !window.confirm(`Delete ${entry.name} (${scopeLabel(entry.scope, me)})? Runs that need it will fail.`)
    )
      return;
    setError(undefined);
    try {
      await api('/api/vault', { method: 'DELETE', body: { scope: entry.scope, name: entry.name } });
      vault.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <Page title="Connections" subtitle="Credentials your workflows use, and the tools they can call.">
      <div className="two-columns">
        <section aria-labelledby="vault-title">
          <h2 id="vault-title">Credentials and channels</h2>
          <p className="muted small">
            Values are stored encrypted and never shown again; replace one to change it.
          </p>
          <ProblemNote error={vault.error ?? error} />
          {vault.loading && !vault.data ? <Loading /> : null}
          {vault.data?.length === 0 ? (
            <Empty title="No credentials yet.">
              <p>Add an API key or a channel address (a Slack webhook, for example) with the form.</p>
            </Empty>
          ) : null}
          {vault.data && vault.data.length > 0 ? (
            <VaultTable entries={vault.data} onReplace={setReplacing} onDelete={(e) => void remove(e)} />
          ) : null}
        </section>
        <section className="card form-card" aria-labelledby="vault-form-title">
          <h2 id="vault-form-title">{replacing ? `Replace ${replacing.name}` : 'Add a credential'}</h2>
          <VaultForm
            key={replacing ? `${replacing.scope}/${replacing.name}` : 'new'}
            entry={replacing}
            onDone={() => {
              setReplacing(null);
              vault.reload();
            }}
            onCancel={() => setReplacing(null)}
          />
        </section>
      </div>
      <ToolServers servers={servers} tools={tools} />
    </Page>
  );
}

function VaultTable(props: {
  entries: VaultEntry[];
  onReplace: (entry: VaultEntry) => void;
  onDelete: (entry: VaultEntry) => void;
}) {
  const me = useMe();
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Level</th>
          <th scope="col">Updated</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((e) => (
          <tr key={`${e.scope}/${e.name}`}>
            <td className="mono">{e.name}</td>
            <td>{scopeLabel(e.scope, me)}</td>
            <td className="muted small">{relativeTime(e.updatedAt)}</td>
            <td>
              <div className="row-actions">
                <button
                  type="button"
                  className="button-small button-quiet"
                  onClick={() => props.onReplace(e)}
                  aria-label={`Replace ${e.name}`}
                >
                  Replace
                </button>
                <button
                  type="button"
                  className="button-small button-quiet danger-text"
                  onClick={() => props.onDelete(e)}
                  aria-label={`Delete ${e.name}`}
                >
                  Delete
                </button>
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The MCP servers, each with the tools it lists. */
function ToolServers({ servers, tools }: { servers: Loaded<McpServer[]>; tools: Loaded<McpTool[]> }) {
  return (
    <section aria-labelledby="mcp-title" className="section">
      <h2 id="mcp-title">Tool servers (MCP)</h2>
      <ProblemNote error={servers.error ?? tools.error} />
      {servers.loading && !servers.data ? <Loading /> : null}
      {servers.data?.length === 0 ? <Empty title="No MCP servers are configured." /> : null}
      <div className="cards">
        {servers.data?.map((s) => {
          const own = (tools.data ?? []).filter((t) => t.server === s.name);
          return (
            <article key={s.name} className="card server-card" aria-labelledby={`server-${s.name}`}>
              <header className="server-head">
                <h3 id={`server-${s.name}`}>{s.name}</h3>
                <span className="chip">{s.transport}</span>
              </header>
              {s.credentials && s.credentials.length > 0 ? (
                <p className="small muted">Needs: {s.credentials.join(', ')}</p>
              ) : null}
              {tools.loading && !tools.data ? (
                <p className="muted small">Asking for its tools…</p>
              ) : own.length === 0 ? (
                <p className="muted small">No tools listed.</p>
              ) : (
                <ul className="tool-list">
                  {own.map((t) => (
                    <li key={t.name}>
                      <span className="mono">{t.name}</span>
                      {t.annotations?.readOnlyHint === true ? (
                        <span className="chip chip-read">read-only</span>
                      ) : null}
                      {t.description ? (
                        <div className="muted small tool-description">
                          <InlineMarkdown text={t.description} />
                        </div>
                      ) : null}
                    </li>
                  ))}
                </ul>
              )}
            </article>
          );
        })}
      </div>
    </section>
  );
}

function VaultForm({
  entry,
  onDone,
  onCancel,
}: {
  entry: VaultEntry | null;
  onDone: () => void;
  onCancel: () => void;
}) {
  const me = useMe();
  const scopes = scopesFor(me);
  const [scope, setScope] = useState(entry?.scope ?? scopes[0]?.value ?? '');
  const [name, setName] = useState(entry?.name ?? '');
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(undefined);
    try {
      await api('/api/vault', { method: 'PUT', body: { scope, name: name.trim(), value } });
      setSaved(`${name.trim()} saved.`);
      setValue('');
      if (!entry) setName('');
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit}>
      <div className="field">
        <label htmlFor="vault-scope">Level</label>
        <select
          id="vault-scope"
          value={scope}
          disabled={entry !== null}
          onChange={(e) => setScope(e.target.value)}
        >
          {scopes.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
          {entry && !scopes.some((s) => s.value === entry.scope) ? (
            <option value={entry.scope}>{entry.scope}</option>
          ) : null}
        </select>
      </div>
      <div className="field">
        <label htmlFor="vault-name">Name</label>
        <input
          id="vault-name"
          className="mono"
          value={name}
          required
          pattern="[A-Za-z0-9_.\-]{1,128}"
          readOnly={entry !== null}
          placeholder="STRIPE_API_KEY"
          onChange={(e) => setName(e.target.value)}
          aria-describedby="vault-name-help"
        />
        <small id="vault-name-help" className="help">
          Letters, digits, dot, dash and underscore.
        </small>
      </div>
      <div className="field">
        <label htmlFor="vault-value">Value</label>
        <input
          id="vault-value"
          type="password"
          autoComplete="off"
          required
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </div>
      <ProblemNote error={error} />
      {saved ? (
        <p className="note note-success" role="status">
          {saved}
        </p>
      ) : null}
      <div className="form-actions">
        {entry ? (
          <button type="button" className="button-quiet" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="button-primary" disabled={busy}>
          {entry ? 'Replace value' : 'Save'}
        </button>
      </div>
    </form>
  );
}
