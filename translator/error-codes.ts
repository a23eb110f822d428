// The one catalog of the error codes a run can fail with, on every target: what a workflow's `onError`,
// `retry` and scenario files match on, and the names the compiled AWS state machines catch. The engine's,
// the tool pipeline's, the MCP registry's, the notifier's and the ASL emitter's lists are views of this
// one; a code is added here first. The values are part of compiled output and of users' workflows: never
// renamed.
//
// `PolicyDenied` has no `Stepgate.` prefix and keeps it that way: it is written in user-facing workflows,
// scenario files, templates' tests and the docs, and a rename would silently stop their `onError` matching.

export const ERROR_CODE = {
  // The engine
  rejected: 'Stepgate.Rejected',
  approvalTimeout: 'Stepgate.ApprovalTimeout',
  timeout: 'Stepgate.Timeout',
  invalidTime: 'Stepgate.InvalidTime',
  noApprovers: 'Stepgate.NoApprovers',
  unknown: 'Stepgate.Unknown',
  unknownStep: 'Stepgate.UnknownStep',
  engineError: 'Stepgate.EngineError',
  activityFailed: 'Stepgate.ActivityFailed',
  invalidResult: 'Stepgate.InvalidResult',
  nonDeterminism: 'Stepgate.NonDeterminism',
  unknownActivity: 'Stepgate.UnknownActivity',
  // Between the handlers and a compiled state machine
  retryable: 'Stepgate.Retryable',
  fatal: 'Stepgate.Fatal',
  quorumReached: 'Stepgate.QuorumReached',
  // Tool calls: the pipeline and the MCP registry
  invalidArguments: 'Stepgate.InvalidArguments',
  credentialMissing: 'Stepgate.CredentialMissing',
  policyDenied: 'PolicyDenied',
  toolNotFound: 'Stepgate.ToolNotFound',
  ambiguousTool: 'Stepgate.AmbiguousTool',
  toolError: 'Stepgate.ToolError',
  toolUnavailable: 'Stepgate.ToolUnavailable',
  cancelled: 'Stepgate.Cancelled',
  /** A scenario case calls a tool it has no mock for (`stepgate test`). */
  unmockedTool: 'Stepgate.UnmockedTool',
  // Notifications
  notifyNoAccount: 'Notify.NoAccount',
  notifyIncompleteAccount: 'Notify.IncompleteAccount',
  notifyInvalidCredential: 'Notify.InvalidCredential',
  notifyInvalidRequest: 'Notify.InvalidRequest',
  notifyUrlRefused: 'Notify.UrlRefused',
  notifyEmail: 'Notify.EmailError',
  notifySlack: 'Notify.SlackError',
  notifyTeams: 'Notify.TeamsError',
  notifySms: 'Notify.SmsError',
} as const;

export type ErrorCode = (typeof ERROR_CODE)[keyof typeof ERROR_CODE];
