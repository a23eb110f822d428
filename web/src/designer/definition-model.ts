// The designer's one model: the definition text, edited through the `yaml` Document so that every
// designer change is a minimal setIn/deleteIn and comments the designer did not touch survive. JSON
// sources are parsed the same way (JSON is YAML) and printed back as JSON.
import { type Document, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { PRINT_OPTIONS, spliceEdit } from './source-splice.js';

export type SourceFormat = 'yaml' | 'json';
export type Path = Array<string | number>;

export const STEP_TYPES = ['tool', 'condition', 'approval', 'parallel', 'notify', 'delay'] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** The keys that name a jump target, per step type, in the order their handles are drawn. */
export const JUMP_KEYS: Record<StepType, readonly JumpKey[]> = {
  tool: ['next', 'onError'],
  condition: ['then', 'else'],
  approval: ['next', 'onReject', 'onTimeout'],
  parallel: ['next', 'onError'],
  notify: ['next', 'onError'],
  delay: ['next'],
};
export type JumpKey = 'next' | 'then' | 'else' | 'onError' | 'onReject' | 'onTimeout';
/** Keys whose absence means "the following step in the list" (or the end after the last one). */
export const FALLTHROUGH_KEYS: ReadonlySet<JumpKey> = new Set(['next', 'else']);

export type StepObject = Record<string, unknown>;

export interface StepInfo {
  id: string;
  type: StepType | null;
  step: StepObject;
  /** Path of the step in the definition, e.g. ['steps', 2] or ['steps', 2, 'branches', 0, 'steps', 1]. */
  path: Path;
  /** Path of the list that holds it. */
  list: Path;
  index: number;
  /** The id of the list's following step, or null after the last one. */
  following: string | null;
  /** The parallel step and branch index whose branch holds it, or null at the top level. */
  parent: { id: string; branch: number } | null;
}

export interface ParsedSource {
  doc: Document;
  /** The definition as plain data (null when the text does not parse). */
  value: unknown;
  errors: Array<{ message: string; line: number; col: number }>;
}

export function parseSource(text: string): ParsedSource {
  const doc = parseDocument(text, { keepSourceTokens: false, prettyErrors: false });
  const errors = doc.errors.map((e) => ({
    message: e.message.split('\n')[0] ?? e.message,
    line: e.linePos?.[0]?.line ?? 1,
    col: e.linePos?.[0]?.col ?? 1,
  }));
  return { doc, value: errors.length === 0 ? doc.toJS() : null, errors };
}

export function printSource(doc: Document, format: SourceFormat): string {
  return format === 'json' ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString(PRINT_OPTIONS);
}

/** Applies `change` to a fresh Document of `text` and prints it back; returns `text` on parse errors. */
export function editSource(
  text: string,
  format: SourceFormat,
  change: (doc: Document, value: unknown) => void,
): string {
  const parsed = parseSource(text);
  if (parsed.errors.length > 0) return text;
  change(parsed.doc, parsed.value);
  return format === 'json' ? printSource(parsed.doc, format) : spliceEdit(text, parsed.doc);
}

export const BLANK_SOURCE = 'version: 1\n';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asStepType(value: unknown): StepType | null {
  return (STEP_TYPES as readonly unknown[]).includes(value) ? (value as StepType) : null;
}

/** Every step of the definition, parallel branches included, in definition order. */
export function listSteps(definition: unknown): StepInfo[] {
  const out: StepInfo[] = [];
  const walk = (list: unknown, listPath: Path, parent: StepInfo['parent']) => {
    if (!Array.isArray(list)) return;
    list.forEach((step, index) => {
      if (!isRecord(step)) return;
      const id = typeof step.id === 'string' ? step.id : `#${listPath.join('/')}/${index}`;
      const nextStep = list[index + 1];
      const info: StepInfo = {
        id,
        type: asStepType(step.type),
        step,
        path: [...listPath, index],
        list: listPath,
        index,
        following: isRecord(nextStep) && typeof nextStep.id === 'string' ? nextStep.id : null,
        parent,
      };
      out.push(info);
      if (info.type === 'parallel' && Array.isArray(step.branches))
        step.branches.forEach((branch, b) => {
          if (isRecord(branch)) walk(branch.steps, [...info.path, 'branches', b, 'steps'], { id, branch: b });
        });
    });
  };
  walk(isRecord(definition) ? definition.steps : undefined, ['steps'], null);
  return out;
}

export function findStep(definition: unknown, id: string): StepInfo | undefined {
  return listSteps(definition).find((s) => s.id === id);
}

export function sameList(a: Path, b: Path): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** A step id not used yet: `tool_1`, `tool_2`, ... */
export function freshStepId(definition: unknown, type: StepType): string {
  const used = new Set(listSteps(definition).map((s) => s.id));
  for (let n = 1; ; n++) if (!used.has(`${type}_${n}`)) return `${type}_${n}`;
}

/** What a new step of each type starts with: only what the format requires and cannot be guessed wrong. */
export function newStep(type: StepType, id: string): StepObject {
  switch (type) {
    case 'notify':
      return { id, type, channel: 'email' };
    case 'parallel':
      return {
        id,
        type,
        branches: [
          { name: 'a', steps: [] },
          { name: 'b', steps: [] },
        ],
      };
    case 'delay':
      return { id, type, duration: '1h' };
    default:
      return { id, type };
  }
}

/** Appends a step to the list at `list` (the top level or a branch). */
export function addStep(doc: Document, list: Path, step: StepObject): void {
  if (!isSeq(doc.getIn(list, true))) doc.setIn(list, doc.createNode([]));
  const seq = doc.getIn(list, true);
  if (isSeq(seq)) {
    seq.flow = false;
    seq.items.push(doc.createNode(step));
  }
}

/** Jump keys of steps in `list` that name `target`. */
function referencesTo(definition: unknown, list: Path, target: string): Array<{ path: Path; key: JumpKey }> {
  return listSteps(definition)
    .filter((s) => sameList(s.list, list) && s.type !== null)
    .flatMap((s) =>
      JUMP_KEYS[s.type as StepType].filter((k) => s.step[k] === target).map((key) => ({ path: s.path, key })),
    );
}

/** Deletes a step and the jumps that named it (they fall back to their defaults). */
export function removeStep(doc: Document, definition: unknown, id: string): void {
  const info = findStep(definition, id);
  if (info === undefined) return;
  for (const ref of referencesTo(definition, info.list, id)) doc.deleteIn([...ref.path, ref.key]);
  doc.deleteIn(info.path);
}

/**
 * Renames a step and every jump in its list that named it. A step without an `output` keeps its result
 * under its id, so `{{from.…}}` templates and condition expressions (`if: from.total > 5`) that read it are
 * renamed too; with an `output`, they read that name and stay.
 */
export function renameStep(doc: Document, definition: unknown, from: string, to: string): void {
  const info = findStep(definition, from);
  if (info === undefined || from === to) return;
  for (const ref of referencesTo(definition, info.list, from)) doc.setIn([...ref.path, ref.key], to);
  doc.setIn([...info.path, 'id'], to);
  if (typeof info.step.output !== 'string') renameVariable(doc, from, to);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rewrites reads of variable `from` as `to`: inside `{{ … }}` in every string, and in `if:` expressions. */
export function renameVariable(doc: Document, from: string, to: string): void {
  // A path that starts with the name: `{{from}}`, `{{ from.x }}`, `{{from[0]}}`.
  const inTemplate = new RegExp(`(\\{\\{\\s*)${escapeRegExp(from)}(?=[\\s.[}])`, 'g');
  // The name as a whole identifier that is not a property of something else (`a.from`) or quoted.
  const inExpression = new RegExp(`(?<![\\w.'"$])${escapeRegExp(from)}(?![\\w'"])`, 'g');
  visit(doc, {
    Pair(_, pair) {
      if (
        isScalar(pair.key) &&
        pair.key.value === 'if' &&
        isScalar(pair.value) &&
        typeof pair.value.value === 'string'
      )
        pair.value.value = pair.value.value.replace(inExpression, to);
    },
    Scalar(_, node) {
      if (typeof node.value === 'string' && node.value.includes('{{'))
        node.value = node.value.replace(inTemplate, `$1${to}`);
    },
  });
}

/**
 * Writes the edge `source --key--> target` (a step id of the same list, or 'end') as the format means it:
 * a fall-through key that points at the following step is left out, everything else is written.
 */
export function connect(
  doc: Document,
  definition: unknown,
  source: string,
  key: JumpKey,
  target: string,
): string | null {
  const info = findStep(definition, source);
  if (info === undefined || info.type === null) return `no step '${source}'`;
  if (!JUMP_KEYS[info.type].includes(key)) return `a ${info.type} step has no '${key}'`;
  if (target !== 'end') {
    const to = findStep(definition, target);
    if (to === undefined) return `no step '${target}'`;
    if (!sameList(to.list, info.list))
      return 'a step can only jump within its own list (a parallel branch jumps only within its branch)';
  }
  if (FALLTHROUGH_KEYS.has(key) && target === info.following) doc.deleteIn([...info.path, key]);
  else doc.setIn([...info.path, key], target);
  return null;
}

/**
 * Removes the edge `source --key-->`. An explicit jump is deleted (a fall-through key falls back to the
 * following step); removing an implied fall-through makes the step end its list instead.
 */
export function disconnect(
  doc: Document,
  definition: unknown,
  source: string,
  key: JumpKey,
  implicit: boolean,
): void {
  const info = findStep(definition, source);
  if (info === undefined) return;
  if (implicit) doc.setIn([...info.path, key], 'end');
  else doc.deleteIn([...info.path, key]);
}

/** Sets a value at `path`, or deletes it (and maps it leaves empty, up to the step) when it is empty. */
export function setValue(doc: Document, path: Path, value: unknown): void {
  const empty =
    value === undefined ||
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (isRecord(value) && Object.keys(value).length === 0);
  if (!empty) {
    doc.setIn(path, typeof value === 'object' && value !== null ? doc.createNode(value) : value);
    return;
  }
  if (!doc.hasIn(path)) return;
  doc.deleteIn(path);
  for (let end = path.length - 1; end > 0; end--) {
    const parentPath = path.slice(0, end);
    const parent = doc.getIn(parentPath, true);
    // Stop at a step (its parent is a list) and at anything that still holds something.
    if (typeof parentPath[parentPath.length - 1] === 'number') break;
    if (!isMap(parent) || parent.items.length > 0) break;
    doc.deleteIn(parentPath);
  }
}

/** Moves a step one place up or down in its list (its implicit edges change with it). */
export function moveStep(doc: Document, definition: unknown, id: string, delta: -1 | 1): void {
  const info = findStep(definition, id);
  if (info === undefined) return;
  const seq = doc.getIn(info.list, true);
  if (!isSeq(seq)) return;
  const to = info.index + delta;
  if (to < 0 || to >= seq.items.length) return;
  const [item] = seq.items.splice(info.index, 1);
  seq.items.splice(to, 0, item);
}

/** The id of the step a diagnostic's JSON pointer (/steps/3/branches/0/steps/1/tool) concerns, if any. */
export function stepOfPointer(definition: unknown, pointer: string): string | null {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = definition;
  let found: string | null = null;
  for (let i = 0; i < segments.length; i++) {
    const key = segments[i] as string;
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isRecord(node)) node = node[key];
    else break;
    if (segments[i - 1] === 'steps' && isRecord(node) && typeof node.id === 'string') found = node.id;
  }
  return found;
}
