// The properties forms of each step type: a tool with its argument form from the MCP tool's input schema,
// a condition whose expression is checked as it is typed, an approval with its levels, notify, delay and
// parallel. Each reports (path, value) edits through `onSet`.
import { expressionPaths, tryParseExpression } from '../../../translator/expression';
import { plainText } from '../inline-markdown';
import { isRecord, type Path, type StepInfo } from './definition-model';
import { CheckField, Field, ListField, SelectField } from './fields';
import type { DirectoryUser, PanelProps } from './properties-panel';

const DURATION =
  /^(?:(?:\d+(?:ms|s|m|h|d|w))+|P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d{1,3})?S)?)?)$/;
const ROLES = ['viewer', 'member', 'lead', 'manager', 'director', 'admin'];
const CHANNELS = ['email', 'slack', 'teams', 'sms'];

export const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(str) : typeof v === 'string' && v !== '' ? [v] : [];
export const durationError = (text: string) =>
  text === '' || DURATION.test(text) ? null : 'a duration: 30s, 15m, 24h, 7d, 1h30m or PT24H';

export type StepFieldProps = PanelProps & { step: StepInfo; variables: string[] };

function RetryFields({ step, onSet }: StepFieldProps) {
  const retry = isRecord(step.step.retry) ? step.step.retry : {};
  const at = (key: string): Path => [...step.path, 'retry', key];
  const num = (text: string) =>
    text.trim() === '' || Number.isNaN(Number(text)) ? text.trim() || undefined : Number(text);
  return (
    <fieldset className="sg-fieldset">
      <legend>Retry</legend>
      <div className="sg-row">
        <Field
          label="Attempts"
          name="retry-maxAttempts"
          value={str(retry.maxAttempts)}
          onChange={(x) => onSet(at('maxAttempts'), num(x))}
          placeholder="1"
        />
        <Field
          label="Interval"
          name="retry-interval"
          value={str(retry.interval)}
          onChange={(x) => onSet(at('interval'), x)}
          error={durationError(str(retry.interval))}
          placeholder="1s"
        />
      </div>
      <div className="sg-row">
        <Field
          label="Backoff rate"
          name="retry-backoffRate"
          value={str(retry.backoffRate)}
          onChange={(x) => onSet(at('backoffRate'), num(x))}
          placeholder="2"
        />
        <Field
          label="Max delay"
          name="retry-maxDelay"
          value={str(retry.maxDelay)}
          onChange={(x) => onSet(at('maxDelay'), x)}
          error={durationError(str(retry.maxDelay))}
        />
      </div>
      <SelectField
        label="Jitter"
        value={str(retry.jitter)}
        onChange={(x) => onSet(at('jitter'), x)}
        options={[
          { value: '', label: '(none)' },
          { value: 'full', label: 'full' },
          { value: 'none', label: 'none' },
        ]}
      />
    </fieldset>
  );
}

function argText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function argValue(text: string, type: unknown): unknown {
  if (text === '') return undefined;
  if (text.includes('{{')) return text;
  if ((type === 'number' || type === 'integer') && text.trim() !== '' && !Number.isNaN(Number(text)))
    return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  if (type === 'object' || type === 'array') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function ToolFields(props: StepFieldProps) {
  const { step, onSet, tools, variables } = props;
  const v = step.step;
  const at = (...keys: Path): Path => [...step.path, ...keys];
  const name = str(v.tool);
  const tool = tools.find((t) => t.name === name || `${t.server}/${t.name}` === name);
  const schema = tool && isRecord(tool.inputSchema) ? tool.inputSchema : {};
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const args = isRecord(v.args) ? v.args : {};
  // Arguments starting with `_` (the caller's identity) are injected by Stepgate, not written by hand.
  const keys = [
    ...Object.keys(properties).filter((k) => !k.startsWith('_') || k in args),
    ...Object.keys(args).filter((k) => !(k in properties)),
  ];
  const toolNames = tools.map((t) => t.name);
  const suggestions = [...new Set([...toolNames, ...tools.map((t) => `${t.server}/${t.name}`)])];
  return (
    <>
      <Field
        label="Tool"
        name="tool"
        value={name}
        onChange={(x) => onSet(at('tool'), x)}
        suggestions={suggestions}
        placeholder="server/tool or tool"
        hint={
          (typeof tool?.description === 'string' ? plainText(tool.description) : null) ??
          (name !== '' && tools.length > 0 ? 'not a tool of the connected MCP servers' : null)
        }
      />
      <fieldset className="sg-fieldset" data-testid="tool-args">
        <legend>Arguments</legend>
        {keys.length === 0 ? (
          <div className="sg-muted">
            {tool ? 'this tool takes no arguments' : 'choose a tool to see its arguments'}
          </div>
        ) : null}
        {keys.map((key) => {
          const prop = isRecord(properties[key]) ? properties[key] : {};
          const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type;
          return (
            <Field
              key={key}
              label={`${key}${required.has(key) ? ' *' : ''}`}
              name={`arg-${key}`}
              value={argText(args[key])}
              onChange={(x) => onSet(at('args', key), argValue(x, type))}
              variables={variables}
              hint={
                [
                  typeof type === 'string' ? type : null,
                  typeof prop.description === 'string' ? plainText(prop.description) : null,
                ]
                  .filter(Boolean)
                  .join(' — ') || null
              }
            />
          );
        })}
        <ExtraArgument onAdd={(key) => onSet(at('args', key), `{{${variables[0] ?? ''}}}`)} />
      </fieldset>
      <Field
        label="Output variable"
        name="output"
        value={str(v.output)}
        onChange={(x) => onSet(at('output'), x)}
        placeholder={step.id}
      />
      <Field
        label="Timeout (per attempt)"
        name="timeout"
        value={str(v.timeout)}
        onChange={(x) => onSet(at('timeout'), x)}
        error={durationError(str(v.timeout))}
      />
      <RetryFields {...props} />
    </>
  );
}

function ExtraArgument({ onAdd }: { onAdd: (key: string) => void }) {
  return (
    <details className="sg-extra-arg">
      <summary>Another argument</summary>
      <Field
        label="Argument name"
        name="new-arg"
        value=""
        commitOnBlur
        onChange={(key) => {
          if (/^[\w-]+$/.test(key)) onAdd(key);
        }}
      />
    </details>
  );
}

export function ConditionFields({ step, onSet, variables }: StepFieldProps) {
  const text = str(step.step.if);
  const parsed = text === '' ? null : tryParseExpression(text);
  // An empty condition (a step just dropped) is work to do, not a mistake: said as a hint, not in red.
  let error: string | null = null;
  let hint: string | null = text === '' ? 'required: the expression that picks the branch' : null;
  if (parsed && !parsed.ok) error = `${parsed.message} (at ${parsed.offset + 1})`;
  if (parsed?.ok) {
    const roots = new Set(variables.map((v) => v.split('.')[0]));
    const unknown = expressionPaths(parsed.expr)
      .map((p) => p.path[0] ?? '')
      .filter((root) => !roots.has(root));
    hint = unknown.length > 0 ? `not known here: ${[...new Set(unknown)].join(', ')}` : '✓ valid expression';
  }
  return (
    <Field
      label="If (expression)"
      name="if"
      value={text}
      onChange={(x) => onSet([...step.path, 'if'], x)}
      error={error}
      hint={hint}
      placeholder="amount > 500"
      variables={variables}
      bare
    />
  );
}

function RequireField({
  value,
  onChange,
  label = 'Require',
}: {
  value: unknown;
  onChange: (v: unknown) => void;
  label?: string;
}) {
  const mode = typeof value === 'number' ? 'n' : str(value);
  return (
    <div className="sg-row">
      <SelectField
        label={label}
        value={mode}
        onChange={(m) => onChange(m === 'n' ? 2 : m)}
        options={[
          { value: '', label: 'any (default)' },
          { value: 'any', label: 'any' },
          { value: 'all', label: 'all' },
          { value: 'n', label: 'N approvals' },
        ]}
      />
      {mode === 'n' ? (
        <Field
          label="N"
          name="require-n"
          value={String(value)}
          onChange={(x) => onChange(Number(x) > 0 ? Number(x) : 1)}
        />
      ) : null}
    </div>
  );
}

function approverSuggestions(users: DirectoryUser[]): string[] {
  const groups = new Set(users.flatMap((u) => u.groups ?? []));
  return [
    '{{trigger.user.manager}}',
    ...users.map((u) => u.email),
    ...ROLES.map((r) => `role:${r}`),
    ...[...groups].map((g) => `group:${g}`),
  ];
}

export function ApprovalFields({ step, onSet, users, variables }: StepFieldProps) {
  const v = step.step;
  const at = (...keys: Path): Path => [...step.path, ...keys];
  const suggestions = approverSuggestions(users);
  const levels = Array.isArray(v.escalate) ? v.escalate : [];
  return (
    <>
      <ListField
        label="Approvers"
        values={strings(v.approvers)}
        onChange={(x) => onSet(at('approvers'), x)}
        suggestions={suggestions}
        variables={variables}
        placeholder="email, role:NAME, group:NAME or {{template}}"
      />
      <RequireField value={v.require} onChange={(x) => onSet(at('require'), x)} />
      <Field
        label="Message"
        name="message"
        multiline
        value={str(v.message)}
        onChange={(x) => onSet(at('message'), x)}
        variables={variables}
      />
      <DetailsFields
        details={v.details}
        onSet={(path, x) => onSet(at('details', ...path), x)}
        variables={variables}
      />
      <Field
        label="Timeout"
        name="timeout"
        value={str(v.timeout)}
        onChange={(x) => onSet(at('timeout'), x)}
        error={durationError(str(v.timeout))}
        placeholder="24h"
      />
      {levels.map((level, i) => {
        const l = isRecord(level) ? level : {};
        const key = `level-${String(i)}`;
        return (
          <fieldset className="sg-fieldset" key={key} data-testid={`escalation-${String(i + 1)}`}>
            <legend>Escalation level {i + 2}</legend>
            <ListField
              label={`Level ${String(i + 2)} approvers`}
              values={strings(l.approvers)}
              onChange={(x) => onSet(at('escalate', i, 'approvers'), x)}
              suggestions={suggestions}
              variables={variables}
            />
            <RequireField
              label={`Level ${String(i + 2)} require`}
              value={l.require}
              onChange={(x) => onSet(at('escalate', i, 'require'), x)}
            />
            <Field
              label={`Level ${String(i + 2)} timeout`}
              name={`escalate-${String(i)}-timeout`}
              value={str(l.timeout)}
              onChange={(x) => onSet(at('escalate', i, 'timeout'), x)}
              error={durationError(str(l.timeout))}
            />
            <Field
              label={`Level ${String(i + 2)} message`}
              name={`escalate-${String(i)}-message`}
              value={str(l.message)}
              onChange={(x) => onSet(at('escalate', i, 'message'), x)}
              variables={variables}
            />
            <button
              type="button"
              onClick={() =>
                onSet(
                  at('escalate'),
                  levels.filter((_, j) => j !== i),
                )
              }
            >
              Remove level
            </button>
          </fieldset>
        );
      })}
      <button
        type="button"
        className="sg-add"
        onClick={() => onSet(at('escalate'), [...levels, { approvers: [] }])}
      >
        Add escalation level
      </button>
      <CheckField
        label="Requester may approve (allowSelfApproval)"
        name="allowSelfApproval"
        checked={v.allowSelfApproval === true}
        onChange={(x) => onSet(at('allowSelfApproval'), x ? true : undefined)}
      />
      <Field
        label="Output variable"
        name="output"
        value={str(v.output)}
        onChange={(x) => onSet(at('output'), x)}
        placeholder={step.id}
      />
    </>
  );
}

/** The most details an approval step takes (translator/definition.ts). */
const MAX_DETAILS = 20;

/**
 * An approval's `details`: a row per detail (its label, and its value with the variables offered after
 * `{{`), rows added and removed. A row just added is empty: said as a hint until it is filled.
 */
function DetailsFields({
  details,
  onSet,
  variables,
}: {
  details: unknown;
  onSet: (path: Path, value: unknown) => void;
  variables: string[];
}) {
  const rows = Array.isArray(details) ? details : [];
  const missing = (text: string, what: string) => (text === '' ? `required: ${what}` : null);
  return (
    <fieldset className="sg-fieldset" data-testid="approval-details">
      <legend>Details the approver sees</legend>
      {rows.length === 0 ? (
        <div className="sg-muted">
          beside the run's inputs and latest results, e.g. a policy check's findings
        </div>
      ) : null}
      {rows.map((row, i) => {
        const r = isRecord(row) ? row : {};
        const n = String(i + 1);
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: a row is its place in the list, as the definition has it.
          <div className="sg-detail-row" key={i} data-testid={`detail-${n}`}>
            <Field
              label={`Detail ${n} label`}
              name={`detail-${String(i)}-label`}
              value={str(r.label)}
              onChange={(x) => onSet([i, 'label'], x)}
              hint={missing(str(r.label), 'what the approver sees it as')}
              placeholder="Policy findings"
            />
            <Field
              label={`Detail ${n} value`}
              name={`detail-${String(i)}-value`}
              value={str(r.value)}
              onChange={(x) => onSet([i, 'value'], x)}
              variables={variables}
              hint={missing(str(r.value), 'text or a {{template}}')}
              placeholder="{{validation.reasons}}"
            />
            <button
              type="button"
              aria-label={`Remove detail ${n}`}
              onClick={() =>
                onSet(
                  [],
                  rows.filter((_, j) => j !== i),
                )
              }
            >
              Remove
            </button>
          </div>
        );
      })}
      <button
        type="button"
        className="sg-add"
        disabled={rows.length >= MAX_DETAILS}
        title={rows.length >= MAX_DETAILS ? `at most ${String(MAX_DETAILS)} details` : undefined}
        onClick={() => onSet([], [...rows, { label: '', value: '' }])}
      >
        Add detail
      </button>
    </fieldset>
  );
}

export function NotifyFields(props: StepFieldProps) {
  const { step, onSet, users, variables } = props;
  const v = step.step;
  const at = (...keys: Path): Path => [...step.path, ...keys];
  const to = strings(v.to);
  return (
    <>
      <SelectField
        label="Channel"
        value={str(v.channel) || 'email'}
        onChange={(x) => onSet(at('channel'), x)}
        options={CHANNELS.map((c) => ({ value: c, label: c }))}
      />
      <ListField
        label="To"
        values={to}
        onChange={(x) => onSet(at('to'), x.length === 1 ? x[0] : x)}
        suggestions={['{{trigger.user.email}}', ...users.map((u) => u.email)]}
        variables={variables}
        placeholder="an address, #channel or {{template}}"
      />
      <Field
        label="Subject"
        name="subject"
        value={str(v.subject)}
        onChange={(x) => onSet(at('subject'), x)}
        variables={variables}
      />
      <Field
        label="Message"
        name="message"
        multiline
        value={str(v.message)}
        onChange={(x) => onSet(at('message'), x)}
        variables={variables}
      />
      <Field
        label="Timeout"
        name="timeout"
        value={str(v.timeout)}
        onChange={(x) => onSet(at('timeout'), x)}
        error={durationError(str(v.timeout))}
      />
      <RetryFields {...props} />
    </>
  );
}

export function DelayFields({ step, onSet, variables }: StepFieldProps) {
  const v = step.step;
  const mode = v.until !== undefined ? 'until' : 'duration';
  const at = (key: string): Path => [...step.path, key];
  return (
    <>
      <SelectField
        label="Wait"
        value={mode}
        onChange={(m) => {
          if (m === mode) return;
          onSet(at(mode), undefined);
          onSet(at(m), m === 'duration' ? '1h' : '{{trigger.time}}');
        }}
        options={[
          { value: 'duration', label: 'for a duration' },
          { value: 'until', label: 'until a time' },
        ]}
      />
      {mode === 'duration' ? (
        <Field
          label="Duration"
          name="duration"
          value={str(v.duration)}
          onChange={(x) => onSet(at('duration'), x)}
          error={durationError(str(v.duration))}
        />
      ) : (
        <Field
          label="Until"
          name="until"
          value={str(v.until)}
          onChange={(x) => onSet(at('until'), x)}
          variables={variables}
          hint="ISO-8601 time with a zone, or a template"
        />
      )}
    </>
  );
}

export function ParallelFields({ step, onSet }: PanelProps & { step: StepInfo }) {
  const v = step.step;
  const branches = Array.isArray(v.branches) ? v.branches : [];
  const at = (...keys: Path): Path => [...step.path, ...keys];
  const mode = typeof v.require === 'number' ? 'n' : 'all';
  return (
    <>
      <div className="sg-row">
        <SelectField
          label="Require"
          value={mode}
          onChange={(m) => onSet(at('require'), m === 'n' ? 1 : undefined)}
          options={[
            { value: 'all', label: 'all branches' },
            { value: 'n', label: 'N branches' },
          ]}
        />
        {mode === 'n' ? (
          <Field
            label="N"
            name="require-n"
            value={String(v.require)}
            onChange={(x) => onSet(at('require'), Number(x) > 0 ? Number(x) : 1)}
          />
        ) : null}
      </div>
      <fieldset className="sg-fieldset">
        <legend>Branches</legend>
        {branches.map((b, i) => {
          const key = `branch-${String(i)}`;
          return (
            <div className="sg-row" key={key}>
              <Field
                label={`Branch ${String(i + 1)} name`}
                name={key}
                value={str(isRecord(b) ? b.name : '')}
                onChange={(x) => onSet(at('branches', i, 'name'), x)}
              />
              <button
                type="button"
                disabled={branches.length <= 2}
                onClick={() =>
                  onSet(
                    at('branches'),
                    branches.filter((_, j) => j !== i),
                  )
                }
              >
                Remove
              </button>
            </div>
          );
        })}
        <button
          type="button"
          className="sg-add"
          onClick={() =>
            onSet(at('branches'), [...branches, { name: `branch${String(branches.length + 1)}`, steps: [] }])
          }
        >
          Add branch
        </button>
      </fieldset>
    </>
  );
}
