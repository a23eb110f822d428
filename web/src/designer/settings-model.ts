// Edits of the workflow's `inputs` (a JSON Schema of `type: object`) and `triggers` for the settings
// forms. Each is a minimal change of the `yaml` Document: only the keys the form owns are written or
// deleted, pairs keep their place (and their comments), and nothing else in the schema is touched.
import { type Document, isMap, isScalar, isSeq, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { isRecord, type Path, renameVariable } from './definition-model';

export const INPUT_TYPES = ['string', 'number', 'integer', 'boolean'] as const;
export const STRING_KINDS = ['plain', 'date', 'email', 'choice'] as const;
export type StringKind = (typeof STRING_KINDS)[number];
export const ROLES = ['viewer', 'member', 'lead', 'manager', 'director', 'admin'] as const;
export const WEBHOOK_AUTH = ['signature', 'token'] as const;

/** Keys of one property the form edits; everything else (pattern, examples, …) is left as it is. */
const OWNED_BY_TYPE: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'format', 'enum'],
  number: ['minimum', 'maximum'],
  integer: ['minimum', 'maximum'],
  boolean: [],
};
const ALL_TYPED_KEYS = ['minLength', 'maxLength', 'format', 'enum', 'minimum', 'maximum', 'default'];

export const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const PROPERTIES: Path = ['inputs', 'properties'];
const REQUIRED: Path = ['inputs', 'required'];

function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (isRecord(value) && Object.keys(value).length === 0)
  );
}

/** Sets `path` to `value`, or deletes just that key when `value` is empty (no cascade to its parents). */
export function setOwn(doc: Document, path: Path, value: unknown): void {
  if (isEmpty(value)) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  // Always a node: a raw value in a flow map (`{ type: string }`) would print the map as a block.
  doc.setIn(path, doc.createNode(value));
}

function propertiesMap(doc: Document): YAMLMap | null {
  const node = doc.getIn(PROPERTIES, true);
  return isMap(node) ? node : null;
}

function pairIndex(map: YAMLMap, key: string): number {
  return map.items.findIndex((p: Pair) => (isScalar(p.key) ? p.key.value : p.key) === key);
}

function requiredSeq(doc: Document): YAMLSeq | null {
  const node = doc.getIn(REQUIRED, true);
  return isSeq(node) ? node : null;
}

function requiredIndex(seq: YAMLSeq, name: string): number {
  return seq.items.findIndex((item) => (isScalar(item) ? item.value : item) === name);
}

/** A property name not used yet: `input1`, `input2`, … */
export function freshInputName(inputs: unknown): string {
  const used = isRecord(inputs) && isRecord(inputs.properties) ? inputs.properties : {};
  for (let n = 1; ; n++) if (!(`input${String(n)}` in used)) return `input${String(n)}`;
}

/** Adds a string property `name` (creating `inputs: {type: object, properties}` when needed). */
export function addInput(doc: Document, name: string): void {
  const inputs = doc.getIn(['inputs'], true);
  if (!isMap(inputs)) {
    doc.setIn(['inputs'], doc.createNode({ type: 'object', properties: { [name]: { type: 'string' } } }));
    return;
  }
  const properties = propertiesMap(doc);
  if (properties === null) {
    doc.setIn(PROPERTIES, doc.createNode({ [name]: { type: 'string' } }));
    return;
  }
  const node = doc.createNode({ type: 'string' });
  // Written like its siblings: `name: { type: string }` when they are all flow maps.
  node.flow = properties.items.length > 0 && properties.items.every((p) => isMap(p.value) && p.value.flow);
  properties.items.push(doc.createPair(name, node));
}

/** Removes property `name` and its entry in `required` (and `required` when that leaves it empty). */
export function removeInput(doc: Document, name: string): void {
  if (doc.hasIn([...PROPERTIES, name])) doc.deleteIn([...PROPERTIES, name]);
  setRequired(doc, name, false);
}

/** Renames property `from` in place (its pair keeps its position and comments) and in `required`. */
export function renameInput(doc: Document, from: string, to: string): void {
  const properties = propertiesMap(doc);
  if (properties === null || from === to || pairIndex(properties, to) >= 0) return;
  const pair = properties.items[pairIndex(properties, from)];
  if (pair === undefined) return;
  if (isScalar(pair.key)) pair.key.value = to;
  else pair.key = doc.createNode(to);
  const seq = requiredSeq(doc);
  const item = seq === null ? undefined : seq.items[requiredIndex(seq, from)];
  if (isScalar(item)) item.value = to;
  else if (seq !== null && item !== undefined) seq.items[requiredIndex(seq, from)] = doc.createNode(to);
  // What reads the input reads the new name: `{{from}}` templates and `if:` expressions.
  renameVariable(doc, from, to);
}

/** Moves property `name` one place up or down (the order a run form shows them in). */
export function moveInput(doc: Document, name: string, delta: -1 | 1): void {
  const properties = propertiesMap(doc);
  if (properties === null) return;
  const from = pairIndex(properties, name);
  const to = from + delta;
  if (from < 0 || to < 0 || to >= properties.items.length) return;
  const [pair] = properties.items.splice(from, 1);
  if (pair !== undefined) properties.items.splice(to, 0, pair);
}

/** Adds `name` to or removes it from `required`; an emptied `required` is deleted. */
export function setRequired(doc: Document, name: string, required: boolean): void {
  const seq = requiredSeq(doc);
  if (required) {
    if (seq !== null) {
      if (requiredIndex(seq, name) < 0) seq.items.push(doc.createNode(name));
      return;
    }
    const node = doc.createNode([name]);
    node.flow = true;
    const inputs = doc.getIn(['inputs'], true);
    if (!isMap(inputs)) return;
    // Next to `type`, where a schema usually says it, rather than after the properties.
    const at = pairIndex(inputs, 'type');
    inputs.items.splice(at < 0 ? inputs.items.length : at + 1, 0, doc.createPair('required', node));
    return;
  }
  if (seq === null) return;
  const index = requiredIndex(seq, name);
  if (index >= 0) seq.items.splice(index, 1);
  if (seq.items.length === 0) doc.deleteIn(REQUIRED);
}

/** Sets one form-owned key of property `name` (an empty value deletes it). */
export function setInputKey(doc: Document, name: string, key: string, value: unknown): void {
  setOwn(doc, [...PROPERTIES, name, key], value);
}

/** Changes a property's type, dropping the form-owned keys that do not fit the new type (and `default`). */
export function setInputType(doc: Document, name: string, type: string): void {
  const keep = OWNED_BY_TYPE[type] ?? [];
  for (const key of ALL_TYPED_KEYS)
    if (!keep.includes(key) && doc.hasIn([...PROPERTIES, name, key]))
      doc.deleteIn([...PROPERTIES, name, key]);
  doc.setIn([...PROPERTIES, name, 'type'], doc.createNode(type));
}

/** What a string property holds: free text, a date, an email, or one of a list (`enum`). */
export function stringKind(property: Record<string, unknown>): StringKind {
  if (Array.isArray(property.enum)) return 'choice';
  if (property.format === 'date') return 'date';
  if (property.format === 'email') return 'email';
  return 'plain';
}

export function setStringKind(doc: Document, name: string, kind: StringKind, current: unknown): void {
  const at = (key: string): Path => [...PROPERTIES, name, key];
  const format = isRecord(current) ? current.format : undefined;
  if (kind !== 'choice' && doc.hasIn(at('enum'))) doc.deleteIn(at('enum'));
  if (kind === 'date' || kind === 'email') doc.setIn(at('format'), doc.createNode(kind));
  // Only the formats this form sets are its own; another (`uri`, …) stays unless a kind replaces it.
  else if ((format === 'date' || format === 'email') && doc.hasIn(at('format'))) doc.deleteIn(at('format'));
  if (kind === 'choice' && !doc.hasIn(at('enum'))) {
    const node = doc.createNode(['option1']);
    node.flow = true;
    doc.setIn(at('enum'), node);
  }
  if (kind !== 'plain' && doc.hasIn(at('maxLength'))) doc.deleteIn(at('maxLength'));
  if (kind !== 'plain' && doc.hasIn(at('minLength'))) doc.deleteIn(at('minLength'));
}

/** Appends a trigger. */
export function addTrigger(doc: Document, trigger: Record<string, unknown>): void {
  const seq = doc.getIn(['triggers'], true);
  if (isSeq(seq)) {
    seq.items.push(doc.createNode(trigger));
    return;
  }
  const node = doc.createNode([trigger]);
  node.flow = false;
  doc.setIn(['triggers'], node);
}

/** Removes trigger `index`. An emptied list stays: `triggers: []` means nobody starts it by hand or hook. */
export function removeTrigger(doc: Document, index: number): void {
  if (doc.hasIn(['triggers', index])) doc.deleteIn(['triggers', index]);
}
