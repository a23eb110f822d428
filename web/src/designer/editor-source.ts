// The workflow editor's source text, one hook per concern: the text with its undo history, loading the
// saved workflow (and what is unsaved), what the caller may use (tools, directory, validation), and
// the server's live validation with the views of its diagnostics.
import { type MutableRefObject, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { stringify as stringifyYaml } from 'yaml';
import { ranksAtLeast } from '../../../translator/roles';
import { api, type Diagnostic } from '../api';
import type { CodeDiagnostic } from './code-view';
import { type ParsedSource, parseSource, type SourceFormat, stepOfPointer } from './definition-model';
import type { DirectoryUser, McpTool } from './properties-panel';

export interface Snapshot {
  text: string;
  format: SourceFormat;
}

export type Status = { kind: 'idle' | 'saving' | 'saved' | 'error' | 'info'; message: string };
export type SetStatus = (status: Status) => void;

const COALESCE_MS = 1500;

function formatOfText(text: string): SourceFormat {
  return /^\s*[{[]/.test(text) ? 'json' : 'yaml';
}

export interface SourceHistory {
  current: Snapshot;
  /** The current snapshot, readable inside callbacks without making them change. */
  currentRef: MutableRefObject<Snapshot>;
  /** Makes `next` the current text, remembering the old one for undo (typing in one field is one step). */
  commit: (next: Snapshot, key?: string | null) => void;
  undo: () => void;
  redo: () => void;
  /** Starts over from `snapshot` with no history (a workflow just loaded). */
  reset: (snapshot: Snapshot) => void;
  /** Converts the text to the other format (JSON drops comments); a text that does not parse stays. */
  switchFormat: (format: SourceFormat) => void;
  canUndo: boolean;
  canRedo: boolean;
}

/** The definition text being edited, starting from `initial`, with undo and redo. */
export function useSourceHistory(initial: string): SourceHistory {
  const [current, setCurrent] = useState<Snapshot>({ text: initial, format: formatOfText(initial) });
  const currentRef = useRef(current);
  currentRef.current = current;
  const history = useRef<{ past: Snapshot[]; future: Snapshot[]; lastKey: string | null; lastAt: number }>({
    past: [],
    future: [],
    lastKey: null,
    lastAt: 0,
  });

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

  const reset = useCallback((snapshot: Snapshot) => {
    history.current = { past: [], future: [], lastKey: null, lastAt: 0 };
    currentRef.current = snapshot;
    setCurrent(snapshot);
  }, []);

  const switchFormat = useCallback(
    (format: SourceFormat) => {
      const { text } = currentRef.current;
      const value = parseSource(text).value;
      if (value === null || format === currentRef.current.format) return;
      const converted =
        format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringifyYaml(value, { lineWidth: 0 });
      commit({ text: converted, format });
    },
    [commit],
  );

  return {
    current,
    currentRef,
    commit,
    undo,
    redo,
    reset,
    switchFormat,
    canUndo: history.current.past.length > 0,
    canRedo: history.current.future.length > 0,
  };
}

/**
 * Loads the workflow `workflowId` into the history (unless an imported text was given) and tracks
 * the last saved text: `dirty` while the current text differs from it.
 */
export function useWorkflowLoad(
  workflowId: string | null,
  initialSource: string | undefined,
  source: SourceHistory,
  setStatus: SetStatus,
): { loading: boolean; dirty: boolean; markSaved: (text: string) => void } {
  const [loading, setLoading] = useState(workflowId !== null && initialSource === undefined);
  const [savedText, setSavedText] = useState<string | null>(
    initialSource === undefined && workflowId !== null ? null : '',
  );
  const { reset } = source;

  useEffect(() => {
    if (workflowId === null || initialSource !== undefined) return;
    const abort = new AbortController();
    setLoading(true);
    api<{ source: string; format: SourceFormat }>(`/api/workflows/${encodeURIComponent(workflowId)}`, {
      signal: abort.signal,
    })
      .then((wf) => {
        reset({ text: wf.source, format: wf.format === 'json' ? 'json' : 'yaml' });
        setSavedText(wf.source);
        setLoading(false);
      })
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        setLoading(false);
        setStatus({ kind: 'error', message: `Could not load '${workflowId}': ${(error as Error).message}` });
      });
    return () => abort.abort();
  }, [workflowId, initialSource, reset, setStatus]);

  const dirty = savedText !== null && source.current.text !== savedText;
  return { loading, dirty, markSaved: setSavedText };
}

/**
 * What the caller may read decides what is asked for (a refused request would still log a console error):
 * the live MCP tools (member+), the directory (manager+; without it approvers are free text) and live
 * validation (lead+).
 */
export function useCallerAccess(): { tools: McpTool[]; users: DirectoryUser[]; canValidate: boolean } {
  const [role, setRole] = useState<string | null>(null);
  const [tools, setTools] = useState<McpTool[]>([]);
  const [users, setUsers] = useState<DirectoryUser[]>([]);
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
  return { tools, users, canValidate: role !== null && ranksAtLeast(role, 'lead') };
}

/** The text parsed, and the definition the designer shows: the last one that parsed. */
export function useParsedDefinition(text: string): { parsed: ParsedSource; definition: unknown } {
  const parsed = useMemo(() => parseSource(text), [text]);
  const lastGood = useRef<unknown>(null);
  if (parsed.errors.length === 0) lastGood.current = parsed.value;
  return { parsed, definition: parsed.errors.length === 0 ? parsed.value : lastGood.current };
}

/** Live validation by the server, a moment after the last change, while `enabled`. */
export function useLiveValidation(
  current: Snapshot,
  enabled: boolean,
): { diagnostics: Diagnostic[]; setDiagnostics: (diagnostics: Diagnostic[]) => void; checking: boolean } {
  const [diagnostics, setDiagnostics] = useState<Diagnostic[]>([]);
  const [checking, setChecking] = useState(false);
  useEffect(() => {
    if (!enabled) return;
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
  }, [current, enabled]);
  return { diagnostics, setDiagnostics, checking };
}

export interface DiagnosticViews {
  /** The server's problems per step id, and those of the workflow as a whole. */
  problems: { byStep: Map<string, string[]>; workflow: string[] };
  /** What the code view marks: the parse errors, or else the server's diagnostics. */
  codeDiagnostics: CodeDiagnostic[];
  /** The toolbar's one-line verdict. */
  validity: { kind: string; text: string };
}

/** The diagnostics as the canvas, the properties panel, the code view and the toolbar show them. */
export function useDiagnosticViews(
  parsed: ParsedSource,
  definition: unknown,
  diagnostics: Diagnostic[],
  checking: boolean,
): DiagnosticViews {
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

  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
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

  return { problems, codeDiagnostics, validity };
}
