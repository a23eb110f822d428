// What the workflow editor does, one hook per concern: the designer's selection and layout, the step
// edits made on the canvas and in the properties panel, saving, and the keyboard shortcuts.
import { useCallback, useEffect, useState } from 'react';
import type { Document } from 'yaml';
import { ApiError, api, type Diagnostic } from '../api';
import {
  addStep,
  connect,
  disconnect,
  editSource,
  findStep,
  freshStepId,
  isRecord,
  type JumpKey,
  newStep,
  type Path,
  parseSource,
  removeStep,
  renameStep,
  type StepType,
} from './definition-model';
import type { SetStatus, SourceHistory } from './editor-source';
import type { Point } from './layout';

type Positions = Record<string, Point>;

function positionsKey(id: string): string {
  return `stepgate:designer:positions:${id}`;
}

function loadPositions(id: string | null): Positions {
  if (id === null) return {};
  try {
    const raw = localStorage.getItem(positionsKey(id));
    const value: unknown = raw === null ? {} : JSON.parse(raw);
    return isRecord(value) ? (value as Positions) : {};
  } catch {
    return {};
  }
}

export interface DesignerLayout {
  /** Where steps were placed by hand (the others are laid out automatically). */
  positions: Positions;
  setPositions: (update: Positions | ((previous: Positions) => Positions)) => void;
  selected: string | null;
  setSelected: (id: string | null) => void;
}

/** The canvas' selection and hand-placed positions; another workflow brings its own layout, nothing selected. */
export function useDesignerLayout(workflowId: string | null): DesignerLayout {
  const [positions, setPositions] = useState<Positions>(() => loadPositions(workflowId));
  const [selected, setSelected] = useState<string | null>(null);
  useEffect(() => {
    setPositions(loadPositions(workflowId));
    setSelected(null);
  }, [workflowId]);
  return { positions, setPositions, selected, setSelected };
}

export interface StepEdits {
  /** Applies `change` to the current text as a Document edit; refused while the text does not parse. */
  edit: (change: (doc: Document, value: unknown) => void, key?: string | null) => void;
  onDrop: (type: StepType, list: Path, at: Point) => void;
  onRename: (from: string, to: string) => void;
  onDeleteSteps: (ids: string[]) => void;
  onConnect: (source: string, key: JumpKey, target: string) => void;
  onDeleteEdges: (edges: Array<{ source: string; key: JumpKey; implicit: boolean }>) => void;
  onMove: (moves: Positions) => void;
}

/** The designer's edits of the text, keeping the layout and selection in step with them. */
export function useStepEdits(source: SourceHistory, layout: DesignerLayout, setStatus: SetStatus): StepEdits {
  const { currentRef, commit } = source;
  const { setPositions, setSelected } = layout;

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
    [currentRef, commit, setStatus],
  );

  const onDrop = useCallback(
    (type: StepType, list: Path, at: Point) => {
      const def = parseSource(currentRef.current.text).value;
      const id = freshStepId(def, type);
      edit((doc) => addStep(doc, list, newStep(type, id)));
      if (!Number.isNaN(at.x)) setPositions((p) => ({ ...p, [id]: at }));
      setSelected(id);
    },
    [currentRef, edit, setPositions, setSelected],
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
    [currentRef, edit, setPositions, setSelected, setStatus],
  );

  const onDeleteSteps = useCallback(
    (ids: string[]) => {
      const { text, format } = currentRef.current;
      let next = text;
      for (const id of ids) next = editSource(next, format, (doc, value) => removeStep(doc, value, id));
      commit({ text: next, format });
      setSelected(null);
    },
    [currentRef, commit, setSelected],
  );

  const onConnect = useCallback(
    (source: string, key: JumpKey, target: string) => {
      let problem: string | null = null;
      edit((doc, value) => {
        problem = connect(doc, value, source, key, target);
      });
      if (problem !== null) setStatus({ kind: 'error', message: problem });
    },
    [edit, setStatus],
  );

  const onDeleteEdges = useCallback(
    (edges: Array<{ source: string; key: JumpKey; implicit: boolean }>) => {
      edit((doc, value) => {
        for (const e of edges) disconnect(doc, value, e.source, e.key, e.implicit);
      });
    },
    [edit],
  );

  const onMove = useCallback((moves: Positions) => setPositions((p) => ({ ...p, ...moves })), [setPositions]);

  return { edit, onDrop, onRename, onDeleteSteps, onConnect, onDeleteEdges, onMove };
}

export interface SaveOptions {
  workflowId: string | null;
  source: SourceHistory;
  layout: DesignerLayout;
  setStatus: SetStatus;
  setDiagnostics: (diagnostics: Diagnostic[]) => void;
  markSaved: (text: string) => void;
  onSaved?: (id: string) => void;
}

/**
 * Saving under the definition's id (refusing an id another workflow has), with the layout kept in
 * local storage beside it; `savedId` is the id the text was last saved (or loaded) under.
 */
export function useSave({
  workflowId,
  source,
  layout,
  setStatus,
  setDiagnostics,
  markSaved,
  onSaved,
}: SaveOptions): { save: () => Promise<void>; savedId: string | null } {
  const [savedId, setSavedId] = useState<string | null>(workflowId);
  useEffect(() => setSavedId(workflowId), [workflowId]);
  const { currentRef } = source;
  const { positions, setSelected } = layout;

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
      markSaved(text);
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
  }, [currentRef, savedId, positions, onSaved, setStatus, setSelected, setDiagnostics, markSaved]);

  return { save, savedId };
}

/** Keyboard: undo / redo / save, except while typing in a field or the code view (they have their own). */
export function useEditorKeys(save: () => Promise<void>, undo: () => void, redo: () => void): void {
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
}
