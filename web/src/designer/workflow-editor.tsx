// The workflow editing screen: palette, canvas, properties panel, code view and toolbar over ONE model,
// the definition text. Designer edits are minimal Document edits of that text (comments elsewhere
// survive), code edits replace it; the canvas shows the last text that parsed.
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './designer.css';
import { type ReactNode, useState } from 'react';
import { CodeView } from './code-view';
import { BLANK_SOURCE, findStep, isRecord, moveStep, type SourceFormat, setValue } from './definition-model';
import { DesignerCanvas, FIT_VIEW, Palette } from './designer-canvas';
import { useDesignerLayout, useEditorKeys, useSave, useStepEdits } from './editor-actions';
import {
  type SourceHistory,
  type Status,
  useCallerAccess,
  useDiagnosticViews,
  useLiveValidation,
  useParsedDefinition,
  useSourceHistory,
  useWorkflowLoad,
} from './editor-source';
import { PropertiesPanel } from './properties-panel';
import { SplitCenter } from './split-pane';

export interface WorkflowEditorProps {
  /** The workflow to edit, or null for a new one. */
  workflowId: string | null;
  /** An imported YAML or JSON text to start from. */
  initialSource?: string;
  onSaved?: (id: string) => void;
  /** Shown in the toolbar instead of the workflow's name (the page's breadcrumb). */
  heading?: ReactNode;
  /** The page's own actions, at the toolbar's right end (one bar instead of two: more room for the canvas). */
  actions?: ReactNode;
}

export function WorkflowEditor(props: WorkflowEditorProps) {
  return (
    <ReactFlowProvider>
      <EditorScreen {...props} />
    </ReactFlowProvider>
  );
}

function EditorScreen({ workflowId, initialSource, onSaved, heading, actions }: WorkflowEditorProps) {
  const [status, setStatus] = useState<Status>({ kind: 'idle', message: '' });
  const [showCode, setShowCode] = useState(true);
  const layout = useDesignerLayout(workflowId);
  const source = useSourceHistory(initialSource ?? (workflowId === null ? BLANK_SOURCE : ''));
  const { current } = source;
  const { loading, dirty, markSaved } = useWorkflowLoad(workflowId, initialSource, source, setStatus);
  const { tools, users, canValidate } = useCallerAccess();
  const { parsed, definition } = useParsedDefinition(current.text);
  // A blank new workflow is not checked (it would open with "missing id/steps" errors) until the user
  // changes it or tries to save it.
  const untouched =
    workflowId === null &&
    initialSource === undefined &&
    current.text === BLANK_SOURCE &&
    status.kind === 'idle';
  const { diagnostics, setDiagnostics, checking } = useLiveValidation(
    current,
    !loading && canValidate && parsed.errors.length === 0 && !untouched,
  );
  const views = useDiagnosticViews(parsed, definition, untouched ? [] : diagnostics, checking);
  const { problems, codeDiagnostics } = views;
  const validity = untouched ? { kind: 'info', text: 'New workflow: add a step' } : views.validity;
  const { save, savedId } = useSave({
    workflowId,
    source,
    layout,
    setStatus,
    setDiagnostics,
    markSaved,
    onSaved,
  });
  useEditorKeys(save, source.undo, source.redo);
  const edits = useStepEdits(source, layout, setStatus);
  const { edit } = edits;

  const selectedStep = layout.selected === null ? null : (findStep(definition, layout.selected) ?? null);
  const title =
    isRecord(definition) && typeof definition.name === 'string'
      ? definition.name
      : (savedId ?? 'New workflow');

  return (
    <div className="sg-designer" data-testid="workflow-editor">
      <EditorToolbar
        title={title}
        heading={heading}
        actions={actions}
        source={source}
        canSave={!(loading || status.kind === 'saving')}
        onSave={() => void save()}
        onAutoLayout={() => layout.setPositions({})}
        showCode={showCode}
        onToggleCode={() => setShowCode((s) => !s)}
        validity={validity}
        status={status.message || (dirty ? 'Unsaved changes' : '')}
        statusKind={status.kind}
      />
      <div className="sg-body">
        <Palette onDrop={edits.onDrop} />
        <SplitCenter
          canvas={
            loading ? (
              <div className="sg-canvas sg-loading" data-testid="designer-canvas">
                Loading…
              </div>
            ) : (
              <DesignerCanvas
                definition={definition}
                positions={layout.positions}
                problems={problems.byStep}
                selected={layout.selected}
                onSelect={layout.setSelected}
                onMove={edits.onMove}
                onConnect={edits.onConnect}
                onDeleteEdges={edits.onDeleteEdges}
                onDeleteSteps={edits.onDeleteSteps}
              />
            )
          }
          code={
            showCode ? (
              <CodeView
                text={current.text}
                format={current.format}
                diagnostics={codeDiagnostics}
                onChange={(text) => source.commit({ text, format: source.currentRef.current.format }, 'code')}
              />
            ) : null
          }
        />
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
            onRename={edits.onRename}
            onDelete={(id) => edits.onDeleteSteps([id])}
            onMoveStep={(id, delta) => edit((doc, value) => moveStep(doc, value, id, delta))}
          />
        </aside>
      </div>
    </div>
  );
}

interface EditorToolbarProps {
  title: string;
  heading: ReactNode;
  actions: ReactNode;
  source: SourceHistory;
  canSave: boolean;
  onSave: () => void;
  onAutoLayout: () => void;
  showCode: boolean;
  onToggleCode: () => void;
  validity: { kind: string; text: string };
  status: string;
  statusKind: Status['kind'];
}

/** The editor's toolbar: title, save, undo/redo, view buttons, the code format and the two status lines. */
function EditorToolbar(props: EditorToolbarProps) {
  const rf = useReactFlow();
  const { source, validity } = props;
  return (
    <div className="sg-toolbar" role="toolbar" aria-label="Designer">
      {props.heading ?? <strong className="sg-title">{props.title}</strong>}
      <button type="button" onClick={props.onSave} disabled={!props.canSave} className="sg-primary">
        Save
      </button>
      <button type="button" onClick={source.undo} disabled={!source.canUndo} title="Undo (Ctrl+Z)">
        Undo
      </button>
      <button type="button" onClick={source.redo} disabled={!source.canRedo} title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
      <button type="button" onClick={() => void rf.fitView({ ...FIT_VIEW, duration: 200 })}>
        Zoom to fit
      </button>
      <button
        type="button"
        onClick={() => {
          props.onAutoLayout();
          // Once the new positions are drawn, the graph is framed again (it may have changed size).
          requestAnimationFrame(() => requestAnimationFrame(() => void rf.fitView(FIT_VIEW)));
        }}
        title="Lay every step out again"
      >
        Auto layout
      </button>
      <button type="button" onClick={props.onToggleCode} aria-pressed={props.showCode}>
        Code
      </button>
      <select
        aria-label="Code format"
        value={source.current.format}
        onChange={(e) => source.switchFormat(e.target.value as SourceFormat)}
        title="Switching to JSON drops comments"
      >
        <option value="yaml">YAML</option>
        <option value="json">JSON</option>
      </select>
      <span className={`sg-validity sg-validity-${validity.kind}`} data-testid="validation-status">
        {validity.text}
      </span>
      <span className={`sg-status sg-status-${props.statusKind}`} data-testid="save-status" role="status">
        {props.status}
      </span>
      {props.actions ? <div className="sg-toolbar-actions">{props.actions}</div> : null}
    </div>
  );
}
