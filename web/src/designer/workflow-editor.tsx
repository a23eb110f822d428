// The workflow editing screen: palette, canvas, properties panel, code view and toolbar over ONE model,
// the definition text. Designer edits are minimal Document edits of that text (comments elsewhere
// survive), code edits replace it; the canvas shows the last text that parsed.
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './designer.css';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Document, stringify as stringifyYaml } from 'yaml';
import { ranksAtLeast } from '../../../translator/roles';
import { ApiError, api, type Diagnostic } from '../api';
import { CodeView } from './code-view';
import {
  addStep,
  BLANK_SOURCE,
  connect,
  disconnect,
  editSource,
  findStep,
  freshStepId,
  isRecord,
  type JumpKey,
  moveStep,
  newStep,
  type Path,
  parseSource,
  removeStep,
  renameStep,
  type SourceFormat,
  type StepType,
  setValue,
  stepOfPointer,
} from './definition-model';
import { DesignerCanvas, Palette } from './designer-canvas';
import type { Point } from './layout';
import { type DirectoryUser, type McpTool, PropertiesPanel } from './properties-panel';

export interface WorkflowEditorProps {
  /** The workflow to edit, or null for a new one. */
  workflowId: string | null;
  /** An imported YAML or JSON text to start from. */
  initialSource?: string;
  onSaved?: (id: string) => void;
}

interface Snapshot {
  text: string;
  format: SourceFormat;
}

type Status = { kind: 'idle' | 'saving' | 'saved' | 'error' | 'info'; message: string };

const COALESCE_MS = 1500;

function formatOfText(text: string): SourceFormat {
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

function positionsKey(id: string): string {
  return `stepgate:designer:positions:${id}`;
}

function loadPositions(id: string | null): Record<string, Point> {
  if (id === null) return {};
  try {
    const raw = localStorage.getItem(positionsKey(id));
    const value: unknown = raw === null ? {} : JSON.parse(raw);
    return isRecord(value) ? (value as Record<string, Point>) : {};
  } catch {
    return {};
  }
}

export function WorkflowEditor(props: WorkflowEditorProps) {
  return (
    <ReactFlowProvider>
      <EditorScreen {...props} />
    </ReactFlowProvider>
  );
}

function EditorScreen({ workflowId, initialSource, onSaved }: WorkflowEditorProps) {
  const rf = useReactFlow();
  const initial = initialSource ?? (workflowId === null ? BLANK_SOURCE : '');
  const [current, setCurrent] = useState<Snapshot>({ text: initial, format: formatOfText(initial) });
  const currentRef = useRef(current);
  currentRef.current = current;
  const history = useRef<{ past: Snapshot[]; future: Snapshot[]; lastKey: string | null; lastAt: number }>({
    past: [],
    future: [],
    lastKey: null,
    lastAt: 0,
  });
  const [loading, setLoading] = useState(workflowId !== null && initialSource === undefined);
  const [savedId, setSavedId] = useState<string | null>(workflowId);
  const [savedText, setSavedText] = useState<string | null>(
    initialSource === undefined && workflowId !== null ? null : '',
  );
  const [positions, setPositions] = useState<Record<string, Point>>(() => loadPositions(workflowId));
  const [selected, setSelected] = useState<string | null>(null);
  const [diagnostics, setDiagnostics] = useState<Diagnostic[]>([]);
  const [checking, setChecking] = useState(false);
  const [status, setStatus] = useState<Status>({ kind: 'idle', message: '' });
  const [tools, setTools] = useState<McpTool[]>([]);
  const [users, setUsers] = useState<DirectoryUser[]>([]);
  const [showCode, setShowCode] = useState(true);

  const parsed = useMemo(() => parseSource(current.text), [current.text]);
  const lastGood = useRef<unknown>(null);
  if (parsed.errors.length === 0) lastGood.current = parsed.value;
  const definition = parsed.errors.length === 0 ? parsed.value : lastGood.current;

  /** Makes `next` the current text, remembering the old one for undo (typing in one field is one step). */
  const commit = useCallback((next: Snapshot, key: string | null = null) => {
    const before = currentRef.current;
    if (next.text === before.text && next.format === before.format) return;
    const h = history.current;
    const now = Date.now();
    if (!(key !== null && key === h.lastKey && now - h.lastAt < COALESCE_MS)) h.past.push(before);
    h.future = [];
    h.lastKey = key;
    h.lastAt = now;
    currentRef.current = next;
    setCurrent(next);
  }, []);

  const edit = useCallback(
    (change: (doc: Document, value: unknown) => void, key: string | null = null) => {
      const { text, format } = currentRef.current;
      const parsedNow = parseSource(text);
      if (parsedNow.errors.length > 0) {
        setStatus({
          kind: 'error',
          message: 'Fix the code first: the text does not parse, so the designer cannot change it.',
        });
        return;
      }
      commit({ text: editSource(text, format, change), format }, key);
    },
    [commit],
  );

  const undo = useCallback(() => {
    const h = history.current;
    const previous = h.past.pop();
    if (previous === undefined) return;
    h.future.push(currentRef.current);
    h.lastKey = null;
    currentRef.current = previous;
    setCurrent(previous);
  }, []);

  const redo = useCallback(() => {
    const h = history.current;
    const next = h.future.pop();
    if (next === undefined) return;
    h.past.push(currentRef.current);
    h.lastKey = null;
    currentRef.current = next;
    setCurrent(next);
  }, []);

  // Another workflow (or a new one saved under its id): its own layout, nothing selected.
  useEffect(() => {
    setPositions(loadPositions(workflowId));
    setSelected(null);
    setSavedId(workflowId);
  }, [workflowId]);

  // Load the workflow being edited.
  useEffect(() => {
    if (workflowId === null || initialSource !== undefined) return;
    const abort = new AbortController();
    setLoading(true);
    api<{ source: string; format: SourceFormat }>(`/api/workflows/${encodeURIComponent(workflowId)}`, {
      signal: abort.signal,
    })
      .then((wf) => {
        const snapshot = { text: wf.source, format: wf.format === 'json' ? 'json' : 'yaml' } as Snapshot;
        history.current = { past: [], future: [], lastKey: null, lastAt: 0 };
        currentRef.current = snapshot;
        setCurrent(snapshot);
        setSavedText(wf.source);
        setLoading(false);
      })
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        setLoading(false);
        setStatus({ kind: 'error', message: `Could not load '${workflowId}': ${(error as Error).message}` });
      });
    return () => abort.abort();
  }, [workflowId, initialSource]);

  // What the caller may read decides what is asked for (a refused request would still log a console error):
  // the live MCP tools (member+), the directory (manager+; without it approvers are free text) and live
  // validation (lead+).
  const [role, setRole] = useState<string | null>(null);
  useEffect(() => {
    api<{ role?: string }>('/api/me')
      .then((me) => {
        setRole(me.role ?? null);
        if (ranksAtLeast(me.role ?? '', 'member'))
          api<McpTool[]>('/api/mcp/tools')
            .then((list) => setTools(Array.isArray(list) ? list : []))
            .catch(() => setTools([]));
        if (ranksAtLeast(me.role ?? '', 'manager'))
          api<DirectoryUser[]>('/api/users')
            .then((list) => setUsers(Array.isArray(list) ? list : []))
            .catch(() => setUsers([]));
      })
      .catch(() => setRole(null));
  }, []);
  const canValidate = role !== null && ranksAtLeast(role, 'lead');

  // Live validation by the server, a moment after the last change.
  useEffect(() => {
    if (loading || !canValidate || parsed.errors.length > 0) return;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      setChecking(true);
      api<{ valid: boolean; diagnostics: Diagnostic[] }>('/api/workflows/validate', {
        body: current.text,
        contentType: current.format === 'json' ? 'application/json' : 'application/yaml',
        signal: abort.signal,
      })
        .then((result) => setDiagnostics(result.diagnostics))
        .catch(() => undefined)
        .finally(() => {
          if (!abort.signal.aborted) setChecking(false);
        });
    }, 400);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [current, loading, canValidate, parsed.errors.length]);

  const problems = useMemo(() => {
    const byStep = new Map<string, string[]>();
    const workflow: string[] = [];
    for (const d of diagnostics) {
      const step = stepOfPointer(definition, d.pointer);
      const text = `${d.severity === 'error' ? 'Error' : 'Warning'}: ${d.message}`;
      if (step === null) workflow.push(`${text}${d.pointer ? ` (${d.pointer})` : ''}`);
      else byStep.set(step, [...(byStep.get(step) ?? []), text]);
    }
    return { byStep, workflow };
  }, [diagnostics, definition]);

  const codeDiagnostics = useMemo(
    () =>
      parsed.errors.length > 0
        ? parsed.errors.map((e) => ({
            severity: 'error' as const,
            message: e.message,
            line: e.line,
            col: e.col,
          }))
        : diagnostics,
    [parsed.errors, diagnostics],
  );

  const save = useCallback(async () => {
    const { text, format } = currentRef.current;
    const def = parseSource(text).value;
    const id = isRecord(def) && typeof def.id === 'string' ? def.id : '';
    if (id === '') {
      setStatus({ kind: 'error', message: 'Give the workflow an id before saving.' });
      setSelected(null);
      return;
    }
    setStatus({ kind: 'saving', message: 'Saving…' });
    try {
      if (savedId !== id) {
        // The list, not GET /api/workflows/<id>: a 404 there would be logged as a console error.
        const list = await api<Array<{ id: string }>>('/api/workflows');
        const exists = list.some((w) => w.id === id);
        if (exists) {
          setStatus({ kind: 'error', message: `A workflow '${id}' exists already; choose another id.` });
          return;
        }
      }
      const result = await api<{ warnings?: Diagnostic[] }>(`/api/workflows/${encodeURIComponent(id)}`, {
        method: 'PUT',
        body: text,
        contentType: format === 'json' ? 'application/json' : 'application/yaml',
      });
      setDiagnostics(result.warnings ?? []);
      setSavedId(id);
      setSavedText(text);
      try {
        localStorage.setItem(positionsKey(id), JSON.stringify(positions));
      } catch {
        // Positions are a convenience; a full or disabled storage only costs the layout.
      }
      setStatus({ kind: 'saved', message: `Saved ${id}` });
      onSaved?.(id);
    } catch (error) {
      if (error instanceof ApiError && error.diagnostics.length > 0) {
        setDiagnostics(error.diagnostics);
        const count = error.diagnostics.filter((d) => d.severity === 'error').length;
        setStatus({ kind: 'error', message: `Not saved: ${count} problem(s); see the marked steps.` });
      } else setStatus({ kind: 'error', message: `Not saved: ${(error as Error).message}` });
    }
  }, [savedId, positions, onSaved]);

  // Keyboard: undo / redo / save, except while typing in a field or the code view (they have their own).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing =
        target !== null && target.closest('input, textarea, select, [contenteditable="true"]') !== null;
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === 's') {
        e.preventDefault();
        void save();
      } else if (!typing && key === 'z' && !e.shiftKey) {
        e.preventDefault();
        undo();
      } else if (!typing && ((key === 'z' && e.shiftKey) || key === 'y')) {
        e.preventDefault();
        redo();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [save, undo, redo]);

  const onDrop = useCallback(
    (type: StepType, list: Path, at: Point) => {
      const def = parseSource(currentRef.current.text).value;
      const id = freshStepId(def, type);
      edit((doc) => addStep(doc, list, newStep(type, id)));
      if (!Number.isNaN(at.x)) setPositions((p) => ({ ...p, [id]: at }));
      setSelected(id);
    },
    [edit],
  );

  const onRename = useCallback(
    (from: string, to: string) => {
      const def = parseSource(currentRef.current.text).value;
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(to)) {
        setStatus({
          kind: 'error',
          message: `'${to}' is not a step id: letters, digits and _, not starting with a digit`,
        });
        return;
      }
      if (findStep(def, to) !== undefined) {
        setStatus({ kind: 'error', message: `a step '${to}' exists already` });
        return;
      }
      edit((doc, value) => renameStep(doc, value, from, to));
      setPositions((p) => {
        const { [from]: moved, ...rest } = p;
        return moved === undefined ? rest : { ...rest, [to]: moved };
      });
      setSelected(to);
    },
    [edit],
  );

  const onDeleteSteps = useCallback(
    (ids: string[]) => {
      const { text, format } = currentRef.current;
      let next = text;
      for (const id of ids) next = editSource(next, format, (doc, value) => removeStep(doc, value, id));
      commit({ text: next, format });
      setSelected(null);
    },
    [commit],
  );

  const onConnect = useCallback(
    (source: string, key: JumpKey, target: string) => {
      let problem: string | null = null;
      edit((doc, value) => {
        problem = connect(doc, value, source, key, target);
      });
      if (problem !== null) setStatus({ kind: 'error', message: problem });
    },
    [edit],
  );

  const onDeleteEdges = useCallback(
    (edges: Array<{ source: string; key: JumpKey; implicit: boolean }>) => {
      edit((doc, value) => {
        for (const e of edges) disconnect(doc, value, e.source, e.key, e.implicit);
      });
    },
    [edit],
  );

  const onMove = useCallback((moves: Record<string, Point>) => setPositions((p) => ({ ...p, ...moves })), []);

  const switchFormat = (format: SourceFormat) => {
    const { text } = currentRef.current;
    const value = parseSource(text).value;
    if (value === null || format === currentRef.current.format) return;
    const converted =
      format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringifyYaml(value, { lineWidth: 0 });
    commit({ text: converted, format });
  };

  const selectedStep = selected === null ? null : (findStep(definition, selected) ?? null);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const dirty = savedText !== null && current.text !== savedText;
  const validity =
    parsed.errors.length > 0
      ? {
          kind: 'error',
          text: `Code does not parse: ${parsed.errors[0]?.message ?? ''} (line ${parsed.errors[0]?.line ?? 1})`,
        }
      : checking
        ? { kind: 'info', text: 'Checking…' }
        : errors > 0
          ? { kind: 'error', text: `${errors} error(s)${warnings > 0 ? `, ${warnings} warning(s)` : ''}` }
          : { kind: 'ok', text: warnings > 0 ? `Valid, ${warnings} warning(s)` : 'Valid' };

  return (
    <div className="sg-designer" data-testid="workflow-editor">
      <div className="sg-toolbar" role="toolbar" aria-label="Designer">
        <strong className="sg-title">
          {isRecord(definition) && typeof definition.name === 'string'
            ? definition.name
            : (savedId ?? 'New workflow')}
        </strong>
        <button
          type="button"
          onClick={() => void save()}
          disabled={loading || status.kind === 'saving'}
          className="sg-primary"
        >
          Save
        </button>
        <button
          type="button"
          onClick={undo}
          disabled={history.current.past.length === 0}
          title="Undo (Ctrl+Z)"
        >
          Undo
        </button>
        <button
          type="button"
          onClick={redo}
          disabled={history.current.future.length === 0}
          title="Redo (Ctrl+Shift+Z)"
        >
          Redo
        </button>
        <button type="button" onClick={() => void rf.fitView({ padding: 0.2, maxZoom: 1, duration: 200 })}>
          Zoom to fit
        </button>
        <button type="button" onClick={() => setPositions({})} title="Lay every step out again">
          Auto layout
        </button>
        <button type="button" onClick={() => setShowCode((s) => !s)} aria-pressed={showCode}>
          Code
        </button>
        <select
          aria-label="Code format"
          value={current.format}
          onChange={(e) => switchFormat(e.target.value as SourceFormat)}
          title="Switching to JSON drops comments"
        >
          <option value="yaml">YAML</option>
          <option value="json">JSON</option>
        </select>
        <span className={`sg-validity sg-validity-${validity.kind}`} data-testid="validation-status">
          {validity.text}
        </span>
        <span className={`sg-status sg-status-${status.kind}`} data-testid="save-status" role="status">
          {status.message || (dirty ? 'Unsaved changes' : '')}
        </span>
      </div>
      <div className="sg-body">
        <Palette onDrop={onDrop} />
        <div className={`sg-center${showCode ? ' sg-with-code' : ''}`}>
          {loading ? (
            <div className="sg-canvas sg-loading" data-testid="designer-canvas">
              Loading…
            </div>
          ) : (
            <DesignerCanvas
              definition={definition}
              positions={positions}
              problems={problems.byStep}
              selected={selected}
              onSelect={setSelected}
              onMove={onMove}
              onConnect={onConnect}
              onDeleteEdges={onDeleteEdges}
              onDeleteSteps={onDeleteSteps}
            />
          )}
          {showCode ? (
            <CodeView
              text={current.text}
              format={current.format}
              diagnostics={codeDiagnostics}
              onChange={(text) => commit({ text, format: currentRef.current.format }, 'code')}
            />
          ) : null}
        </div>
        <aside className="sg-side">
          <PropertiesPanel
            definition={definition}
            step={selectedStep}
            tools={tools}
            users={users}
            problems={
              selectedStep === null ? problems.workflow : (problems.byStep.get(selectedStep.id) ?? [])
            }
            onSet={(path, value) => edit((doc) => setValue(doc, path, value), path.join('/'))}
            onEdit={edit}
            onRename={onRename}
            onDelete={(id) => onDeleteSteps([id])}
            onMoveStep={(id, delta) => edit((doc, value) => moveStep(doc, value, id, delta))}
          />
        </aside>
      </div>
    </div>
  );
}
