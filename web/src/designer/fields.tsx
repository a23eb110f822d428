// Form fields of the properties panel. Each keeps a draft while it has focus (so "5." or half a
// template can be typed) and reports every change; the panel turns changes into definition edits.
import { type KeyboardEvent, type ReactNode, useId, useRef, useState } from 'react';

export interface FieldProps {
  label: string;
  value: string;
  onChange: (text: string) => void;
  /** Commit only on blur or Enter (for renames), not on every key. */
  commitOnBlur?: boolean;
  multiline?: boolean;
  placeholder?: string;
  hint?: ReactNode;
  error?: string | null;
  /** Variables offered after `{{` (or, with `bare`, for the word being typed, as in conditions). */
  variables?: string[];
  bare?: boolean;
  suggestions?: string[];
  name?: string;
  /** Called on Enter (when no completion is open). */
  onEnter?: () => void;
}

interface Completions {
  options: string[];
  /** Where the word being completed starts. */
  from: number;
  active: number;
}

/**
 * A field's draft while it has focus and its completion menu: typing reports changes (or keeps them
 * until blur or Enter with `commitOnBlur`) and opens the variables that fit the word at the caret.
 */
function useFieldDraft(props: FieldProps) {
  const { value, onChange, commitOnBlur, multiline, variables } = props;
  const [draft, setDraft] = useState<string | null>(null);
  const [menu, setMenu] = useState<Completions | null>(null);
  const input = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const shown = draft ?? value;

  const update = (text: string, caret: number | null) => {
    setDraft(text);
    if (!commitOnBlur) onChange(text);
    if (variables && caret !== null) {
      const open = (props.bare ? /(?:^|[^\w.'"])([A-Za-z_][\w.]*)$/ : /\{\{\s*([\w.]*)$/).exec(
        text.slice(0, caret),
      );
      if (open) {
        const typed = open[1] ?? '';
        const options = variables.filter((v) => v.startsWith(typed) && v !== typed).slice(0, 12);
        setMenu(options.length > 0 ? { options, from: caret - typed.length, active: 0 } : null);
      } else setMenu(null);
    }
  };

  const pick = (option: string) => {
    if (menu === null) return;
    const el = input.current;
    const caret = el?.selectionStart ?? shown.length;
    const after = shown.slice(caret);
    const closing = props.bare || after.startsWith('}}') ? '' : '}}';
    const text = `${shown.slice(0, menu.from)}${option}${closing}${after}`;
    setMenu(null);
    update(text, null);
    const at = menu.from + option.length + closing.length;
    requestAnimationFrame(() => el?.setSelectionRange(at, at));
  };

  const finish = () => {
    if (commitOnBlur && draft !== null && draft !== value) onChange(draft);
    setDraft(null);
    setMenu(null);
  };

  /** Arrows, Enter, Tab and Escape in an open menu; true when the key was the menu's. */
  const menuKey = (e: KeyboardEvent): boolean => {
    if (menu === null) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setMenu({ ...menu, active: (menu.active + step + menu.options.length) % menu.options.length });
      return true;
    }
    if (e.key === 'Enter' || e.key === 'Tab') {
      const option = menu.options[menu.active];
      if (option !== undefined) {
        e.preventDefault();
        pick(option);
        return true;
      }
    }
    if (e.key === 'Escape') {
      setMenu(null);
      return true;
    }
    return false;
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (menuKey(e)) return;
    if (e.key === 'Enter' && !multiline && props.onEnter) {
      e.preventDefault();
      props.onEnter();
      return;
    }
    if (e.key === 'Enter' && !multiline && commitOnBlur) {
      e.preventDefault();
      if (draft !== null && draft !== value) onChange(draft);
      setDraft(null);
    }
  };

  return {
    input,
    shown,
    menu,
    pick,
    onFocus: () => setDraft(value),
    onBlur: finish,
    onChange: (e: { target: HTMLInputElement | HTMLTextAreaElement }) =>
      update(e.target.value, e.target.selectionStart),
    onKeyDown,
  };
}

export function Field(props: FieldProps) {
  const { label, multiline, placeholder, hint, error, suggestions } = props;
  const id = useId();
  const field = useFieldDraft(props);
  const { menu } = field;

  const common = {
    id,
    ref: field.input,
    name: props.name ?? label,
    value: field.shown,
    placeholder,
    'aria-invalid': error ? true : undefined,
    onFocus: field.onFocus,
    onBlur: field.onBlur,
    onChange: field.onChange,
    onKeyDown: field.onKeyDown,
  };
  const listId = suggestions ? `${id}-list` : undefined;
  return (
    <div className={`sg-field${error ? ' sg-field-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea rows={3} {...common} />
      ) : (
        <input type="text" list={listId} autoComplete="off" {...common} />
      )}
      {suggestions ? (
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      ) : null}
      {menu ? (
        <div className="sg-completions" role="listbox">
          {menu.options.map((option, i) => (
            <div
              key={option}
              role="option"
              tabIndex={-1}
              aria-selected={i === menu.active}
              className={i === menu.active ? 'sg-active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                field.pick(option);
              }}
            >
              {option}
            </div>
          ))}
        </div>
      ) : null}
      {error ? (
        <div className="sg-field-message sg-error-text">{error}</div>
      ) : hint ? (
        <div className="sg-field-message">{hint}</div>
      ) : null}
    </div>
  );
}

export interface SelectFieldProps {
  label: string;
  value: string;
  options: Array<{ value: string; label: string }>;
  onChange: (value: string) => void;
}

export function SelectField({ label, value, options, onChange }: SelectFieldProps) {
  const id = useId();
  return (
    <div className="sg-field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

export interface ListFieldProps {
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  suggestions?: string[];
  variables?: string[];
  placeholder?: string;
}

/** A list of strings as removable chips, with an input (and suggestions) to add one. */
export function ListField({ label, values, onChange, suggestions, variables, placeholder }: ListFieldProps) {
  const [text, setText] = useState('');
  const add = () => {
    const value = text.trim();
    if (value === '') return;
    onChange([...values, value]);
    setText('');
  };
  return (
    <div className="sg-field sg-list-field">
      <span className="sg-label">{label}</span>
      <div className="sg-chips">
        {values.map((v, i) => (
          <span className="sg-chip" key={`${v}-${String(i)}`}>
            {v}
            <button
              type="button"
              aria-label={`Remove ${v}`}
              onClick={() => onChange(values.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </span>
        ))}
      </div>
      <div className="sg-list-add">
        <Field
          label={`Add to ${label.toLowerCase()}`}
          value={text}
          onChange={setText}
          onEnter={add}
          {...(suggestions ? { suggestions } : {})}
          {...(variables ? { variables } : {})}
          {...(placeholder ? { placeholder } : {})}
        />
        <button type="button" onClick={add}>
          Add
        </button>
      </div>
    </div>
  );
}

/** A field holding YAML text (a JSON Schema, a list of triggers): committed on blur when it parses. */
export function YamlField({
  label,
  value,
  onChange,
  parse,
}: {
  label: string;
  value: string;
  onChange: (value: unknown) => void;
  parse: (text: string) => { ok: true; value: unknown } | { ok: false; message: string };
}) {
  const id = useId();
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className={`sg-field${error ? ' sg-field-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        name={label}
        className="sg-yaml-field"
        rows={Math.min(12, Math.max(3, (draft ?? value).split('\n').length + 1))}
        value={draft ?? value}
        spellCheck={false}
        onFocus={() => setDraft(value)}
        onChange={(e) => {
          setDraft(e.target.value);
          const result = parse(e.target.value);
          setError(result.ok ? null : result.message);
        }}
        onBlur={() => {
          if (draft !== null && draft !== value) {
            const result = parse(draft);
            if (result.ok) onChange(result.value);
          }
          setDraft(null);
          setError(null);
        }}
      />
      {error ? <div className="sg-field-message sg-error-text">{error}</div> : null}
    </div>
  );
}

/** A labelled checkbox. */
export function CheckField({
  label,
  checked,
  onChange,
  name,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  name?: string;
}) {
  const id = useId();
  return (
    <div className="sg-field sg-check">
      <input
        id={id}
        type="checkbox"
        name={name ?? label}
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}
