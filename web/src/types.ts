// The API's answers as the dashboard reads them. Optional fields are optional on purpose: the screens
// tolerate a server that does not send them yet (the per-step run view, run durations).

export type Role = 'viewer' | 'member' | 'lead' | 'manager' | 'director' | 'admin';

/** GET /api/me: who is logged in (and the session's CSRF token). */
export interface Me {
  email: string;
  name?: string | null;
  role: string;
  groups: string[];
  manager: string | null;
  via?: string;
  csrf?: string;
}

export interface Trigger {
  type: string;
  [key: string]: unknown;
}

/** GET /api/workflows: the latest version of each workflow. */
export interface WorkflowSummary {
  id: string;
  name: string;
  version: number;
  createdAt: number;
  createdBy: string;
  triggers: Trigger[];
}

/** GET /api/workflows/:id: the summary with its source and input schema. */
export interface WorkflowDetail extends WorkflowSummary {
  format: 'yaml' | 'json';
  source: string;
  inputs: JsonSchema | null;
}

/** The JSON-Schema subset a workflow's `inputs` uses (docs/definition-format.md). */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  items?: JsonSchema;
}

export type StepState = 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'skipped' | 'cancelled';

export interface StepError {
  code?: string;
  message: string;
  step?: string | null;
}

export interface StepAttempt {
  attempt: number;
  /** Which visit of the step the attempt belongs to (1 unless a loop came back). */
  visit?: number;
  startedAt?: number;
  endedAt?: number;
  input?: unknown;
  output?: unknown;
  error?: StepError;
  policy?: {
    decision: 'allow' | 'deny';
    rule?: string;
    /** Every rule the policy checked: minRole, write, rateLimit, ... */
    decisions?: Array<{ rule: string; outcome: string; detail?: string }>;
  };
  credentials?: Array<{ name: string; level: string }>;
  /** It answered after its branch was cancelled (what it did happened). */
  late?: true;
  /** It never answered: its step was stopped while it ran. */
  cutShort?: true;
}

export interface ApprovalRequest {
  approver: string;
  level?: number;
  /** The step's visit it was made in (a loop enters an approval again). */
  visit?: number;
  channel?: string;
  at: number;
  deadline?: number | null;
}

export interface ApprovalDecision {
  by: string;
  decision: string;
  comment?: string | null;
  channel?: string;
  level?: number;
  at: number;
  /** The decider asked for the run; the step allows it. */
  selfApproval?: true;
}

/** What one level's approvers were shown when it was requested: the message and the request's context. */
export interface ApprovalShown {
  level: number;
  visit: number;
  at: number;
  message: string;
  /** Absent from a request recorded before requests carried their context. */
  context?: ApprovalContext;
}

/** A decision the engine did not count (not an approver at that level, separation of duties). */
export interface ApprovalRefusal {
  by: string;
  decision: string;
  channel?: string;
  reason: string;
  level?: number;
  at: number;
}

export interface StepView {
  id: string;
  type: string;
  name?: string;
  parent?: string;
  branch?: number;
  state: StepState;
  startedAt?: number;
  endedAt?: number;
  visits: number;
  attempts: StepAttempt[];
  /** What the last finished visit produced. */
  output?: unknown;
  error?: StepError;
  /** Its branch was cancelled while it sent or called, and that answered afterwards: delivered or failed. */
  afterJoin?: 'done' | 'failed';
  approval?: {
    requests: ApprovalRequest[];
    /** What each requested level was shown, in the order requested. */
    shown?: ApprovalShown[];
    decisions: ApprovalDecision[];
    refused?: ApprovalRefusal[];
  };
}

/** What decided a completed run's path: the last approval decision, approval timeout or handled error. */
export interface RunOutcome {
  kind: 'approved' | 'rejected' | 'timed-out' | 'error-handled';
  step: string;
  /** Who decided (approved, rejected). */
  by?: string;
}

export interface RunUser {
  email: string;
  name?: string | null;
  role?: string;
}

/** GET /api/runs/:id and every `run` event of /api/runs/:id/events. */
export interface RunView {
  id: string;
  workflowId: string;
  workflowVersion?: number;
  status: string;
  trigger: { kind?: string; type?: string; user: RunUser; [key: string]: unknown };
  createdAt: number;
  endedAt?: number | null;
  durationMs?: number | null;
  input: unknown;
  output?: unknown;
  error?: StepError | null;
  outcome?: RunOutcome;
  steps: StepView[];
  history: AuditEntry[];
}

/** One entry of a run's audit trail. */
export interface AuditEntry {
  seq?: number;
  at: number;
  type: string;
  step: string | null;
  data?: Record<string, unknown>;
}

/** GET /api/runs: one row. */
export interface RunSummary {
  id: string;
  workflowId: string;
  status: string;
  trigger: { kind?: string; type?: string; user: RunUser; [key: string]: unknown };
  createdAt: number;
  endedAt?: number | null;
  durationMs?: number | null;
  outcome?: RunOutcome;
}

/** GET /api/approvals: a pending approval of the caller. */
export interface PendingApproval {
  runId: string;
  workflowId: string;
  stepId: string;
  level: number;
  message: string | null;
  /** The step's details, the run's inputs and latest step results, as rendered when it was requested. */
  context?: ApprovalContext | null;
  requestedBy: string | null;
  deadline: number | null;
  require?: unknown;
  approvers?: string[];
}

export interface ApprovalContextEntry {
  label: string;
  value: unknown;
}

export interface ApprovalContext {
  details: ApprovalContextEntry[];
  inputs: ApprovalContextEntry[];
  results: ApprovalContextEntry[];
}

/** GET /api/templates. */
export interface TemplateSummary {
  id: string;
  name: string;
  description: string | null;
  format: 'yaml' | 'json';
  installed: boolean;
  /** Not sent by every server: the picture then comes from the installed workflow. */
  source?: string;
}

/** GET /api/schedules. */
export interface Schedule {
  id: string;
  workflowId: string;
  cron: string;
  timezone: string;
  scope: 'user' | 'group' | 'org';
  scopeRef: string | null;
  createdBy: string;
  input: Record<string, unknown>;
  enabled: boolean;
  nextFireAt: number | null;
  lastFiredAt: number | null;
  createdAt: number;
}

/** GET /api/vault: names only, never values. */
export interface VaultEntry {
  scope: string;
  name: string;
  updatedAt: number;
}

export interface McpServer {
  name: string;
  transport: string;
  credentials?: string[];
  [key: string]: unknown;
}

export interface McpTool {
  server: string;
  name: string;
  description?: string | null;
  inputSchema?: unknown;
  annotations?: Record<string, unknown> | null;
}

/** GET /api/inbox: mail the development SMTP inbox received. */
export interface InboxMessage {
  id: string;
  receivedAt: number;
  mailFrom: string | null;
  rcptTo: string[];
  subject: string;
  text: string;
}

/** POST /api/chat (and POST /api/chat/confirm, whose answer is a 'started'). */
export interface ChatReply {
  reply: string;
  action: 'started' | 'confirm' | 'ask' | 'choose' | 'unknown' | 'help' | 'runs' | 'approvals';
  runId?: string;
  workflowId?: string;
  /** 'confirm' and 'started': the input understood. */
  input?: Record<string, unknown>;
  /** 'confirm': the write tools the run can reach. */
  writes?: string[];
  /** 'confirm': what POST /api/chat/confirm takes to start the run. */
  confirmation?: { token: string; expiresAt: number };
  context?: { workflowId: string; input?: Record<string, unknown> };
  missing?: string[];
  candidates?: Array<{ id: string; name: string }>;
  /** 'runs': the caller's latest runs. */
  runs?: Array<{
    id: string;
    workflowId: string;
    name: string;
    status: string;
    createdAt: number;
    /** What decided a completed run's path. */
    outcome?: RunOutcome;
  }>;
  /** 'approvals': what waits on the caller. */
  approvals?: Array<{ runId: string; workflowId: string; name: string; stepId: string; message: string }>;
}
