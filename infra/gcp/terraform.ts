// Terraform JSON (the `.tf.json` syntax) built from TypeScript: a document of `terraform`, `provider`,
// `variable`, `data`, `resource` and `output` blocks with typed builders, and nothing else — no CDKTF (it is
// deprecated), no provider schemas: a resource's body is the JSON the provider's documentation shows,
// checked by the structure tests (test/infra/gcp.test.ts) and by `terraform validate` where a provider can
// be downloaded.
//
// Decisions: an expression is a string `${...}` (Terraform JSON's own rule), written by `ref` and `expr`
// so a typo in a reference is a type error rather than a string; a block that repeats is an array of
// objects, an empty block `{}`; names are checked here (Terraform's identifier rule) so a bad name fails the
// synth, not the apply. The output is deterministic: object keys sorted at every level when serialised
// (arrays keep their order, which Terraform's blocks give meaning to), so the same input gives the same bytes.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Body = { [key: string]: Json };

/** Terraform's identifier rule for block labels (resource, variable, output names). */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A resource or data source in the document: its address and references to its attributes. */
export class Address {
  constructor(
    readonly kind: 'resource' | 'data',
    readonly type: string,
    readonly name: string,
  ) {}

  /** `google_x.name` (or `data.google_x.name`), as `depends_on` lists it. */
  get path(): string {
    return `${this.kind === 'data' ? 'data.' : ''}${this.type}.${this.name}`;
  }

  /** The expression `${google_x.name.attribute}`. */
  ref(attribute: string): string {
    return `\${${this.path}.${attribute}}`;
  }

  /** The bare expression `google_x.name.attribute` (for use inside a larger expression). */
  attr(attribute: string): string {
    return `${this.path}.${attribute}`;
  }
}

/** `${text}`: a Terraform expression in a JSON string. */
export const expr = (text: string): string => `\${${text}}`;

/** `<name_prefix>-<suffix>`: a name of this deployment (`named('')` is the prefix with its dash). */
export const named = (suffix: string): string => `${expr('var.name_prefix')}-${suffix}`;

/** `${var.name}` */
export const variableRef = (name: string): string => expr(`var.${name}`);

export interface VariableSpec {
  type: 'string' | 'number' | 'bool';
  description: string;
  default?: Json;
  sensitive?: boolean;
  /** Terraform 1.10+: never stored in the plan or the state (usable only in write-only arguments). */
  ephemeral?: boolean;
  nullable?: boolean;
  validation?: { condition: string; error_message: string }[];
}

function checkName(what: string, name: string): void {
  if (!IDENTIFIER.test(name)) throw new Error(`Terraform ${what} name '${name}' is not an identifier`);
}

/** A Terraform JSON document under construction. */
export class TerraformDocument {
  private readonly blocks = {
    terraform: {} as Body,
    provider: {} as Body,
    variable: {} as Body,
    locals: {} as Body,
    data: {} as Record<string, Body>,
    resource: {} as Record<string, Body>,
    output: {} as Body,
  };

  /** The `terraform` block (required_version, required_providers). */
  settings(body: Body): void {
    Object.assign(this.blocks.terraform, body);
  }

  provider(name: string, body: Body): void {
    this.blocks.provider[name] = body;
  }

  variable(name: string, spec: VariableSpec): string {
    checkName('variable', name);
    if (name in this.blocks.variable) throw new Error(`variable '${name}' is declared twice`);
    this.blocks.variable[name] = spec as unknown as Body;
    return variableRef(name);
  }

  /** A local value; answers its expression `${local.name}`. */
  local(name: string, value: Json): string {
    checkName('local', name);
    this.blocks.locals[name] = value;
    return expr(`local.${name}`);
  }

  resource(type: string, name: string, body: Body): Address {
    return this.add('resource', type, name, body);
  }

  data(type: string, name: string, body: Body): Address {
    return this.add('data', type, name, body);
  }

  output(name: string, body: { value: Json; description: string; sensitive?: boolean }): void {
    checkName('output', name);
    this.blocks.output[name] = body;
  }

  private add(kind: 'resource' | 'data', type: string, name: string, body: Body): Address {
    checkName(kind, name);
    const byType = this.blocks[kind];
    byType[type] ??= {};
    const named = byType[type] as Body;
    if (name in named) throw new Error(`${kind} ${type}.${name} is declared twice`);
    named[name] = body;
    return new Address(kind, type, name);
  }

  /** The document as Terraform JSON: empty sections left out, keys sorted. */
  toJSON(): Body {
    const out: Body = {};
    for (const [section, value] of Object.entries(this.blocks))
      if (Object.keys(value).length > 0) out[section] = value as Json;
    return sorted(out) as Body;
  }

  /** The document's text (two-space indentation, a final newline). */
  text(): string {
    return `${JSON.stringify(this.toJSON(), null, 2)}\n`;
  }
}

/** `value` with every object's keys in sorted order (arrays keep theirs). */
export function sorted(value: Json): Json {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sorted(value[key] as Json)]),
  );
}
