// The workflow settings' forms for `inputs` (one card per property) and `triggers` (one card per
// trigger). Each change is a minimal Document edit (settings-model.ts); a "YAML" toggle shows the raw
// text for what the forms cannot express (nested objects, schedules, other schema keywords).
import { useState } from 'react';
import type { Document } from 'yaml';
import { isEmail } from '../../../translator/email';
import { isRecord, type Path } from './definition-model';
import { CheckField, Field, ListField, SelectField, YamlField } from './fields';
import type { DirectoryUser } from './properties-panel';
import {
  addInput,
  addTrigger,
  freshInputName,
  INPUT_NAME,
  INPUT_TYPES,
  moveInput,
  ROLES,
  removeInput,
  removeTrigger,
  renameInput,
  type StringKind,
  setInputKey,
  setInputType,
  setOwn,
  setRequired,
  setStringKind,
  stringKind,
  WEBHOOK_AUTH,
} from './settings-model';
import { str, strings } from './step-fields';

export type DocEdit = (change: (doc: Document, value: unknown) => void, key?: string | null) => void;

interface YamlParse {
  parse: (text: string) => { ok: true; value: unknown } | { ok: false; message: string };
  yamlOf: (value: unknown) => string;
}

const num = (text: string): unknown =>
  text.trim() === '' || Number.isNaN(Number(text)) ? text.trim() || undefined : Number(text);

function SectionHead({ title, yaml, onToggle }: { title: string; yaml: boolean; onToggle: () => void }) {
  return (
    <div className="sg-section-head">
      <h3>{title}</h3>
      <button
        type="button"
        className="sg-toggle"
        aria-pressed={yaml}
        aria-label={`Edit ${title.toLowerCase()} as YAML`}
        onClick={onToggle}
      >
        YAML
      </button>
    </div>
  );
}

export function InputsEditor({
  inputs,
  onEdit,
  onSet,
  parse,
  yamlOf,
}: { inputs: unknown; onEdit: DocEdit; onSet: (path: Path, value: unknown) => void } & YamlParse) {
  const [yaml, setYaml] = useState(false);
  const schema = isRecord(inputs) ? inputs : {};
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const required = strings(schema.required);
  const names = Object.keys(properties);
  // The form edits a flat `type: object` schema; anything else is for the YAML view.
  const formable =
    inputs === undefined ||
    (isRecord(inputs) &&
      (inputs.type === undefined || inputs.type === 'object') &&
      (inputs.properties === undefined || isRecord(inputs.properties)));
  return (
    <section data-testid="inputs-editor" aria-label="Inputs">
      <SectionHead title="Inputs" yaml={yaml} onToggle={() => setYaml(!yaml)} />
      {yaml ? (
        <YamlField
          label="Inputs (JSON Schema, YAML)"
          value={yamlOf(inputs)}
          onChange={(v) => onSet(['inputs'], v)}
          parse={parse}
        />
      ) : !formable ? (
        <p className="sg-note">This schema is not a flat object of fields; edit it as YAML.</p>
      ) : (
        <>
          {names.length === 0 ? (
            <p className="sg-note">No inputs: a run starts without asking for anything.</p>
          ) : null}
          {names.map((name, i) => (
            <InputCard
              key={name}
              name={name}
              index={i}
              count={names.length}
              property={properties[name]}
              required={required.includes(name)}
              taken={names}
              onEdit={onEdit}
            />
          ))}
          <button
            type="button"
            className="sg-add"
            onClick={() =>
              onEdit((doc, value) =>
                addInput(doc, freshInputName(isRecord(value) ? value.inputs : undefined)),
              )
            }
          >
            Add input
          </button>
        </>
      )}
    </section>
  );
}

function InputCard({
  name,
  index,
  count,
  property,
  required,
  taken,
  onEdit,
}: {
  name: string;
  index: number;
  count: number;
  property: unknown;
  required: boolean;
  taken: string[];
  onEdit: DocEdit;
}) {
  const p = isRecord(property) ? property : {};
  const type = typeof p.type === 'string' ? p.type : '';
  const input: InputShape = {
    name,
    p,
    type,
    known: (INPUT_TYPES as readonly string[]).includes(type),
    kind: stringKind(p),
    n: String(index),
    label: String(index + 1),
    set: (k, value) => onEdit((doc) => setInputKey(doc, name, k, value), `inputs/${name}/${k}`),
  };
  const { label, n, kind } = input;
  const [nameError, setNameError] = useState<string | null>(null);
  const rename = (to: string) => {
    if (to === name) return setNameError(null);
    if (!INPUT_NAME.test(to)) return setNameError('letters, digits and _, not starting with a digit');
    if (taken.includes(to)) return setNameError(`there is already an input '${to}'`);
    setNameError(null);
    onEdit((doc) => renameInput(doc, name, to));
  };
  return (
    <fieldset className="sg-fieldset" data-testid={`input-${name}`}>
      <legend>{name}</legend>
      <div className="sg-row">
        <Field
          label={`Input ${label} name`}
          name={`input-${n}-name`}
          value={name}
          commitOnBlur
          onChange={rename}
          error={nameError}
        />
        <CheckField
          label={`Input ${label} required`}
          name={`input-${n}-required`}
          checked={required}
          onChange={(on) => onEdit((doc) => setRequired(doc, name, on))}
        />
      </div>
      <InputTypeRow input={input} onEdit={onEdit} />
      <Field
        label={`Input ${label} description`}
        name={`input-${n}-description`}
        value={str(p.description)}
        onChange={(x) => input.set('description', x)}
      />
      {type === 'string' && kind === 'choice' ? (
        <ListField
          label={`Input ${label} choices`}
          values={strings(p.enum)}
          onChange={(x) => input.set('enum', x)}
        />
      ) : null}
      <InputBounds input={input} />
      <InputDefault input={input} />
      <div className="sg-card-actions">
        <button
          type="button"
          disabled={index === 0}
          aria-label={`Move input ${name} up`}
          onClick={() => onEdit((doc) => moveInput(doc, name, -1))}
        >
          Move up
        </button>
        <button
          type="button"
          disabled={index === count - 1}
          aria-label={`Move input ${name} down`}
          onClick={() => onEdit((doc) => moveInput(doc, name, 1))}
        >
          Move down
        </button>
        <button
          type="button"
          className="sg-danger"
          aria-label={`Remove input ${name}`}
          onClick={() => onEdit((doc) => removeInput(doc, name))}
        >
          Remove
        </button>
      </div>
    </fieldset>
  );
}

/** One input as its card's sections read it. */
interface InputShape {
  name: string;
  /** The input's schema (empty when it is not a map). */
  p: Record<string, unknown>;
  type: string;
  /** Whether the type is one the form offers (else it is edited as YAML). */
  known: boolean;
  kind: StringKind;
  /** The input's index, and its number as labels show it. */
  n: string;
  label: string;
  /** Sets one key of the input's schema (typing in one field is one undo step). */
  set: (key: string, value: unknown) => void;
}

/** The input's type and, for a string, what kind of string. */
function InputTypeRow({ input, onEdit }: { input: InputShape; onEdit: DocEdit }) {
  const { name, p, type, known, kind, label } = input;
  return (
    <div className="sg-row">
      <SelectField
        label={`Input ${label} type`}
        value={type}
        onChange={(t) => t !== type && onEdit((doc) => setInputType(doc, name, t))}
        options={[
          ...(known ? [] : [{ value: type, label: type === '' ? '(none)' : `${type} (edit as YAML)` }]),
          ...INPUT_TYPES.map((t) => ({ value: t, label: t })),
        ]}
      />
      {type === 'string' ? (
        <SelectField
          label={`Input ${label} format`}
          value={kind}
          onChange={(k) => onEdit((doc) => setStringKind(doc, name, k as StringKind, p))}
          options={[
            { value: 'plain', label: 'text' },
            { value: 'date', label: 'date' },
            { value: 'email', label: 'email' },
            { value: 'choice', label: 'choice from a list' },
          ]}
        />
      ) : null}
    </div>
  );
}

/** A number's minimum and maximum, a plain string's length limits. */
function InputBounds({ input }: { input: InputShape }) {
  const { p, type, kind, n, label, set } = input;
  if (type === 'number' || type === 'integer')
    return (
      <div className="sg-row">
        <Field
          label={`Input ${label} minimum`}
          name={`input-${n}-minimum`}
          value={str(p.minimum)}
          onChange={(x) => set('minimum', num(x))}
        />
        <Field
          label={`Input ${label} maximum`}
          name={`input-${n}-maximum`}
          value={str(p.maximum)}
          onChange={(x) => set('maximum', num(x))}
        />
      </div>
    );
  if (type === 'string' && kind === 'plain')
    return (
      <div className="sg-row">
        <Field
          label={`Input ${label} min length`}
          name={`input-${n}-minLength`}
          value={str(p.minLength)}
          onChange={(x) => set('minLength', num(x))}
        />
        <Field
          label={`Input ${label} max length`}
          name={`input-${n}-maxLength`}
          value={str(p.maxLength)}
          onChange={(x) => set('maxLength', num(x))}
        />
      </div>
    );
  return null;
}

/** The default value, as a choice for booleans and lists of choices, else as text. */
function InputDefault({ input }: { input: InputShape }) {
  const { p, type, known, kind, n, label, set } = input;
  if (type === 'boolean')
    return (
      <SelectField
        label={`Input ${label} default`}
        value={typeof p.default === 'boolean' ? String(p.default) : ''}
        onChange={(x) => set('default', x === '' ? undefined : x === 'true')}
        options={[
          { value: '', label: '(none)' },
          { value: 'true', label: 'true' },
          { value: 'false', label: 'false' },
        ]}
      />
    );
  if (type === 'string' && kind === 'choice')
    return (
      <SelectField
        label={`Input ${label} default`}
        value={str(p.default)}
        onChange={(x) => set('default', x)}
        options={[{ value: '', label: '(none)' }, ...strings(p.enum).map((o) => ({ value: o, label: o }))]}
      />
    );
  if (known)
    return (
      <Field
        label={`Input ${label} default`}
        name={`input-${n}-default`}
        value={str(p.default)}
        onChange={(x) => set('default', type === 'string' ? x : num(x))}
      />
    );
  return null;
}

export function TriggersEditor({
  triggers,
  users,
  onEdit,
  onSet,
  parse,
  yamlOf,
}: {
  triggers: unknown;
  users: DirectoryUser[];
  onEdit: DocEdit;
  onSet: (path: Path, value: unknown) => void;
} & YamlParse) {
  const [yaml, setYaml] = useState(false);
  const list = Array.isArray(triggers) ? triggers : [];
  const formable = triggers === undefined || Array.isArray(triggers);
  const emails = users.map((u) => u.email);
  return (
    <section data-testid="triggers-editor" aria-label="Triggers">
      <SectionHead title="Triggers" yaml={yaml} onToggle={() => setYaml(!yaml)} />
      {yaml ? (
        <YamlField
          label="Triggers (YAML list)"
          value={yamlOf(triggers)}
          onChange={(v) => onSet(['triggers'], v)}
          parse={parse}
        />
      ) : !formable ? (
        <p className="sg-note">The triggers are not a list; edit them as YAML.</p>
      ) : (
        <>
          {triggers === undefined ? (
            <p className="sg-note">None set: members can start it by hand (the default).</p>
          ) : list.length === 0 ? (
            <p className="sg-note">An empty list: nobody can start it.</p>
          ) : null}
          {list.map((trigger, i) => (
            <TriggerCard
              // biome-ignore lint/suspicious/noArrayIndexKey: triggers have no identity but their place
              key={i}
              index={i}
              trigger={trigger}
              emails={emails}
              onEdit={onEdit}
            />
          ))}
          <div className="sg-card-actions sg-add">
            <button type="button" onClick={() => onEdit((doc) => addTrigger(doc, { type: 'manual' }))}>
              Add manual trigger
            </button>
            <button type="button" onClick={() => onEdit((doc) => addTrigger(doc, { type: 'webhook' }))}>
              Add webhook trigger
            </button>
          </div>
        </>
      )}
    </section>
  );
}

function TriggerCard({
  index,
  trigger,
  emails,
  onEdit,
}: {
  index: number;
  trigger: unknown;
  emails: string[];
  onEdit: DocEdit;
}) {
  const t = isRecord(trigger) ? trigger : {};
  const type = str(t.type);
  const n = String(index + 1);
  const set = (k: string, value: unknown) =>
    onEdit((doc) => setOwn(doc, ['triggers', index, k], value), `triggers/${String(index)}/${k}`);
  const runAs = str(t.runAs);
  return (
    <fieldset className="sg-fieldset" data-testid={`trigger-${n}`}>
      <legend>
        Trigger {n}: {type || '?'}
      </legend>
      {type === 'manual' ? (
        <SelectField
          label={`Trigger ${n} minimum role`}
          value={str(t.minRole)}
          onChange={(x) => set('minRole', x)}
          options={[{ value: '', label: 'member (default)' }, ...ROLES.map((r) => ({ value: r, label: r }))]}
        />
      ) : type === 'webhook' ? (
        <>
          <SelectField
            label={`Trigger ${n} authentication`}
            value={str(t.auth)}
            onChange={(x) => set('auth', x)}
            options={[
              { value: '', label: 'signature (default)' },
              ...WEBHOOK_AUTH.map((a) => ({
                value: a,
                label: a === 'signature' ? 'signature (Standard Webhooks HMAC)' : 'token',
              })),
            ]}
          />
          <Field
            label={`Trigger ${n} runs as`}
            name={`trigger-${n}-runAs`}
            value={runAs}
            onChange={(x) => set('runAs', x.trim())}
            suggestions={emails}
            placeholder="ops-bot@example.com"
            error={runAs !== '' && !isEmail(runAs) ? 'an email address' : null}
            hint="the identity a hook's run acts as"
          />
        </>
      ) : (
        <p className="sg-note">A {type || 'untyped'} trigger: edit it as YAML.</p>
      )}
      <div className="sg-card-actions">
        <button
          type="button"
          className="sg-danger"
          aria-label={`Remove trigger ${n}`}
          onClick={() => onEdit((doc) => removeTrigger(doc, index))}
        >
          Remove
        </button>
      </div>
    </fieldset>
  );
}
