// An Azure Resource Manager template (JSON: what Bicep compiles to — no Bicep compiler is available here)
// built from TypeScript: parameters, variables, resources and outputs with typed builders, and nothing else.
// A resource's body is the JSON the resource type's reference (learn.microsoft.com/azure/templates) shows for
// its API version, checked by the structure tests (test/infra/azure.test.ts), which also evaluate the
// template's expressions.
//
// Decisions: an ARM expression is a string `[...]`; here it is an `Expr`, written by `fn` and the helpers
// below (the function name is a union of ARM's function names, so a typo is a type error) and serialised as
// `[...]` by JSON.stringify (its toJSON). A literal argument is quoted by the builder (`'` doubled), so no
// expression is assembled by hand. A resource added returns a handle whose `id`, `ref(...)` and `dependsOn`
// entry name it the one way. The output is deterministic: object keys sorted at every level (arrays keep
// their order), so the same input gives the same bytes.

/** The ARM template functions this template uses (learn.microsoft.com/azure/azure-resource-manager/templates/template-functions). */
export type ArmFunction =
  | 'and'
  | 'concat'
  | 'createObject'
  | 'empty'
  | 'environment'
  | 'equals'
  | 'extensionResourceId'
  | 'format'
  | 'guid'
  | 'if'
  | 'not'
  | 'parameters'
  | 'reference'
  | 'resourceGroup'
  | 'resourceId'
  | 'subscription'
  | 'subscriptionResourceId'
  | 'take'
  | 'toLower'
  | 'union'
  | 'uniqueString'
  | 'variables';

/** An ARM expression (without its brackets). */
export class Expr {
  constructor(readonly text: string) {}

  /** `expr.name`: a property of the value. */
  prop(...path: string[]): Expr {
    for (const name of path)
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`'${name}' is not a property name`);
    return new Expr([this.text, ...path].join('.'));
  }

  toJSON(): string {
    return `[${this.text}]`;
  }
}

export type Arg = Expr | string | number | boolean;

function argText(arg: Arg): string {
  if (arg instanceof Expr) return arg.text;
  if (typeof arg === 'string') return `'${arg.replaceAll("'", "''")}'`;
  if (typeof arg === 'number') return String(arg);
  return arg ? 'true()' : 'false()';
}

/** `name(arg, ...)`: a literal argument quoted. */
export const fn = (name: ArmFunction, ...args: Arg[]): Expr =>
  new Expr(`${name}(${args.map(argText).join(', ')})`);

export const format = (pattern: string, ...args: Arg[]): Expr => fn('format', pattern, ...args);
export const equals = (a: Arg, b: Arg): Expr => fn('equals', a, b);
export const iff = (condition: Expr, whenTrue: Arg, whenFalse: Arg): Expr =>
  fn('if', condition, whenTrue, whenFalse);
export const empty = (value: Arg): Expr => fn('empty', value);
export const not = (value: Expr): Expr => fn('not', value);
/** createObject('k1', v1, ...): an object whose keys are literals, in the order given. */
export const createObject = (entries: Record<string, Arg>): Expr =>
  fn('createObject', ...Object.entries(entries).flat());
export const union = (...objects: Expr[]): Expr => fn('union', ...objects);
export const resourceGroup = (): Expr => fn('resourceGroup');
export const subscription = (): Expr => fn('subscription');
export const environment = (): Expr => fn('environment');

export type Json = string | number | boolean | null | Expr | Json[] | { [key: string]: Json };
export type Body = { [key: string]: Json };

export interface ParameterSpec {
  type: 'string' | 'securestring' | 'int' | 'bool' | 'object';
  description: string;
  defaultValue?: Json;
  allowedValues?: Json[];
  minLength?: number;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
}

export interface ResourceSpec {
  type: string;
  apiVersion: string;
  /** The name's segments: one for a top-level resource, one per level for a child (`account/default/table`). */
  name: Arg[];
  /** Deployed only when true. */
  condition?: Expr;
  location?: Arg;
  kind?: string;
  sku?: Body;
  identity?: Body;
  /** For an extension resource (a role assignment): the resource it applies to. */
  scope?: Resource;
  properties?: Json;
  dependsOn?: Resource[];
}

/** A resource of the template: how the rest of the template names it. */
export class Resource {
  constructor(
    readonly type: string,
    readonly apiVersion: string,
    readonly segments: Arg[],
    /** For an extension resource: the resource it applies to. */
    readonly scope?: Resource,
  ) {}

  /**
   * Its id, as dependsOn and role assignment scopes name it: resourceId('type', 'name', ...), or for an
   * extension resource extensionResourceId(scope's id, 'type', 'name').
   */
  get id(): Expr {
    return this.scope === undefined
      ? fn('resourceId', this.type, ...this.segments)
      : fn('extensionResourceId', this.scope.id, this.type, ...this.segments);
  }

  /** reference(id, 'apiVersion').path: a runtime property (an endpoint, a client id). */
  ref(...path: string[]): Expr {
    return fn('reference', this.id, this.apiVersion).prop(...path);
  }

  /** The name as the template writes it: literal, or `format('{0}/{1}', ...)` for a child. */
  get nameValue(): Json {
    if (this.segments.length === 1) {
      const [only] = this.segments;
      return only instanceof Expr ? only : String(only);
    }
    return format(this.segments.map((_, i) => `{${i}}`).join('/'), ...this.segments);
  }
}

/** An ARM template under construction. */
export class ArmTemplate {
  private readonly parameters: Record<string, ParameterSpec> = {};
  private readonly variables: Record<string, Json> = {};
  private readonly resources: Body[] = [];
  private readonly outputs: Record<string, Body> = {};
  private readonly ids = new Set<string>();

  constructor(private readonly description: string) {}

  parameter(name: string, spec: ParameterSpec): Expr {
    if (name in this.parameters) throw new Error(`parameter '${name}' is declared twice`);
    this.parameters[name] = spec;
    return fn('parameters', name);
  }

  variable(name: string, value: Json): Expr {
    if (name in this.variables) throw new Error(`variable '${name}' is declared twice`);
    this.variables[name] = value;
    return fn('variables', name);
  }

  resource(spec: ResourceSpec): Resource {
    const resource = new Resource(spec.type, spec.apiVersion, spec.name, spec.scope);
    const key = JSON.stringify(resource.id);
    if (this.ids.has(key)) throw new Error(`resource ${key} is declared twice`);
    this.ids.add(key);
    const { name: _name, scope, dependsOn, ...rest } = spec;
    const body: Body = { ...(rest as Body), name: resource.nameValue };
    if (scope !== undefined) body.scope = scope.id;
    const needs = [...(scope === undefined ? [] : [scope]), ...(dependsOn ?? [])];
    if (needs.length > 0) body.dependsOn = [...new Set(needs)].map((r) => r.id);
    this.resources.push(body);
    return resource;
  }

  output(name: string, type: 'string' | 'object', value: Json): void {
    this.outputs[name] = { type, value };
  }

  /** The template as JSON (Expr values as `[...]` strings), keys sorted. */
  toJSON(): Body {
    const template = {
      $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
      contentVersion: '1.0.0.0',
      metadata: { description: this.description },
      parameters: this.parameters as unknown as Json,
      variables: this.variables,
      resources: this.resources,
      outputs: this.outputs,
    };
    return sorted(JSON.parse(JSON.stringify(template)) as Json) as Body;
  }

  /** The template's text (two-space indentation, a final newline). */
  text(): string {
    return `${JSON.stringify(this.toJSON(), null, 2)}\n`;
  }
}

/** `value` with every object's keys in sorted order (arrays keep theirs). */
export function sorted(value: Json): Json {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object' || value instanceof Expr) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted(value[key] as Json)]),
  );
}
