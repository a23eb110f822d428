// A form generated from a workflow's `inputs` schema: one labelled control per property (number, text,
// choice, yes/no, JSON for objects and lists), its description as help, and the error the API named
// (`field: input.amount`) next to the control at fault. Errors wait for a touch or a submit and go as
// soon as the value is valid.
import { useId, useRef, useState } from 'react';
import type { JsonSchema } from './types';
import { InlineMarkdown } from './ui';

export type Draft = Record<string, string | boolean>;

function kind(schema: JsonSchema): 'number' | 'integer' | 'boolean' | 'string' | 'json' | 'enum' {
  if (Array.isArray(schema.enum)) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'number' || type === 'integer' || type === 'boolean' || type === 'string') return type;
  if (type === 'object' || type === 'array') return 'json';
  return 'string';
}

/** The starting values: each property's default, or empty. */
export function initialDraft(
  schema: JsonSchema | null | undefined,
  values: Record<string, unknown> = {},
): Draft {
  const draft: Draft = {};
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const value = values[name] ?? property.default;
    const k = kind(property);
    if (k === 'boolean') draft[name] = value === true;
    else if (value === undefined || value === null) draft[name] = '';
    else draft[name] = k === 'json' ? JSON.stringify(value, null, 2) : String(value);
  }
  return draft;
}

/** What is wrong with one field's value, or null: required and empty, not a number, not JSON. */
export function fieldProblem(
  name: string,
  property: JsonSchema,
  required: boolean,
  raw: string | boolean | undefined,
): string | null {
  const k = kind(property);
  if (k === 'boolean') return null;
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '') return required ? `${labelOf(name, property)} is required` : null;
  if (k === 'number' || k === 'integer') {
    const n = Number(text);
    if (!Number.isFinite(n) || (k === 'integer' && !Number.isInteger(n)))
      return `${labelOf(name, property)} must be a${k === 'integer' ? 'n integer' : ' number'}`;
  }
  if (k === 'json') {
    try {
      JSON.parse(text);
    } catch {
      return `${labelOf(name, property)} must be JSON`;
    }
  }
  return null;
}

/** The input object the draft stands for, or the first field that cannot be read (as `input.<name>`). */
export function draftToInput(
  schema: JsonSchema | null | undefined,
  draft: Draft,
): { input: Record<string, unknown> } | { field: string; message: string } {
  const input: Record<string, unknown> = {};
  const required = new Set(schema?.required ?? []);
  for (const [name, property] of Object.entries(schema?.properties ?? {})) {
    const raw = draft[name];
    const problem = fieldProblem(name, property, required.has(name), raw);
    if (problem !== null) return { field: `input.${name}`, message: problem };
    const k = kind(property);
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (k === 'boolean') input[name] = raw === true;
    else if (text === '') continue;
    else if (k === 'number' || k === 'integer') input[name] = Number(text);
    else if (k === 'json') input[name] = JSON.parse(text);
    else if (k === 'enum') input[name] = (property.enum ?? []).find((o) => String(o) === text) ?? text;
    else input[name] = typeof raw === 'string' ? raw : '';
  }
  return { input };
}

function labelOf(name: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const words = name.replace(/[_-]+/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The field the API blamed, as the property name it stands for (`input.amount` → `amount`). */
export function fieldName(field: string | undefined): string | undefined {
  if (field === undefined) return undefined;
  return field.replace(/^input\.?/, '').split('.')[0] || undefined;
}

/**
 * What a problem's detail says about one field: the API joins its findings as `amount: 'amount' must be
 * >= 0; description: ...`, so the part for `input.amount` is picked out (else the whole detail).
 */
export function fieldMessage(detail: string, field: string): string {
  const name = field.replace(/^input\./, '');
  const part = detail.split('; ').find((p) => p.startsWith(`${name}: `));
  return part === undefined ? detail : part.slice(name.length + 2);
}

/**
 * The form's fields. A field's own problem (required, not a number, not JSON) shows once it was left
 * (blurred) or the form was submitted (`showAll`); the `error` given for a field (the submit's or the
 * API's) shows until its value changes, and then only what is still wrong with the new value — so an
 * error goes as soon as the value is valid, and nothing is red before the user did anything.
 */
export function InputFields({
  schema,
  draft,
  onChange,
  error,
  showAll = false,
}: {
  schema: JsonSchema | null | undefined;
  draft: Draft;
  onChange: (draft: Draft) => void;
  /** The field at fault and why. */
  error?: { field?: string; message: string } | undefined;
  /** Check every field (the form was submitted), not only those the user left. */
  showAll?: boolean;
}) {
  const base = useId();
  // The fields left so far, for this schema (another workflow's form starts untouched).
  const [left, setLeft] = useState<{ schema: typeof schema; names: Record<string, boolean> }>({
    schema,
    names: {},
  });
  const touched = left.schema === schema ? left.names : {};
  const blamed = fieldName(error?.field);
  // The blamed field's value when the error was given: the error is stale once the value moves on.
  const given = useRef<{ error: typeof error; value: string | boolean | undefined }>({
    error: undefined,
    value: undefined,
  });
  if (given.current.error !== error)
    given.current = { error, value: blamed === undefined ? undefined : draft[blamed] };
  const properties = Object.entries(schema?.properties ?? {});
  if (properties.length === 0) return <p className="muted">This workflow takes no input.</p>;
  const required = new Set(schema?.required ?? []);
  const messageOf = (name: string, property: JsonSchema): string | undefined => {
    if (error && blamed === name && draft[name] === given.current.value) return error.message;
    if (!(showAll || touched[name] || blamed === name)) return undefined;
    return fieldProblem(name, property, required.has(name), draft[name]) ?? undefined;
  };
  return (
    <div className="input-fields">
      {properties.map(([name, property]) => {
        const message = messageOf(name, property);
        return (
          <InputField
            key={name}
            id={`${base}-${name}`}
            name={name}
            property={property}
            required={required.has(name)}
            value={draft[name]}
            onChange={(v) => onChange({ ...draft, [name]: v })}
            onBlur={() =>
              setLeft((l) => ({ schema, names: { ...(l.schema === schema ? l.names : {}), [name]: true } }))
            }
            error={message === undefined ? undefined : { message }}
          />
        );
      })}
    </div>
  );
}

type Control = {
  id: string;
  name: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
  onBlur: () => void;
};

/** One input property: its label, control, help and the message of the API when it blamed it. */
function InputField(props: {
  id: string;
  name: string;
  property: JsonSchema;
  required: boolean;
  value: string | boolean | undefined;
  onChange: (value: string | boolean) => void;
  onBlur: () => void;
  error: { message: string } | undefined;
}) {
  const { id, name, property, value, error } = props;
  const invalid = error !== undefined;
  const describedBy = [property.description ? `${id}-help` : '', invalid ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  const common: Control = {
    id,
    name,
    'aria-invalid': invalid || undefined,
    'aria-describedby': describedBy || undefined,
    onBlur: props.onBlur,
  };
  return (
    <div className={invalid ? 'field field-invalid' : 'field'}>
      {kind(property) === 'boolean' ? (
        <label className="checkbox" htmlFor={id}>
          <input
            type="checkbox"
            {...common}
            checked={value === true}
            onChange={(e) => props.onChange(e.target.checked)}
          />
          <span>{labelOf(name, property)}</span>
        </label>
      ) : (
        <>
          <label htmlFor={id}>
            {labelOf(name, property)}
            {props.required ? (
              <span className="required" aria-hidden="true">
                {' '}
                *
              </span>
            ) : null}
          </label>
          <InputControl
            common={common}
            property={property}
            required={props.required}
            value={value}
            onChange={props.onChange}
          />
        </>
      )}
      {property.description ? (
        <small id={`${id}-help`} className="help">
          <InlineMarkdown text={property.description} />
        </small>
      ) : null}
      {error ? (
        <small id={`${id}-error`} className="field-error" role="alert">
          {error.message}
        </small>
      ) : null}
    </div>
  );
}

/** The control for a property that is not a checkbox: a list of its values, a text area or an input. */
function InputControl(props: {
  common: Control;
  property: JsonSchema;
  required: boolean;
  value: string | boolean | undefined;
  onChange: (value: string) => void;
}) {
  const { common, property } = props;
  const k = kind(property);
  const value = String(props.value ?? '');
  const set = (v: string) => props.onChange(v);
  if (k === 'enum')
    return (
      <select {...common} value={value} onChange={(e) => set(e.target.value)}>
        <option value="">{props.required ? 'Choose…' : '—'}</option>
        {(property.enum ?? []).map((option) => (
          <option key={String(option)} value={String(option)}>
            {String(option)}
          </option>
        ))}
      </select>
    );
  if (k === 'json')
    return (
      <textarea {...common} rows={4} className="mono" value={value} onChange={(e) => set(e.target.value)} />
    );
  if (property.maxLength !== undefined && property.maxLength > 200)
    return (
      <textarea
        {...common}
        rows={2}
        maxLength={property.maxLength}
        value={value}
        onChange={(e) => set(e.target.value)}
      />
    );
  return (
    <input
      {...common}
      type={
        k === 'number' || k === 'integer'
          ? 'number'
          : property.format === 'email'
            ? 'email'
            : property.format === 'date'
              ? 'date'
              : 'text'
      }
      inputMode={k === 'number' ? 'decimal' : k === 'integer' ? 'numeric' : undefined}
      step={k === 'number' ? 'any' : undefined}
      min={property.minimum}
      max={property.maximum}
      maxLength={property.maxLength}
      value={value}
      onChange={(e) => set(e.target.value)}
    />
  );
}
