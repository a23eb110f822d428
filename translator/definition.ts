// The `stepgate/v1` definition format: one zod schema that is the source of the validator's structural
// checks, of the TypeScript types and of the published JSON Schema (schema/workflow.schema.json).
import { z } from 'zod';
import { DURATION_PATTERN } from './duration.js';

import { ROLES, type Role } from './roles.js';

export { ROLES, type Role };

export const CHANNELS = ['email', 'slack', 'teams', 'sms'] as const;
export const SCOPES = ['user', 'group', 'org'] as const;
export const WEBHOOK_AUTH = ['signature', 'token'] as const;

/** Schedule presets and the cron expression each stands for (minute hour day-of-month month day-of-week). */
export const SCHEDULE_PRESETS = {
  hourly: '0 * * * *',
  'daily-9am': '0 9 * * *',
  'weekly-monday': '0 9 * * 1',
  weekdays: '0 9 * * 1-5',
  monthly: '0 9 1 * *',
} as const;
export type SchedulePreset = keyof typeof SCHEDULE_PRESETS;

/** Names a step id or output may not take: they are built-in variables or the `end` jump target. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'trigger',
  'run',
  'error',
  'end',
  'true',
  'false',
  'null',
  'in',
  'contains',
  'startsWith',
]);

export const WORKFLOW_ID_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
export const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const TOOL_NAME_PATTERN = /^(?:[A-Za-z0-9_.-]{1,64}\/)?[A-Za-z0-9_.-]{1,128}$/;

const durationRegex = new RegExp(DURATION_PATTERN);
const Duration = z
  .string()
  .regex(durationRegex, { error: (issue) => `invalid duration '${String(issue.input)}': ${DURATION_HINT}` })
  .meta({ description: 'A duration: 500ms, 30s, 15m, 24h, 7d, 1h30m, or ISO-8601 such as PT24H.' });
export const DURATION_HINT =
  'use a number with ms, s, m, h, d or w (e.g. 30s, 24h, 1h30m) or ISO-8601 such as PT24H';

const StepId = z.string().regex(STEP_ID_PATTERN, {
  error: (issue) =>
    `invalid step id '${String(issue.input)}': use letters, digits and _ (starting with a letter or _), at most 64 characters`,
});
/** A jump target: a step id of the same list, or `end`. */
const Target = z.string().regex(STEP_ID_PATTERN, {
  error: (issue) => `invalid jump target '${String(issue.input)}': name a step id or end`,
});
const VariableName = StepId.meta({ description: 'Variable that receives the step result.' });

const Retry = z
  .strictObject({
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(100)
      .meta({ description: 'Total attempts, the first one included.' }),
    interval: Duration.optional().meta({ description: 'Delay before the first retry (default 1s).' }),
    backoffRate: z
      .number()
      .min(1)
      .max(10)
      .optional()
      .meta({ description: 'Multiplier per retry (default 2).' }),
    maxDelay: Duration.optional(),
    jitter: z.enum(['full', 'none']).optional(),
  })
  .meta({ description: 'Retry with exponential backoff.' });

const common = {
  id: StepId,
  name: z.string().max(200).optional().meta({ description: 'Display name.' }),
  description: z.string().max(2000).optional(),
  next: Target.optional().meta({ description: 'Step to run next (default: the following step), or end.' }),
};

const Require = z.union([z.enum(['any', 'all']), z.number().int().min(1).max(1000)]);

const ToolStep = z.strictObject({
  ...common,
  type: z.literal('tool'),
  tool: z.string().regex(TOOL_NAME_PATTERN, {
    error: (issue) => `invalid tool name '${String(issue.input)}': use TOOL or SERVER/TOOL`,
  }),
  args: z.record(z.string(), z.unknown()).optional(),
  retry: Retry.optional(),
  timeout: Duration.optional(),
  output: VariableName.optional(),
  onError: Target.optional(),
});

const ConditionStep = z.strictObject({
  ...common,
  type: z.literal('condition'),
  if: z
    .string()
    .min(1)
    .meta({ description: "Expression, e.g. amount > 500 && department == 'engineering'." }),
  // biome-ignore lint/suspicious/noThenProperty: `then` is the format's user-facing key; parsed definitions are never awaited, and the IR renames it.
  then: Target,
  else: Target.optional(),
});

const Approvers = z
  .array(z.string().min(1))
  .min(1)
  .meta({ description: 'Emails, role:NAME, group:NAME or {{templates}}.' });

const ApprovalLevel = z.strictObject({
  approvers: Approvers,
  require: Require.optional(),
  timeout: Duration.optional(),
  message: z.string().optional(),
});

/** One line of context an approver sees beside the request: a label and a {{template}} read at request time. */
const ApprovalDetail = z.strictObject({
  label: z
    .string()
    .min(1)
    .max(100)
    .meta({ description: 'What the approver sees it as, e.g. Policy findings.' }),
  value: z.string().min(1).max(2000).meta({
    description: 'Text or a {{template}}, e.g. {{validation.reasons}}: a list or object is shown as it is.',
  }),
});

const ApprovalStep = z.strictObject({
  ...common,
  type: z.literal('approval'),
  approvers: Approvers,
  require: Require.optional().meta({ description: 'any (default), all, or N of the approvers.' }),
  message: z.string().optional(),
  details: z.array(ApprovalDetail).max(20).optional().meta({
    description:
      "What the approver needs to decide, shown on the approval page, the dashboard and the email beside the run's inputs and latest step results.",
  }),
  timeout: Duration.optional(),
  escalate: z
    .array(ApprovalLevel)
    .optional()
    .meta({ description: 'Levels entered in turn when the previous one times out.' }),
  onReject: Target.optional(),
  onTimeout: Target.optional(),
  allowSelfApproval: z.boolean().optional().meta({
    description:
      'Let whoever asked for the run approve it too (default false: they are left out of the approvers and refused).',
  }),
  output: VariableName.optional(),
});

const NotifyStep = z.strictObject({
  ...common,
  type: z.literal('notify'),
  channel: z.enum(CHANNELS),
  to: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  subject: z.string().optional(),
  message: z.string(),
  retry: Retry.optional(),
  timeout: Duration.optional(),
  onError: Target.optional(),
});

const DelayStep = z.strictObject({
  ...common,
  type: z.literal('delay'),
  duration: Duration.optional(),
  until: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'ISO-8601 time or a {{template}} that yields one.' }),
});

const Branch = z.strictObject({
  name: z.string().max(200).optional(),
  get steps() {
    return z.array(Step).min(1);
  },
});

const ParallelStep = z.strictObject({
  ...common,
  type: z.literal('parallel'),
  branches: z.array(Branch).min(2),
  require: z
    .union([z.literal('all'), z.number().int().min(1).max(1000)])
    .optional()
    .meta({ description: 'all (default) or N: continue once N branches succeeded.' }),
  onError: Target.optional(),
});

export const Step = z
  .discriminatedUnion('type', [ToolStep, ConditionStep, ApprovalStep, ParallelStep, NotifyStep, DelayStep])
  .meta({ id: 'Step' });

const ManualTrigger = z.strictObject({ type: z.literal('manual'), minRole: z.enum(ROLES).optional() });
const WebhookTrigger = z.strictObject({
  type: z.literal('webhook'),
  auth: z.enum(WEBHOOK_AUTH).optional(),
  runAs: z.string().min(1).optional(),
});
const ScheduleTrigger = z.strictObject({
  type: z.literal('schedule'),
  preset: z.enum(Object.keys(SCHEDULE_PRESETS) as [SchedulePreset, ...SchedulePreset[]]).optional(),
  cron: z.string().min(1).optional(),
  timezone: z.string().min(1).optional(),
  scope: z.enum(SCOPES).optional(),
  group: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The group whose credentials a group-scoped run uses.' }),
  input: z.record(z.string(), z.unknown()).optional(),
});
const Trigger = z.discriminatedUnion('type', [ManualTrigger, WebhookTrigger, ScheduleTrigger]);

export const WorkflowDefinitionSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1),
    id: z.string().regex(WORKFLOW_ID_PATTERN, {
      error: (issue) =>
        `invalid workflow id '${String(issue.input)}': use lowercase letters, digits and -, starting with a letter, at most 64 characters`,
    }),
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(5000).optional(),
    aliases: z.array(z.string().min(1).max(200)).optional(),
    inputs: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'JSON Schema (draft 2020-12) of the trigger payload.' }),
    triggers: z.array(Trigger).optional(),
    timeout: Duration.optional().meta({ description: 'Whole-run limit; exceeded means status timed_out.' }),
    steps: z.array(Step).min(1),
  })
  .meta({ title: 'Stepgate workflow definition (stepgate/v1)' });

export type WorkflowDefinition = z.infer<typeof WorkflowDefinitionSchema>;
export type StepDefinition = z.infer<typeof Step>;
export type TriggerDefinition = z.infer<typeof Trigger>;
export type ApprovalLevelDefinition = z.infer<typeof ApprovalLevel>;
export type RetryDefinition = z.infer<typeof Retry>;

/** The published JSON Schema of the format, generated from the zod schema above. */
export function workflowJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(WorkflowDefinitionSchema, { target: 'draft-2020-12', unrepresentable: 'any' }),
    $id: 'https://stepgate.dev/schema/workflow.schema.json',
  };
}
