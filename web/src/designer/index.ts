// The dashboard's visual designer: the editing screen and the read-only graph the other screens mount.
export { FlowGraph, type FlowGraphProps, type StepState } from './flow-graph';
export { WorkflowEditor, type WorkflowEditorProps } from './workflow-editor';
