// Salvage: a definition that fails the structural checks, with each broken part removed or replaced by a
// neutral stand-in, so that the checks across steps (targets, variables, durations, approvers, ...) can
// still run on the sound parts and one validation reports everything it can. What was guessed is recorded,
// so the caller drops the findings a guess could have caused.
import type { z } from 'zod';
import { STEP_ID_PATTERN, type WorkflowDefinition, WorkflowDefinitionSchema } from './definition.js';
import { closestMatch, type PathSegment } from './diagnostics.js';

export interface Salvage {
  definition: WorkflowDefinition;
  /** Places whose findings are dropped: stand-ins and removed fields (nothing there was checked). */
  skipped: PathSegment[][];
  /** Steps that lost or had a field replaced: their checks across fields are dropped. */
  repairedSteps: PathSegment[][];
  /** False when a jump had to be guessed: reachability, loops and "set on every path" are not reported. */
  flowKnown: boolean;
  /** False when an input's or a result's name is unknown: "unknown variable" is not reported. */
  variablesKnown: boolean;
  /** False when a step's id is missing or broken: a jump to a step that does not exist may mean that one. */
  idsKnown: boolean;
}

type Draft = Record<string, unknown>;
type Issue = z.core.$ZodIssue;

const STEP_TYPES = ['tool', 'condition', 'approval', 'parallel', 'notify', 'delay'] as const;
type StepType = (typeof STEP_TYPES)[number];
const JUMP_KEYS: Readonly<Record<StepType, readonly string[]>> = {
  tool: ['next', 'onError'],
  condition: ['next', 'then', 'else'],
  approval: ['next', 'onReject', 'onTimeout'],
  parallel: ['next', 'onError'],
  notify: ['next', 'onError'],
  delay: ['next'],
};
/** The condition's required jump (a constant: an object literal's `then` reads as a thenable to the lint). */
const THEN = 'then';
const ALL_JUMP_KEYS = ['next', 'then', 'else', 'onError', 'onReject', 'onTimeout'];
/** Required fields other than id, type and jumps, each with a value that reads nothing and is always valid. */
const NEUTRAL_REQUIRED: Readonly<Record<string, unknown>> = {
  tool: 'stand-in',
  if: 'true',
  approvers: ['role:admin'],
  channel: 'email',
  to: 'stand-in@example.com',
  message: '',
};
/** Top-level keys whose value, when broken, can be put right without hiding anything else. */
const TOP_LEVEL_STAND_INS: Readonly<Record<string, unknown>> = { version: 1, id: 'workflow' };
/** How many rounds of repairs: a repair can uncover an issue zod reported only once the step's type was known. */
const MAX_ROUNDS = 4;

/** The definition with its broken parts set aside, or undefined when not even its shape can be salvaged. */
export function salvageDefinition(value: unknown): Salvage | undefined {
  if (!isPlainObject(value)) return undefined;
  const draft = cloneData(value) as Draft;
  const salvage = new Salvager(draft);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const parsed = WorkflowDefinitionSchema.safeParse(draft);
    if (parsed.success) return salvage.result(parsed.data);
    const repaired = parsed.error.issues.map((issue) => salvage.repair(issue)).filter(Boolean).length;
    if (repaired === 0) return undefined;
  }
  return undefined;
}

class Salvager {
  private readonly skipped: PathSegment[][] = [];
  private readonly repairedSteps: PathSegment[][] = [];
  private flowKnown = true;
  private variablesKnown = true;
  private idsKnown = true;
  private standIns = 0;

  constructor(private readonly draft: Draft) {}

  result(definition: WorkflowDefinition): Salvage {
    const { skipped, repairedSteps, flowKnown, variablesKnown, idsKnown } = this;
    return { definition, skipped, repairedSteps, flowKnown, variablesKnown, idsKnown };
  }

  /** Sets aside what `issue` is about; false when it was already set aside or cannot be. */
  repair(issue: Issue): boolean {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    const at = innermostStep(path);
    if (at === undefined) return this.repairTopLevel(path, issue);
    const step = valueAt(this.draft, at);
    if (!isPlainObject(step)) return this.standIn(at, undefined);
    const rest = path.slice(at.length);
    const [field] = rest;
    if (field === undefined) return this.removeUnknownKeys(step, issue, at);
    if (field === 'type') return this.retype(step, at);
    if (field === 'branches') return this.repairBranches(step, rest.slice(1), at);
    if (field === 'id') {
      step.id = this.standInId();
      // Its result is read by its id unless it names an `output` (or has no result).
      if (readsAsId(step)) this.variablesKnown = false;
    } else if (ALL_JUMP_KEYS.includes(String(field))) {
      this.flowKnown = false;
      // A condition cannot do without its `then`: it ends the run instead.
      if (field === THEN) step[field] = 'end';
      else delete step[field];
    } else if (field === 'output') {
      this.variablesKnown = false;
      delete step.output;
    } else if (Object.hasOwn(NEUTRAL_REQUIRED, field) && isRequired(step.type, String(field))) {
      step[field] = NEUTRAL_REQUIRED[field];
    } else {
      delete step[field];
    }
    this.skipped.push([...at, field]);
    this.repairedSteps.push(at);
    return true;
  }

  /** A misspelled type is read as the type it is closest to, so the step's fields are still checked. */
  private retype(step: Draft, at: PathSegment[]): boolean {
    const type = guessType(step);
    if (type === undefined) return this.standIn(at, step);
    step.type = type;
    this.skipped.push([...at, 'type']);
    this.repairedSteps.push(at);
    return true;
  }

  private repairTopLevel(path: PathSegment[], issue: Issue): boolean {
    const [key, index] = path;
    if (key === undefined) {
      if (issue.code !== 'unrecognized_keys') return false;
      for (const unknown of issue.keys) {
        // A misspelled `inputs` leaves the input fields unknown.
        if (closestMatch(unknown, ['inputs']) !== undefined) this.variablesKnown = false;
        delete this.draft[unknown];
      }
      return issue.keys.length > 0;
    }
    if (key === 'triggers' && typeof index === 'number' && Array.isArray(this.draft.triggers)) {
      this.draft.triggers[index] = { type: 'manual' };
      this.skipped.push(['triggers', index]);
      return true;
    }
    if (key === 'steps') {
      this.draft.steps = [this.standInStep(undefined)];
      this.flowKnown = false;
      this.variablesKnown = false;
    } else if (Object.hasOwn(TOP_LEVEL_STAND_INS, key)) {
      this.draft[key] = TOP_LEVEL_STAND_INS[key];
    } else {
      if (key === 'inputs') this.variablesKnown = false;
      delete this.draft[key];
    }
    this.skipped.push([key]);
    return true;
  }

  /** Keys a step of this type does not have are dropped; one close to a jump or the output leaves a guess. */
  private removeUnknownKeys(step: Draft, issue: Issue, at: PathSegment[]): boolean {
    if (issue.code !== 'unrecognized_keys') return this.standIn(at, step);
    for (const key of issue.keys) {
      if (closestMatch(key, ALL_JUMP_KEYS) !== undefined) this.flowKnown = false;
      const meant = closestMatch(key, ['output', 'id']);
      if (meant === 'id' ? readsAsId(step) : meant === 'output' && producesResult(step)) {
        this.variablesKnown = false;
      }
      delete step[key];
    }
    this.repairedSteps.push(at);
    return issue.keys.length > 0;
  }

  /** A parallel's branch list: a broken branch becomes one stand-in step, a missing one is added. */
  private repairBranches(step: Draft, rest: PathSegment[], at: PathSegment[]): boolean {
    const branches = step.branches;
    if (!Array.isArray(branches)) return this.standIn(at, step);
    this.repairedSteps.push(at);
    const [index, field] = rest;
    if (index === undefined) {
      while (branches.length < 2) {
        this.skipped.push([...at, 'branches', branches.length]);
        branches.push({ steps: [this.standInStep(undefined)] });
      }
      return true;
    }
    const branch = branches[index as number];
    if (field === 'name' && isPlainObject(branch)) {
      delete branch.name;
    } else {
      branches[index as number] = { steps: [this.standInStep(undefined)] };
      this.flowKnown = false;
      this.variablesKnown = false;
    }
    this.skipped.push([...at, 'branches', index, ...(field === 'name' ? ['name'] : [])]);
    return true;
  }

  /** Replaces the step at `at` by a stand-in that keeps what can be read of its id, type, jumps and output. */
  private standIn(at: PathSegment[], step: Draft | undefined): boolean {
    const parent = valueAt(this.draft, at.slice(0, -1));
    const index = at.at(-1);
    if (!Array.isArray(parent) || typeof index !== 'number') return false;
    parent[index] = this.standInStep(step);
    this.skipped.push(at);
    return true;
  }

  private standInStep(step: Draft | undefined): Draft {
    const type = guessType(step);
    if (type === undefined || type === 'parallel') {
      this.flowKnown = false;
      this.variablesKnown = false;
    }
    const id = typeof step?.id === 'string' && STEP_ID_PATTERN.test(step.id) ? step.id : this.standInId();
    if (id !== step?.id && (step === undefined || readsAsId(step))) this.variablesKnown = false;
    const kind = type === undefined || type === 'parallel' ? 'tool' : type;
    const stand: Draft = { id, type: kind, ...standInFields(kind, step) };
    for (const key of JUMP_KEYS[kind]) {
      const target = step?.[key];
      if (target === undefined) continue;
      if (typeof target === 'string' && STEP_ID_PATTERN.test(target)) stand[key] = target;
      else this.flowKnown = false;
    }
    if (kind === 'condition' && stand[THEN] === undefined) {
      stand[THEN] = 'end';
      this.flowKnown = false;
    }
    if (kind === 'tool' || kind === 'approval') {
      const output = step?.output;
      if (typeof output === 'string' && STEP_ID_PATTERN.test(output)) stand.output = output;
      else if (output !== undefined) this.variablesKnown = false;
    }
    return stand;
  }

  private standInId(): string {
    this.idsKnown = false;
    this.standIns++;
    return `stand_in_${this.standIns}`;
  }
}

/** The fields a stand-in of `kind` needs to be valid, reading nothing (an approval keeps waiting). */
function standInFields(kind: Exclude<StepType, 'parallel'>, step: Draft | undefined): Draft {
  switch (kind) {
    case 'tool':
      return { tool: NEUTRAL_REQUIRED.tool };
    case 'condition':
      return { if: NEUTRAL_REQUIRED.if };
    case 'approval':
      return {
        approvers: NEUTRAL_REQUIRED.approvers,
        ...(step?.onTimeout === undefined ? {} : { timeout: '1h' }),
      };
    case 'notify':
      return {
        channel: NEUTRAL_REQUIRED.channel,
        to: NEUTRAL_REQUIRED.to,
        message: NEUTRAL_REQUIRED.message,
      };
    case 'delay':
      return { duration: '1s' };
  }
}

/** Keys only one step type has: a step without a readable type is read as the type its keys say. */
const TYPE_KEYS: ReadonlyArray<readonly [string, StepType]> = [
  ['tool', 'tool'],
  ['if', 'condition'],
  ['approvers', 'approval'],
  ['branches', 'parallel'],
  ['channel', 'notify'],
  ['duration', 'delay'],
  ['until', 'delay'],
];

/** The type a step means: its `type`, the type closest to a misspelled one, or the one its keys say. */
function guessType(step: Draft | undefined): StepType | undefined {
  const type = step?.type;
  if (typeof type === 'string') {
    if ((STEP_TYPES as readonly string[]).includes(type)) return type as StepType;
    const closest = closestMatch(type, STEP_TYPES) as StepType | undefined;
    if (closest !== undefined) return closest;
  }
  const byKeys = new Set(TYPE_KEYS.filter(([key]) => step !== undefined && Object.hasOwn(step, key)));
  const types = new Set([...byKeys].map(([, t]) => t));
  return types.size === 1 ? [...types][0] : undefined;
}

/** Whether the step may set a variable: a tool or approval step, or one whose type is not known. */
function producesResult(step: Draft): boolean {
  const type = guessType(step);
  return type === undefined || type === 'tool' || type === 'approval';
}

/** Whether other steps read this step's result by its id: a tool or approval step without an `output`. */
function readsAsId(step: Draft): boolean {
  if (!producesResult(step)) return false;
  return typeof step.output !== 'string' || !STEP_ID_PATTERN.test(step.output);
}

function isRequired(type: unknown, field: string): boolean {
  const required: Readonly<Record<string, readonly string[]>> = {
    tool: ['tool'],
    condition: ['if'],
    approval: ['approvers'],
    notify: ['channel', 'to', 'message'],
  };
  return typeof type === 'string' && (required[type] ?? []).includes(field);
}

/** The path of the innermost step `path` is inside (`steps/N` or `.../branches/M/steps/N`), if any. */
function innermostStep(path: readonly PathSegment[]): PathSegment[] | undefined {
  for (let k = path.length - 2; k >= 0; k--) {
    if (path[k] === 'steps' && typeof path[k + 1] === 'number') return path.slice(0, k + 2);
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}

/** A deep copy of parsed data; `__proto__` keys (reported by the structural checks) are left out. */
function cloneData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneData);
  if (!isPlainObject(value)) return value;
  const copy: Draft = {};
  for (const key of Object.keys(value)) if (key !== '__proto__') copy[key] = cloneData(value[key]);
  return copy;
}

function isPlainObject(value: unknown): value is Draft {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
