// The scenario format of `stepgate test` (`*.test.yaml` beside a workflow): users, cases with mocked
// tools, scripted approval decisions and expectations. User-facing: extend it, rename nothing.
import { z } from 'zod';
import { DURATION_HINT, ROLES } from '../translator/definition.js';
import { type Diagnostic, hasErrors } from '../translator/diagnostics.js';
import { DURATION_PATTERN, parseDuration } from '../translator/duration.js';
import { parseSource } from '../translator/source.js';
import { checkSchema } from '../translator/structure.js';

const DURATION_REGEX = new RegExp(DURATION_PATTERN);
const Duration = z.string().regex(DURATION_REGEX, {
  error: (issue) => `invalid duration '${String(issue.input)}': ${DURATION_HINT}`,
});

const User = z.strictObject({
  email: z.string().min(3),
  role: z.enum(ROLES),
  groups: z.array(z.string()).optional(),
  manager: z.string().optional(),
  name: z.string().optional(),
});

const MockError = z.strictObject({
  code: z.string().min(1),
  message: z.string().optional(),
  retryable: z.boolean().optional(),
});
/** One answer of a mocked tool or channel: a result or an error, optionally after some (virtual) time. */
const Answer = z.union([
  z.strictObject({ result: z.unknown(), after: Duration.optional() }),
  z.strictObject({ error: MockError, after: Duration.optional() }),
]);
const Answers = z.union([Answer, z.array(Answer).min(1)]);

const Decision = z.strictObject({
  by: z.string().min(3),
  decision: z.enum(['approve', 'reject']),
  after: Duration,
  comment: z.string().optional(),
});

const Expect = z.strictObject({
  status: z.enum(['completed', 'failed', 'cancelled', 'timed_out']),
  path: z.array(z.string()).optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  toolCalls: z.record(z.string(), z.number().int().min(0)).optional(),
  approvals: z
    .record(
      z.string(),
      z.strictObject({
        approved: z.boolean().optional(),
        level: z.number().int().min(1).optional(),
        decidedBy: z.string().nullable().optional(),
        comment: z.string().nullable().optional(),
        timedOut: z.boolean().optional(),
      }),
    )
    .optional(),
  notifications: z
    .array(
      z.strictObject({
        channel: z.enum(['email', 'slack', 'teams', 'sms']).optional(),
        to: z.union([z.string(), z.array(z.string())]).optional(),
        subject: z.string().optional(),
        message: z.string().optional(),
        step: z.string().optional(),
      }),
    )
    .optional(),
  error: z
    .strictObject({
      code: z.string().optional(),
      step: z.string().optional(),
      message: z.string().optional(),
    })
    .optional(),
});

const Case = z.strictObject({
  name: z.string().min(1),
  as: z.string().optional(),
  trigger: z.enum(['manual', 'webhook', 'schedule']).optional(),
  input: z.record(z.string(), z.unknown()).optional(),
  tools: z.record(z.string(), Answers).optional(),
  channels: z.partialRecord(z.enum(['email', 'slack', 'teams', 'sms']), Answers).optional(),
  /** Answers for one tool or notify step, before `tools` and `channels`: successive calls of that step. */
  steps: z.record(z.string(), Answers).optional(),
  approvals: z.record(z.string(), z.array(Decision).min(1)).optional(),
  cancel: z.strictObject({ after: Duration, by: z.string().optional() }).optional(),
  expect: Expect,
});

export const ScenarioSchema = z.strictObject({
  workflow: z.string().min(1),
  directory: z.array(User).optional(),
  cases: z.array(Case).min(1),
});

export type Scenario = z.infer<typeof ScenarioSchema>;
export type ScenarioCase = z.infer<typeof Case>;
export type ScenarioAnswer = z.infer<typeof Answer>;
export type ScenarioExpect = z.infer<typeof Expect>;

/** Every problem in one pass: a structural error does not hide the zero `after` durations elsewhere. */
export function parseScenario(text: string): { scenario?: Scenario; diagnostics: Diagnostic[] } {
  const source = parseSource(text, 'yaml');
  if (source.syntaxErrors.length > 0) return { diagnostics: source.syntaxErrors };
  const checked = checkSchema(ScenarioSchema, source.value, 'a scenario file', 'workflow, directory, cases');
  const durations = durationProblems(source.value).map((path) =>
    source.place({
      severity: 'error',
      code: 'invalid-duration',
      message: 'duration must be longer than zero',
      path,
    }),
  );
  if (!checked.ok) {
    const all = [...checked.problems.map((p) => source.place(p)), ...durations];
    return { diagnostics: all.sort((a, b) => a.line - b.line || a.col - b.col) };
  }
  return hasErrors(durations)
    ? { diagnostics: durations }
    : { scenario: checked.value, diagnostics: durations };
}

/** `after` values of scripted decisions that match the pattern but are zero or overflow (read from the raw document, so they are found next to structural errors too). */
function durationProblems(scenario: unknown): Array<Array<string | number>> {
  const bad: Array<Array<string | number>> = [];
  const cases = (scenario as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases)) return bad;
  cases.forEach((c: unknown, i) => {
    const approvals = (c as { approvals?: unknown } | null)?.approvals;
    if (approvals === null || typeof approvals !== 'object') return;
    for (const [step, decisions] of Object.entries(approvals)) {
      if (!Array.isArray(decisions)) continue;
      decisions.forEach((d: unknown, j) => {
        const after = (d as { after?: unknown } | null)?.after;
        if (typeof after === 'string' && DURATION_REGEX.test(after) && parseDuration(after) === undefined)
          bad.push(['cases', i, 'approvals', step, j, 'after']);
      });
    }
  });
  return bad;
}

export function durationMs(text: string | undefined): number {
  return text === undefined ? 0 : (parseDuration(text) ?? 0);
}
