// Lowering: a structurally valid definition becomes the IR, and every check that needs only one field or
// one step at a time (templates, expressions, approvers, durations, cron, time zones, the inputs schema)
// reports here. Checks across steps (targets, reachability, loops, variable scope) live in graph.ts.
import type { Ajv2020, ErrorObject } from 'ajv/dist/2020.js';
import { createAjv } from './ajv.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import {
  type ApprovalLevelDefinition,
  RESERVED_NAMES,
  type RetryDefinition,
  ROLES,
  type Role,
  SCHEDULE_PRESETS,
  type StepDefinition,
  type TriggerDefinition,
  type WorkflowDefinition,
} from './definition.js';
import {
  didYouMean,
  type PathSegment,
  type PendingDiagnostic,
  pointerSegments,
  toPointer,
} from './diagnostics.js';
import { parseDuration, parseIsoTime } from './duration.js';
import { isEmail } from './email.js';
import { tryParseExpression } from './expression.js';
import {
  type Edge,
  END,
  IR_VERSION,
  type IrApprovalLevel,
  type IrApprover,
  type IrBranch,
  type IrDelay,
  type IrGraph,
  type IrNode,
  type IrRetry,
  type IrTrigger,
  type IrWorkflow,
} from './ir.js';
import { parseTemplate, parseTemplateString, type Template } from './template.js';
import { assertNever } from './util.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const PHONE_E164 = /^\+[1-9]\d{6,14}$/;
const SLACK_TARGET = /^(?:[#@][\w.-]+|[CDGU][A-Z0-9]{6,})$/;

const DEFAULT_RETRY: IrRetry = {
  maxAttempts: 1,
  intervalMs: 1_000,
  backoffRate: 2,
  maxDelayMs: null,
  jitter: 'none',
};

export interface LowerResult {
  ir: IrWorkflow;
  problems: PendingDiagnostic[];
}

export function lowerToIr(definition: WorkflowDefinition): LowerResult {
  const lowering = new Lowering(definition);
  return { ir: lowering.workflow(), problems: lowering.problems };
}

class Lowering {
  readonly problems: PendingDiagnostic[] = [];
  private readonly inputNames: Set<string>;
  /** The steps that write a result, in definition order (parallel branches included). */
  private readonly stepResults: Array<{ step: string; output: string }>;

  constructor(private readonly definition: WorkflowDefinition) {
    const properties = definition.inputs?.properties;
    this.inputNames = new Set(isPlainObject(properties) ? Object.keys(properties) : []);
    this.stepResults = resultsOf(definition.steps);
  }

  workflow(): IrWorkflow {
    const d = this.definition;
    const validateInput = this.inputsSchema();
    return {
      irVersion: IR_VERSION,
      id: d.id,
      name: d.name ?? d.id,
      description: d.description ?? null,
      aliases: d.aliases ?? [],
      inputs: d.inputs ?? null,
      triggers: (d.triggers ?? [{ type: 'manual' }]).map((t, i) =>
        this.trigger(t, ['triggers', i], validateInput),
      ),
      timeoutMs: this.duration(d.timeout, ['timeout']),
      graph: this.graph(d.steps, ['steps']),
    };
  }

  private error(
    code: string,
    message: string,
    path: readonly PathSegment[],
    offset?: number,
    atKey?: boolean,
  ): void {
    this.problems.push({ severity: 'error', code, message, path, offset, atKey });
  }

  private graph(steps: StepDefinition[], path: PathSegment[]): IrGraph {
    const nodes = steps.map((step, i) => this.node(step, steps[i + 1]?.id ?? END, [...path, i]));
    return { start: steps[0]?.id ?? END, nodes };
  }

  private node(step: StepDefinition, following: Edge, path: PathSegment[]): IrNode {
    this.stepName(step.id, [...path, 'id'], 'step id');
    const base = { id: step.id, name: step.name ?? null, source: toPointer(path) };
    const next = target(step.next, following);
    switch (step.type) {
      case 'tool': {
        const slash = step.tool.indexOf('/');
        return {
          kind: 'tool',
          ...base,
          server: slash === -1 ? null : step.tool.slice(0, slash),
          tool: slash === -1 ? step.tool : step.tool.slice(slash + 1),
          args: this.template(step.args ?? {}, [...path, 'args']),
          retry: this.retry(step.retry, [...path, 'retry']),
          timeoutMs: this.duration(step.timeout, [...path, 'timeout']),
          output: this.output(step.output ?? step.id, [...path, step.output === undefined ? 'id' : 'output']),
          next,
          onError: optionalTarget(step.onError),
        };
      }
      case 'condition': {
        const parsed = tryParseExpression(step.if);
        if (!parsed.ok)
          this.error(
            'expression-syntax',
            `invalid condition: ${parsed.message}`,
            [...path, 'if'],
            parsed.offset,
          );
        return {
          kind: 'condition',
          ...base,
          expression: step.if,
          condition: parsed.ok ? parsed.expr : { kind: 'literal', value: false },
          onTrue: target(step.then, following),
          onFalse: target(step.else, following),
        };
      }
      case 'approval':
        return {
          kind: 'approval',
          ...base,
          levels: this.approvalLevels(step, path),
          context: {
            details: (step.details ?? []).map((detail, i) => ({
              label: detail.label,
              value: this.template(detail.value, [...path, 'details', i, 'value']),
            })),
            inputs: [...this.inputNames],
            results: this.stepResults.filter((r) => r.step !== step.id),
          },
          output: this.output(step.output ?? step.id, [...path, step.output === undefined ? 'id' : 'output']),
          next,
          onReject: optionalTarget(step.onReject),
          onTimeout: optionalTarget(step.onTimeout),
          ...(step.allowSelfApproval === true ? { allowSelfApproval: true as const } : {}),
        };
      case 'parallel': {
        const branches: IrBranch[] = step.branches.map((branch, i) => ({
          name: branch.name ?? null,
          ...this.graph(branch.steps, [...path, 'branches', i, 'steps']),
        }));
        const require = step.require ?? 'all';
        if (typeof require === 'number' && require > branches.length) {
          this.error(
            'require-too-large',
            `'require' is ${require} but the parallel has only ${branches.length} branches`,
            [...path, 'require'],
          );
        }
        return { kind: 'parallel', ...base, branches, require, next, onError: optionalTarget(step.onError) };
      }
      case 'notify': {
        const recipients = typeof step.to === 'string' ? [step.to] : step.to;
        const toPath = (i: number): PathSegment[] =>
          typeof step.to === 'string' ? [...path, 'to'] : [...path, 'to', i];
        return {
          kind: 'notify',
          ...base,
          channel: step.channel,
          to: recipients.map((recipient, i) => this.recipient(step.channel, recipient, toPath(i))),
          subject: step.subject === undefined ? null : this.template(step.subject, [...path, 'subject']),
          message: this.template(step.message, [...path, 'message']),
          retry: this.retry(step.retry, [...path, 'retry']),
          timeoutMs: this.duration(step.timeout, [...path, 'timeout']),
          next,
          onError: optionalTarget(step.onError),
        };
      }
      case 'delay':
        return { kind: 'delay', ...base, wait: this.delay(step, path), next };
      default:
        return assertNever(step, 'definition node');
    }
  }

  private approvalLevels(
    step: Extract<StepDefinition, { type: 'approval' }>,
    path: PathSegment[],
  ): IrApprovalLevel[] {
    const first: ApprovalLevelDefinition = {
      approvers: step.approvers,
      require: step.require,
      timeout: step.timeout,
      message: step.message,
    };
    const levels = [first, ...(step.escalate ?? [])];
    const levelPath = (i: number): PathSegment[] => (i === 0 ? path : [...path, 'escalate', i - 1]);
    const stepMessage = this.template(step.message ?? '', [...path, 'message']);
    const lowered = levels.map((level, i) => this.approvalLevel(level, levelPath(i), stepMessage, first));
    lowered.forEach((level, i) => {
      if (i < lowered.length - 1 && level.timeoutMs === null) {
        this.error(
          'escalation-without-timeout',
          i === 0
            ? `'escalate' needs a 'timeout' on the step: without one the next level is never entered`
            : `escalation level ${i + 1} needs a 'timeout': without one level ${i + 2} is never entered`,
          i === 0 ? [...path, 'escalate'] : levelPath(i),
          undefined,
          true,
        );
      }
    });
    if (step.onTimeout !== undefined && lowered.at(-1)?.timeoutMs === null) {
      this.error(
        'timeout-path-without-timeout',
        `'onTimeout' is never taken: the ${lowered.length === 1 ? 'step' : 'last escalation level'} has no 'timeout'`,
        [...path, 'onTimeout'],
        undefined,
        true,
      );
    }
    return lowered;
  }

  /** A level without its own message shares the step's message template (the same object, checked once). */
  private approvalLevel(
    level: ApprovalLevelDefinition,
    path: PathSegment[],
    stepMessage: Template,
    first: ApprovalLevelDefinition,
  ): IrApprovalLevel {
    const approvers = level.approvers.map((approver, i) =>
      this.approver(approver, [...path, 'approvers', i]),
    );
    const require = level.require ?? 'any';
    const expands = approvers.some((a) => a.kind === 'role' || a.kind === 'group');
    if (typeof require === 'number' && !expands && require > approvers.length) {
      this.error(
        'require-too-large',
        `'require' is ${require} but there ${approvers.length === 1 ? 'is only 1 approver' : `are only ${approvers.length} approvers`}`,
        [...path, 'require'],
      );
    }
    return {
      approvers,
      require,
      timeoutMs: this.duration(level.timeout, [...path, 'timeout']),
      message:
        level === first || level.message === undefined
          ? stepMessage
          : this.template(level.message, [...path, 'message']),
    };
  }

  private approver(text: string, path: PathSegment[]): IrApprover {
    if (text.includes('{{')) return { kind: 'template', template: this.template(text, path) };
    if (text.startsWith('role:')) {
      const role = text.slice('role:'.length);
      if (!(ROLES as readonly string[]).includes(role)) {
        this.error(
          'unknown-role',
          `unknown role '${role}'${didYouMean(role, ROLES)}; roles are ${ROLES.join(', ')}`,
          path,
        );
      }
      return { kind: 'role', role: role as Role };
    }
    if (text.startsWith('group:')) {
      const group = text.slice('group:'.length);
      if (!GROUP_NAME.test(group)) this.error('invalid-approver', `invalid group name '${group}'`, path);
      return { kind: 'group', group };
    }
    if (!isEmail(text)) {
      this.error(
        'invalid-approver',
        `approver '${text}' must be an email, role:NAME, group:NAME or a {{template}}`,
        path,
      );
    }
    return { kind: 'user', email: text };
  }

  private recipient(channel: string, text: string, path: PathSegment[]): Template {
    const template = this.template(text, path);
    if (template.kind !== 'const') return template;
    const valid =
      channel === 'email'
        ? isEmail(text)
        : channel === 'sms'
          ? PHONE_E164.test(text)
          : channel === 'slack'
            ? SLACK_TARGET.test(text) || isEmail(text)
            : true;
    if (!valid) {
      const expected =
        channel === 'email'
          ? 'an email address'
          : channel === 'sms'
            ? 'a phone number in E.164 form (+14155550123)'
            : 'a #channel, @user, channel id or email';
      this.error(
        'invalid-recipient',
        `'to' for ${channel} must be ${expected} or a {{template}}, found '${text}'`,
        path,
      );
    }
    return template;
  }

  private delay(step: Extract<StepDefinition, { type: 'delay' }>, path: PathSegment[]): IrDelay['wait'] {
    if ((step.duration === undefined) === (step.until === undefined)) {
      this.error('delay-needs-one', `a delay step needs exactly one of 'duration' or 'until'`, path);
      return { kind: 'duration', ms: 0 };
    }
    if (step.duration !== undefined)
      return { kind: 'duration', ms: this.duration(step.duration, [...path, 'duration']) ?? 0 };
    const until = step.until ?? '';
    const time = this.template(until, [...path, 'until']);
    if (time.kind === 'const' && parseIsoTime(until) === undefined) {
      this.error(
        'invalid-time',
        `'until' must be an ISO-8601 time with a zone (2026-01-31T09:00:00Z) or a {{template}}, found '${until}'`,
        [...path, 'until'],
      );
    }
    return { kind: 'until', time };
  }

  private retry(retry: RetryDefinition | undefined, path: PathSegment[]): IrRetry {
    if (retry === undefined) return DEFAULT_RETRY;
    return {
      maxAttempts: retry.maxAttempts,
      intervalMs: this.duration(retry.interval, [...path, 'interval']) ?? DEFAULT_RETRY.intervalMs,
      backoffRate: retry.backoffRate ?? DEFAULT_RETRY.backoffRate,
      maxDelayMs: this.duration(retry.maxDelay, [...path, 'maxDelay']),
      jitter: retry.jitter ?? DEFAULT_RETRY.jitter,
    };
  }

  private duration(text: string | undefined, path: PathSegment[]): number | null {
    if (text === undefined) return null;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      this.error(
        'invalid-duration',
        `invalid duration '${text}': it must be longer than zero and at most 285,000 years`,
        path,
      );
      return null;
    }
    return ms;
  }

  private template(value: unknown, path: PathSegment[]): Template {
    if (typeof value === 'string') {
      const parsed = parseTemplateString(value);
      if (parsed.ok) return parsed.template;
      this.error('template-syntax', `invalid template: ${parsed.issue.message}`, path, parsed.issue.offset);
      return { kind: 'const', value };
    }
    const parsed = parseTemplate(value);
    for (const issue of parsed.issues) {
      const at = [...path, ...pointerSegments(issue.pointer)];
      const message = `invalid template: ${issue.message}`;
      this.error('template-syntax', message, at, issue.atKey ? undefined : issue.offset, issue.atKey);
    }
    return parsed.template;
  }

  private output(name: string, path: PathSegment[]): string {
    // An output defaulting to the step id was already checked as the id.
    if (path.at(-1) !== 'id') this.stepName(name, path, 'output');
    if (this.inputNames.has(name)) {
      this.error(
        'output-shadows-input',
        `${path.at(-1) === 'id' ? 'the result of step' : 'output'} '${name}' would hide the input field '${name}'; choose another 'output' name`,
        path,
      );
    }
    return name;
  }

  private stepName(name: string, path: PathSegment[], what: string): void {
    if (RESERVED_NAMES.has(name))
      this.error(
        'reserved-name',
        `'${name}' is reserved and cannot be ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`,
        path,
      );
  }

  private trigger(
    trigger: TriggerDefinition,
    path: PathSegment[],
    validateInput: InputValidator | undefined,
  ): IrTrigger {
    switch (trigger.type) {
      case 'manual':
        return { type: 'manual', minRole: trigger.minRole ?? 'member' };
      case 'webhook':
        if (trigger.runAs !== undefined && !isEmail(trigger.runAs)) {
          this.error(
            'invalid-run-as',
            `'runAs' must be the email of the identity the run carries, found '${trigger.runAs}'`,
            [...path, 'runAs'],
          );
        }
        return { type: 'webhook', auth: trigger.auth ?? 'signature', runAs: trigger.runAs ?? null };
      case 'schedule':
        return this.schedule(trigger, path, validateInput);
      default:
        return assertNever(trigger, 'definition node');
    }
  }

  private schedule(
    trigger: Extract<TriggerDefinition, { type: 'schedule' }>,
    path: PathSegment[],
    validateInput: InputValidator | undefined,
  ): IrTrigger {
    const timezone = trigger.timezone ?? 'UTC';
    const zoneProblem = timeZoneProblem(timezone);
    if (zoneProblem !== undefined) this.error('invalid-timezone', zoneProblem, [...path, 'timezone']);
    if ((trigger.preset === undefined) === (trigger.cron === undefined)) {
      this.error('schedule-needs-one', `a schedule needs exactly one of 'preset' or 'cron'`, path);
    }
    const cron = trigger.cron ?? SCHEDULE_PRESETS[trigger.preset ?? 'daily-9am'];
    if (trigger.cron !== undefined) {
      const problem = cronProblem(trigger.cron);
      if (problem !== undefined)
        this.error('invalid-cron', `invalid cron expression '${trigger.cron}': ${problem}`, [
          ...path,
          'cron',
        ]);
    }
    const scope = trigger.scope ?? 'user';
    if (scope === 'group' && trigger.group === undefined) {
      this.error(
        'group-scope-needs-group',
        `a group-scoped schedule needs 'group': the group whose credentials it runs with`,
        path,
      );
    }
    if (scope !== 'group' && trigger.group !== undefined) {
      this.error(
        'group-without-group-scope',
        `'group' is only used with scope: group`,
        [...path, 'group'],
        undefined,
        true,
      );
    }
    const input = trigger.input ?? {};
    for (const problem of validateInput?.(input) ?? []) {
      const message = `schedule 'input' does not match 'inputs': ${problem.message}`;
      this.error('invalid-schedule-input', message, [...path, 'input', ...problem.path]);
    }
    return {
      type: 'schedule',
      cron,
      preset: trigger.preset ?? null,
      timezone,
      scope,
      group: trigger.group ?? null,
      input,
    };
  }

  /** Checks `inputs` is a JSON Schema of an object; returns a validator of trigger input against it. */
  private inputsSchema(): InputValidator | undefined {
    const inputs = this.definition.inputs;
    if (inputs === undefined) return undefined;
    if (inputs.type !== 'object') {
      this.error('inputs-not-object', `'inputs' must describe an object: add 'type: object'`, ['inputs']);
    }
    for (const name of this.inputNames) {
      if (RESERVED_NAMES.has(name))
        this.error(
          'reserved-name',
          `'${name}' is reserved and cannot be an input field`,
          ['inputs', 'properties', name],
          undefined,
          true,
        );
    }
    const ajv = inputsAjv();
    if (!ajv.validateSchema(inputs)) {
      for (const error of mostSpecificPerPath(ajv.errors ?? [])) {
        this.error(
          'invalid-inputs-schema',
          `'inputs' is not a valid JSON Schema: ${schemaErrorMessage(error)}`,
          ['inputs', ...pointerSegments(error.instancePath)],
        );
      }
      return undefined;
    }
    try {
      const validate = ajv.compile(inputs);
      return (input) =>
        validate(input)
          ? []
          : mostSpecificPerPath(validate.errors ?? []).map((error) => ({
              message: schemaErrorMessage(error),
              path: pointerSegments(error.instancePath),
            }));
    } catch (error) {
      this.error(
        'invalid-inputs-schema',
        `'inputs' is not a valid JSON Schema: ${(error as Error).message}`,
        ['inputs'],
      );
      return undefined;
    }
  }
}

let sharedAjv: Ajv2020 | undefined;
function inputsAjv(): Ajv2020 {
  if (sharedAjv === undefined) {
    sharedAjv = createAjv({
      strict: true,
      strictTypes: false,
      strictRequired: false,
      allErrors: true,
      addUsedSchema: false,
    });
  }
  return sharedAjv;
}

type InputValidator = (input: unknown) => Array<{ message: string; path: PathSegment[] }>;

function schemaErrorMessage(error: ErrorObject): string {
  const where = error.instancePath === '' ? '' : `'${pointerSegments(error.instancePath).join('.')}' `;
  const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
  const values = error.keyword === 'enum' && allowed ? `: ${allowed.map(String).join(', ')}` : '';
  return `${where}${error.message ?? 'is invalid'}${values}`;
}

/** One error per place: Ajv also reports every anyOf/type alternative that failed next to the real one. */
function mostSpecificPerPath(errors: ErrorObject[]): ErrorObject[] {
  const rank = (e: ErrorObject): number =>
    e.keyword === 'enum' ? 0 : e.keyword === 'anyOf' || e.keyword === 'oneOf' ? 2 : 1;
  const best = new Map<string, ErrorObject>();
  for (const error of errors) {
    const current = best.get(error.instancePath);
    if (current === undefined || rank(error) < rank(current)) best.set(error.instancePath, error);
  }
  return [...best.values()];
}

function target(value: string | undefined, following: Edge): Edge {
  if (value === undefined) return following;
  return value === 'end' ? END : value;
}

function resultsOf(steps: StepDefinition[]): Array<{ step: string; output: string }> {
  return steps.flatMap((step) => {
    if (step.type === 'parallel') return step.branches.flatMap((branch) => resultsOf(branch.steps));
    if (step.type === 'tool' || step.type === 'approval')
      return [{ step: step.id, output: step.output ?? step.id }];
    return [];
  });
}

function optionalTarget(value: string | undefined): Edge | null {
  return value === undefined ? null : target(value, END);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
