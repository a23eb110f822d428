// Evaluates an ARM template's `[...]` expressions for the structure tests (test/infra/azure.test.ts), as
// Azure Resource Manager would at deployment, for the functions the template uses: parameters and variables,
// format/concat/take/toLower, equals/not/and/empty/if (only the branch taken, as ARM does), createObject and
// union, guid/uniqueString (deterministic stand-ins), resourceGroup/subscription/environment (a fixed
// subscription in eastus, public cloud), resourceId/subscriptionResourceId/extensionResourceId (the ids ARM
// would build), and
// reference(), answered by the test with plausible runtime properties — refused for a resource the
// parameters leave undeployed, which is how ARM fails. An unknown function fails the evaluation, so a
// template using a function this does not know fails its tests rather than passing unchecked.
import { createHash } from 'node:crypto';

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
type Obj = { [key: string]: Value };

export const SUBSCRIPTION = '00000000-1111-2222-3333-444444444444';
export const RESOURCE_GROUP = 'stepgate-rg';
const RG_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}`;

export interface Deployment {
  template: Obj;
  /** The values given for parameters (others take their defaultValue). */
  parameters: Record<string, Value>;
  /** Runtime properties of a deployed resource, by its type and full name. */
  reference: (type: string, name: string) => Obj;
}

/** What an evaluation saw: every resource id built, every reference made. */
export interface Trace {
  resourceIds: string[];
  references: string[];
}

const hash = (parts: Value[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** `/subscriptions/…/providers/Ns/typeA/nameA/typeB/nameB`: the id ARM builds for a type and name segments. */
export function idOf(base: string, type: string, names: string[]): string {
  const [namespace, ...types] = type.split('/');
  if (types.length !== names.length)
    throw new Error(`${type} needs ${types.length} name segments, got ${names.length}`);
  return `${base}/providers/${namespace}/${types.map((t, i) => `${t}/${names[i]}`).join('/')}`;
}

export const resourceGroupId = RG_ID;

export class ArmEvaluator {
  readonly trace: Trace = { resourceIds: [], references: [] };
  private readonly variableCache = new Map<string, Value>();
  /** Ids of the resources the parameters leave undeployed (their condition false). */
  undeployed = new Set<string>();

  constructor(private readonly deployment: Deployment) {}

  /** A template value with every expression (in values and keys) evaluated. */
  value(value: Value): Value {
    if (typeof value === 'string') return isExpression(value) ? this.expression(value.slice(1, -1)) : value;
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [String(this.value(k)), this.value(v)]),
      );
    return value;
  }

  expression(text: string): Value {
    const parser = new Parser(text);
    const node = parser.expression();
    parser.end();
    return this.evaluate(node);
  }

  parameter(name: string): Value {
    const spec = (this.deployment.template.parameters as Record<string, Obj>)[name];
    if (spec === undefined) throw new Error(`parameters('${name}') is not declared`);
    if (name in this.deployment.parameters) return this.deployment.parameters[name] as Value;
    if (!('defaultValue' in spec)) throw new Error(`parameter '${name}' has no value and no default`);
    return this.value(spec.defaultValue as Value);
  }

  variable(name: string): Value {
    const variables = this.deployment.template.variables as Obj;
    if (!(name in variables)) throw new Error(`variables('${name}') is not declared`);
    if (!this.variableCache.has(name)) this.variableCache.set(name, this.value(variables[name] as Value));
    return this.variableCache.get(name) as Value;
  }

  private evaluate(node: Node): Value {
    switch (node.kind) {
      case 'literal':
        return node.value;
      case 'property': {
        const target = this.evaluate(node.target);
        if (target === null || typeof target !== 'object' || Array.isArray(target) || !(node.name in target))
          throw new Error(`no property '${node.name}' in ${JSON.stringify(target)}`);
        return (target as Obj)[node.name] as Value;
      }
      case 'call':
        return node.name === 'if'
          ? this.conditional(node.args)
          : this.call(
              node.name,
              node.args.map((a) => this.evaluate(a)),
            );
    }
  }

  /** if(): only the branch taken is evaluated. */
  private conditional(args: Node[]): Value {
    if (args.length !== 3) throw new Error('if() takes three arguments');
    const condition = this.evaluate(args[0] as Node);
    if (typeof condition !== 'boolean')
      throw new Error(`if() condition ${JSON.stringify(condition)} is not a bool`);
    return this.evaluate(args[condition ? 1 : 2] as Node);
  }

  private call(name: string, args: Value[]): Value {
    const str = (i: number): string => {
      const value = args[i];
      if (typeof value !== 'string')
        throw new Error(`${name}() argument ${i} is not a string: ${JSON.stringify(value)}`);
      return value;
    };
    switch (name) {
      case 'parameters':
        return this.parameter(str(0));
      case 'variables':
        return this.variable(str(0));
      case 'format':
        return str(0).replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i) + 1]));
      case 'concat':
        return args.map(String).join('');
      case 'take':
        return str(0).slice(0, Number(args[1]));
      case 'toLower':
        return str(0).toLowerCase();
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'not':
        return args[0] !== true;
      case 'and':
        return args.every((a) => a === true);
      case 'empty':
        return isEmpty(args[0] as Value);
      case 'true':
        return true;
      case 'false':
        return false;
      case 'createObject':
        return Object.fromEntries(
          args.flatMap((_a, i) => (i % 2 === 0 ? [[str(i), args[i + 1] as Value]] : [])),
        );
      case 'union':
        return Object.assign({}, ...(args as Obj[]));
      case 'uniqueString':
        return hash(args).slice(0, 13);
      case 'guid': {
        const h = hash(args);
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
      }
      case 'resourceGroup':
        return { id: RG_ID, name: RESOURCE_GROUP, location: 'eastus' };
      case 'subscription':
        return {
          id: `/subscriptions/${SUBSCRIPTION}`,
          subscriptionId: SUBSCRIPTION,
          tenantId: 'tenant-0000',
        };
      case 'environment':
        return { suffixes: { storage: 'core.windows.net', keyvaultDns: '.vault.azure.net' } };
      case 'resourceId':
      case 'subscriptionResourceId': {
        const base = name === 'resourceId' ? RG_ID : `/subscriptions/${SUBSCRIPTION}`;
        const id = idOf(base, str(0), args.slice(1).map(String));
        if (name === 'resourceId') this.trace.resourceIds.push(id);
        return id;
      }
      case 'extensionResourceId': {
        const id = `${str(0)}/providers/${str(1)}/${args.slice(2).map(String).join('/')}`;
        this.trace.resourceIds.push(id);
        return id;
      }
      case 'reference':
        return this.reference(str(0));
      default:
        throw new Error(`the evaluator does not know the ARM function ${name}()`);
    }
  }

  private reference(id: string): Value {
    if (this.undeployed.has(id))
      throw new Error(`reference(${id}): that resource is not deployed with these parameters`);
    this.trace.references.push(id);
    const path = id.slice(RG_ID.length + '/providers/'.length).split('/');
    const [namespace, ...rest] = path;
    const types = rest.filter((_, i) => i % 2 === 0);
    const names = rest.filter((_, i) => i % 2 === 1);
    return this.deployment.reference([namespace, ...types].join('/'), names.join('/'));
  }
}

export function isExpression(text: string): boolean {
  return text.startsWith('[') && text.endsWith(']') && !text.startsWith('[[');
}

function isEmpty(value: Value): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'property'; target: Node; name: string };

/** ARM's expression grammar: calls, 'strings' ('' escapes '), integers, `.property`. */
class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  expression(): Node {
    this.space();
    let node = this.primary();
    while (this.peek() === '.') {
      this.at++;
      node = { kind: 'property', target: node, name: this.identifier() };
    }
    this.space();
    return node;
  }

  end(): void {
    if (this.at !== this.text.length)
      throw new Error(`unexpected '${this.text.slice(this.at)}' in ${this.text}`);
  }

  private primary(): Node {
    const c = this.peek();
    if (c === "'") return { kind: 'literal', value: this.string() };
    if (c !== undefined && /[0-9-]/.test(c)) {
      const match = /^-?\d+/.exec(this.text.slice(this.at));
      if (match === null) throw new Error(`bad number in ${this.text}`);
      this.at += match[0].length;
      return { kind: 'literal', value: Number(match[0]) };
    }
    const name = this.identifier();
    this.expect('(');
    const args: Node[] = [];
    this.space();
    if (this.peek() !== ')')
      for (;;) {
        args.push(this.expression());
        if (this.peek() === ',') {
          this.at++;
          continue;
        }
        break;
      }
    this.expect(')');
    return { kind: 'call', name, args };
  }

  private string(): string {
    let out = '';
    this.at++;
    for (;;) {
      const c = this.text[this.at++];
      if (c === undefined) throw new Error(`unterminated string in ${this.text}`);
      if (c === "'") {
        if (this.text[this.at] !== "'") return out;
        this.at++;
      }
      out += c;
    }
  }

  private identifier(): string {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.at));
    if (match === null) throw new Error(`expected a name at '${this.text.slice(this.at)}'`);
    this.at += match[0].length;
    return match[0];
  }

  private expect(c: string): void {
    this.space();
    if (this.text[this.at] !== c) throw new Error(`expected '${c}' at '${this.text.slice(this.at)}'`);
    this.at++;
  }

  private peek(): string | undefined {
    this.space();
    return this.text[this.at];
  }

  private space(): void {
    while (this.text[this.at] === ' ') this.at++;
  }
}
