// Completion hints from schema/workflow.schema.json for the code view: the keys allowed where the cursor
// is (found from the YAML indentation above it), and the values of enum/const keys.
import schema from '../../../schema/workflow.schema.json';
import { isRecord } from './definition-model';

type Schema = Record<string, unknown>;
const ROOT = schema as Schema;

function resolve(node: unknown): Schema[] {
  if (!isRecord(node)) return [];
  if (typeof node.$ref === 'string') {
    const name = node.$ref.replace('#/$defs/', '');
    const defs = ROOT.$defs as Record<string, unknown>;
    return resolve(defs[name]);
  }
  const alternatives = (node.oneOf ?? node.anyOf) as unknown;
  if (Array.isArray(alternatives)) return alternatives.flatMap(resolve);
  return [node];
}

/** The schemas at a key path (`[]` marks a list item), narrowed by the item's `type` when known. */
export function schemasAt(path: string[], stepType: string | null): Schema[] {
  let current: Schema[] = [ROOT];
  for (const key of path) {
    current = current.flatMap((s) => {
      if (key === '[]') return resolve(s.items);
      const props = isRecord(s.properties) ? s.properties : {};
      return resolve(props[key] ?? (isRecord(s.additionalProperties) ? s.additionalProperties : undefined));
    });
  }
  if (stepType !== null) {
    const narrowed = current.filter((s) => {
      const t = isRecord(s.properties) ? s.properties.type : undefined;
      return !isRecord(t) || t.const === undefined || t.const === stepType;
    });
    if (narrowed.length > 0) return narrowed;
  }
  return current;
}

export interface KeyHint {
  label: string;
  detail?: string;
}

export function keysAt(path: string[], stepType: string | null): KeyHint[] {
  const seen = new Map<string, KeyHint>();
  for (const s of schemasAt(path, stepType))
    if (isRecord(s.properties))
      for (const [key, value] of Object.entries(s.properties))
        if (!seen.has(key))
          seen.set(key, {
            label: key,
            ...(isRecord(value) && typeof value.description === 'string'
              ? { detail: value.description }
              : {}),
          });
  return [...seen.values()];
}

export function valuesAt(path: string[], stepType: string | null): string[] {
  const values = new Set<string>();
  for (const s of schemasAt(path, stepType)) {
    if (s.const !== undefined) values.add(String(s.const));
    if (Array.isArray(s.enum)) for (const v of s.enum) values.add(String(v));
  }
  return [...values];
}

/** Where the cursor is in YAML text: the key path of its parent mapping and the enclosing item's `type`. */
export function yamlContext(
  text: string,
  offset: number,
): { path: string[]; stepType: string | null; line: string } {
  const before = text.slice(0, offset).split('\n');
  const line = before[before.length - 1] ?? '';
  const shape = (l: string) => {
    const m = /^(\s*)(-\s+)?(?:([\w$]+):(.*))?/.exec(l) as RegExpExecArray;
    const dashCol = m[2] === undefined ? -1 : (m[1] ?? '').length;
    return {
      dashCol,
      keyCol: (m[1] ?? '').length + (m[2] ?? '').length,
      key: m[3],
      rest: (m[4] ?? '').trim(),
    };
  };
  const path: string[] = [];
  const here = shape(line);
  let col = here.keyCol;
  let innermost = true;
  let stepType: string | null = null;
  const typeOf = (l: string) => /^\s*(?:-\s+)?type:\s*([\w-]+)/.exec(l)?.[1] ?? null;
  if (here.dashCol !== -1) {
    path.unshift('[]');
    col = here.dashCol;
    innermost = false;
    for (const l of text.slice(offset).split('\n').slice(1)) {
      const s = shape(l);
      if (l.trim() === '') continue;
      if (s.keyCol !== here.keyCol || s.dashCol !== -1) break;
      stepType ??= typeOf(l);
    }
  } else
    for (const l of text.slice(offset).split('\n').slice(1)) {
      const s = shape(l);
      if (l.trim() === '') continue;
      if (s.keyCol < col || s.dashCol !== -1) break;
      if (s.keyCol === col) stepType ??= typeOf(l);
    }
  for (let i = before.length - 2; i >= 0 && col > 0; i--) {
    const l = before[i] ?? '';
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    const s = shape(l);
    if (s.keyCol === col && innermost) stepType ??= typeOf(l);
    if (s.keyCol === col && s.dashCol !== -1) {
      path.unshift('[]');
      col = s.dashCol;
      innermost = false;
    } else if (s.keyCol < col && s.key !== undefined && (s.rest === '' || s.rest.startsWith('#'))) {
      path.unshift(s.key);
      col = s.keyCol;
      innermost = false;
      if (s.dashCol !== -1) {
        path.unshift('[]');
        col = s.dashCol;
      }
    }
  }
  return { path, stepType, line };
}
