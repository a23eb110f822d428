// Structural checks: the definition against the zod schema of the format, with messages that name the
// field, say what was expected, and suggest the key or value that was probably meant.
import { z } from 'zod';
import { type WorkflowDefinition, WorkflowDefinitionSchema } from './definition.js';
import { didYouMean, type PathSegment, type PendingDiagnostic } from './diagnostics.js';

export type StructureResult =
  | { ok: true; definition: WorkflowDefinition }
  | { ok: false; problems: PendingDiagnostic[] };

export function checkStructure(value: unknown): StructureResult {
  const checked = checkSchema(
    WorkflowDefinitionSchema,
    value,
    'a workflow definition',
    'version, id, steps, ...',
  );
  return checked.ok ? { ok: true, definition: checked.value } : checked;
}

/** Checks any mapping-shaped document (definitions, scenario files) against its zod schema. */
export function checkSchema<T>(
  schema: z.ZodType<T>,
  value: unknown,
  what: string,
  keys: string,
): { ok: true; value: T } | { ok: false; problems: PendingDiagnostic[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      problems: [problem('not-a-mapping', `${what} must be a mapping of keys (${keys})`, [])],
    };
  }
  // zod drops `__proto__` keys silently (it is right not to copy them); the author must hear about it.
  const protoKeys = protoKeyPaths(value).map((path) =>
    problem('forbidden-key', "key '__proto__' is not allowed", path, true),
  );
  const parsed = schema.safeParse(value);
  if (parsed.success && protoKeys.length === 0) return { ok: true, value: parsed.data };
  const root: Root = { value, schema };
  const problems = parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, root));
  return { ok: false, problems: [...protoKeys, ...dedupe(withoutMisspelledMissing(problems))] };
}

function protoKeyPaths(
  value: unknown,
  path: PathSegment[] = [],
  found: PathSegment[][] = [],
): PathSegment[][] {
  if (value === null || typeof value !== 'object' || path.length > 64) return found;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      protoKeyPaths(item, [...path, i], found);
    });
    return found;
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__') found.push([...path, key]);
    else protoKeyPaths((value as Record<string, unknown>)[key], [...path, key], found);
  }
  return found;
}

type Issue = z.core.$ZodIssue;
/** The document being checked and the schema it is checked against. */
interface Root {
  value: unknown;
  schema: z.ZodType;
}

function describeIssue(issue: Issue, root: Root): PendingDiagnostic[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  const label = labelOf(path);
  const actual = valueAt(root.value, path);
  if (actual.missing && issue.code !== 'unrecognized_keys' && issue.code !== 'invalid_union') {
    return [
      problem(
        'missing-key',
        `missing required key '${String(path.at(-1))}'${parentLabel(path, root)}`,
        path.slice(0, -1),
      ),
    ];
  }
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) =>
        problem('unknown-key', unknownKeyMessage(key, path, root), [...path, key], true),
      );
    case 'invalid_type':
      return [
        problem(
          'invalid-type',
          `${label} must be ${article(issue.expected)}, found ${describeValue(actual.value)}`,
          path,
        ),
      ];
    case 'invalid_union':
      return describeUnion(issue, path, root, actual);
    case 'invalid_value': {
      const options = issue.values.map((v) => String(v));
      if (options.length === 1)
        return [problem('invalid-value', `${label} must be ${JSON.stringify(issue.values[0])}`, path)];
      const hint = typeof actual.value === 'string' ? didYouMean(actual.value, options) : '';
      return [
        problem(
          'invalid-value',
          `${label} must be one of ${options.join(', ')}, found ${describeValue(actual.value)}${hint}`,
          path,
        ),
      ];
    }
    case 'too_small':
      return [problem('too-small', `${label} ${boundMessage(issue.origin, 'least', issue.minimum)}`, path)];
    case 'too_big':
      return [problem('too-big', `${label} ${boundMessage(issue.origin, 'most', issue.maximum)}`, path)];
    case 'invalid_format':
      return [problem('invalid-format', issue.message, path)];
    default:
      return [problem('invalid-value', `${label}: ${issue.message}`, path)];
  }
}

function describeUnion(
  issue: Extract<Issue, { code: 'invalid_union' }>,
  path: PathSegment[],
  root: Root,
  actual: ValueAt,
): PendingDiagnostic[] {
  if ('discriminator' in issue && issue.discriminator !== undefined) {
    const options = (issue as { options?: unknown[] }).options?.map(String) ?? [];
    const what = path.includes('triggers') ? 'trigger' : 'step';
    if (actual.missing) {
      return [
        problem(
          'missing-key',
          `missing required key 'type' (a ${what} type: ${options.join(', ')})`,
          path.slice(0, -1),
        ),
      ];
    }
    const hint = typeof actual.value === 'string' ? didYouMean(actual.value, options) : '';
    return [
      problem(
        'unknown-type',
        `unknown ${what} type ${describeValue(actual.value)}${hint}; expected one of ${options.join(', ')}`,
        path,
      ),
    ];
  }
  // A plain union (e.g. require: any | all | N): report the alternative that matches the value's kind.
  const branches = issue.errors.filter(
    (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  const chosen = branches[0];
  if (branches.length === 1 && chosen) {
    return chosen.flatMap((inner) =>
      describeIssue({ ...inner, path: [...path, ...inner.path] } as Issue, root),
    );
  }
  return [
    problem('invalid-value', `${labelOf(path)} has an invalid value ${describeValue(actual.value)}`, path),
  ];
}

function unknownKeyMessage(key: string, path: PathSegment[], root: Root): string {
  const here = objectShapes(path, root);
  const known = here.own;
  const where = here.kind === undefined ? '' : ` in ${/^[aeiou]/.test(here.kind) ? 'an' : 'a'} ${here.kind}`;
  const elsewhere = here.siblings.filter(([, keys]) => keys.includes(key)).map(([kind]) => kind);
  if (elsewhere.length > 0) {
    return `unknown key '${key}'${where}: it belongs to ${elsewhere.join(' and ')} steps`;
  }
  return `unknown key '${key}'${where}${didYouMean(key, known)}`;
}

interface Shapes {
  kind: string | undefined;
  own: string[];
  siblings: Array<[string, string[]]>;
}

/** The keys the schema allows at `path` (choosing union members by the data's `type`), for suggestions. */
function objectShapes(path: readonly PathSegment[], root: Root): Shapes {
  let schema: z.ZodType | undefined = root.schema;
  let data: unknown = root.value;
  let siblings: Array<[string, string[]]> = [];
  let kind: string | undefined;
  const resolve = (s: z.ZodType | undefined): z.ZodType | undefined => {
    let current = s;
    while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    if (current instanceof z.ZodDiscriminatedUnion) {
      const options = current.options as z.ZodObject[];
      const type = (data as { type?: unknown } | undefined)?.type;
      siblings = options.map((o) => [String((o.shape.type as z.ZodLiteral).value), Object.keys(o.shape)]);
      const match = options.find((o) => (o.shape.type as z.ZodLiteral).value === type);
      kind = match ? `${String(type)} ${path.includes('triggers') ? 'trigger' : 'step'}` : undefined;
      siblings = siblings.filter(([name]) => name !== type);
      return match;
    }
    return current;
  };
  schema = resolve(schema);
  for (const segment of path) {
    siblings = [];
    kind = undefined;
    if (schema instanceof z.ZodObject && typeof segment === 'string')
      schema = schema.shape[segment] as z.ZodType;
    else if (schema instanceof z.ZodArray && typeof segment === 'number')
      schema = schema.element as z.ZodType;
    else return { kind: undefined, own: [], siblings: [] };
    data = (data as Record<PathSegment, unknown> | undefined)?.[segment];
    schema = resolve(schema);
  }
  const own = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  return { kind, own, siblings: siblings.filter(([, keys]) => keys.length > 0) };
}

interface ValueAt {
  missing: boolean;
  value: unknown;
}

function valueAt(root: unknown, path: readonly PathSegment[]): ValueAt {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
      return { missing: true, value: undefined };
    }
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return { missing: false, value: current };
}

function labelOf(path: readonly PathSegment[]): string {
  if (path.length === 0) return 'the definition';
  const last = path.at(-1);
  if (typeof last === 'number') return `'${String(path.at(-2) ?? '')}[${last}]'`;
  return `'${String(last)}'`;
}

function parentLabel(path: readonly PathSegment[], root: Root): string {
  const parent = path.slice(0, -1);
  if (parent.length === 0) return '';
  const value = valueAt(root.value, parent).value as { id?: unknown; type?: unknown } | undefined;
  if (typeof value?.id === 'string' && typeof value.type === 'string')
    return ` in ${value.type} step '${value.id}'`;
  return ` in ${labelOf(parent)}`;
}

function boundMessage(origin: string, side: 'least' | 'most', bound: number | bigint): string {
  const n = Number(bound);
  if (origin === 'array') return `must have at ${side} ${n} item${n === 1 ? '' : 's'}`;
  if (origin === 'string')
    return side === 'least' && n === 1 ? 'must not be empty' : `must have at ${side} ${n} characters`;
  return `must be at ${side} ${n}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    record: 'a mapping',
    int: 'a whole number',
  };
  return names[expected] ?? `a ${expected}`;
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  return `${typeof value} ${String(value)}`;
}

/** "missing 'approvers'" says nothing new next to "unknown key 'aprovers' (did you mean 'approvers'?)". */
function withoutMisspelledMissing(problems: PendingDiagnostic[]): PendingDiagnostic[] {
  const suggested = new Set(
    problems
      .filter((p) => p.code === 'unknown-key')
      .map((p) => `${p.path.slice(0, -1).join('/')}|${/did you mean '([^']+)'/.exec(p.message)?.[1] ?? ''}`),
  );
  return problems.filter(
    (p) =>
      p.code !== 'missing-key' ||
      !suggested.has(`${p.path.join('/')}|${/missing required key '([^']+)'/.exec(p.message)?.[1] ?? ''}`),
  );
}

function problem(
  code: string,
  message: string,
  path: readonly PathSegment[],
  atKey = false,
): PendingDiagnostic {
  return { severity: 'error', code, message, path, atKey };
}

function dedupe(problems: PendingDiagnostic[]): PendingDiagnostic[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.code}|${p.message}|${p.path.join('/')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
