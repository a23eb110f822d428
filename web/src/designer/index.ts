// The dashboard's visual designer: the editing screen. The read-only graphs of the other screens
// (web/src/run-graph.tsx) draw with its layout, step cards and routed edges.
export type { StepState } from './step-nodes';
export { WorkflowEditor, type WorkflowEditorProps } from './workflow-editor';
