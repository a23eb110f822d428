// The properties panel: the workflow's own settings when no step is selected, otherwise a form that
// fits the selected step's type. Every change is a (path, value) edit of the definition.
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { isRecord, JUMP_KEYS, listSteps, type Path, type StepInfo, sameList } from './definition-model';
import { Field, ListField, SelectField } from './fields';
import { type DocEdit, InputsEditor, TriggersEditor } from './settings-fields';
import {
  ApprovalFields,
  ConditionFields,
  DelayFields,
  durationError,
  NotifyFields,
  ParallelFields,
  str,
  strings,
  ToolFields,
} from './step-fields';
import { variablesInScope } from './variables';

export interface McpTool {
  server: string;
  name: string;
  description: string | null;
  inputSchema: unknown;
}

export interface DirectoryUser {
  email: string;
  name?: string | null;
  role?: string;
  groups?: string[];
}

export interface PanelProps {
  definition: unknown;
  step: StepInfo | null;
  tools: McpTool[];
  users: DirectoryUser[];
  problems: string[];
  onSet: (path: Path, value: unknown) => void;
  /** A Document edit of the definition (for changes that are more than a set or delete). */
  onEdit: DocEdit;
  onRename: (from: string, to: string) => void;
  onDelete: (id: string) => void;
  onMoveStep: (id: string, delta: -1 | 1) => void;
}

function yamlOf(value: unknown): string {
  return value === undefined ? '' : stringifyYaml(value, { lineWidth: 0 }).trimEnd();
}

function parseYamlText(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: text.trim() === '' ? undefined : parseYaml(text) };
  } catch (error) {
    return { ok: false, message: (error as Error).message.split('\n')[0] ?? 'not YAML' };
  }
}

export function PropertiesPanel(props: PanelProps) {
  const { step } = props;
  if (step === null) return <WorkflowSettings {...props} />;
  return <StepProperties {...props} step={step} />;
}

function WorkflowSettings({ definition, onSet, onEdit, users, problems }: PanelProps) {
  const def = isRecord(definition) ? definition : {};
  return (
    <div className="sg-panel" data-testid="workflow-settings">
      <h2>Workflow</h2>
      <Problems problems={problems} />
      <Field
        label="Workflow id"
        name="workflow-id"
        value={str(def.id)}
        onChange={(v) => onSet(['id'], v)}
        placeholder="expense-approval"
        hint="lower-case letters, digits and -"
      />
      <Field label="Name" name="workflow-name" value={str(def.name)} onChange={(v) => onSet(['name'], v)} />
      <Field
        label="Description"
        name="workflow-description"
        multiline
        value={str(def.description)}
        onChange={(v) => onSet(['description'], v)}
      />
      <ListField
        label="Aliases"
        values={strings(def.aliases)}
        onChange={(v) => onSet(['aliases'], v)}
        placeholder="a phrase that starts it from chat"
      />
      <Field
        label="Run timeout"
        name="workflow-timeout"
        value={str(def.timeout)}
        onChange={(v) => onSet(['timeout'], v)}
        error={durationError(str(def.timeout))}
        placeholder="7d"
      />
      <InputsEditor inputs={def.inputs} onEdit={onEdit} onSet={onSet} parse={parseYamlText} yamlOf={yamlOf} />
      <TriggersEditor
        triggers={def.triggers}
        users={users}
        onEdit={onEdit}
        onSet={onSet}
        parse={parseYamlText}
        yamlOf={yamlOf}
      />
    </div>
  );
}

function Problems({ problems }: { problems: string[] }) {
  if (problems.length === 0) return null;
  return (
    <ul className="sg-problems" data-testid="panel-problems">
      {problems.map((p) => (
        <li key={p}>{p}</li>
      ))}
    </ul>
  );
}

function StepProperties(props: PanelProps & { step: StepInfo }) {
  const { step, definition, onSet, problems } = props;
  const at = (...keys: Path): Path => [...step.path, ...keys];
  const v = step.step;
  const variables = variablesInScope(definition, step.id);
  const siblings = listSteps(definition).filter((s) => sameList(s.list, step.list) && s.id !== step.id);
  return (
    <div className="sg-panel" data-testid="step-properties" data-step={step.id}>
      <h2>
        {step.type ?? 'step'} <span className="sg-muted">{step.id}</span>
      </h2>
      <Problems problems={problems} />
      <Field
        label="Step id"
        name="step-id"
        value={step.id}
        commitOnBlur
        onChange={(to) => to !== '' && props.onRename(step.id, to)}
        hint="letters, digits and _; unique in the workflow"
      />
      <Field
        label="Display name"
        name="step-name"
        value={str(v.name)}
        onChange={(x) => onSet(at('name'), x)}
      />
      {step.type === 'tool' ? <ToolFields {...props} variables={variables} /> : null}
      {step.type === 'condition' ? <ConditionFields {...props} variables={variables} /> : null}
      {step.type === 'approval' ? <ApprovalFields {...props} variables={variables} /> : null}
      {step.type === 'notify' ? <NotifyFields {...props} variables={variables} /> : null}
      {step.type === 'delay' ? <DelayFields {...props} variables={variables} /> : null}
      {step.type === 'parallel' ? <ParallelFields {...props} /> : null}
      {step.type !== null ? (
        <fieldset className="sg-fieldset">
          <legend>Flow</legend>
          {JUMP_KEYS[step.type].map((key) => (
            <SelectField
              key={key}
              label={`Jump: ${key}`}
              value={str(v[key])}
              onChange={(x) => onSet(at(key), x)}
              options={[
                { value: '', label: key === 'next' || key === 'else' ? '(the following step)' : '(none)' },
                { value: 'end', label: 'end' },
                ...siblings.map((s) => ({ value: s.id, label: s.id })),
              ]}
            />
          ))}
        </fieldset>
      ) : null}
      <Field
        label="Description"
        name="step-description"
        multiline
        value={str(v.description)}
        onChange={(x) => onSet(at('description'), x)}
      />
      <div className="sg-panel-actions">
        <button
          type="button"
          onClick={() => props.onMoveStep(step.id, -1)}
          title="Run it earlier in the list"
        >
          Move up
        </button>
        <button type="button" onClick={() => props.onMoveStep(step.id, 1)} title="Run it later in the list">
          Move down
        </button>
        <button type="button" className="sg-danger" onClick={() => props.onDelete(step.id)}>
          Delete step
        </button>
      </div>
    </div>
  );
}
