// The vault's cascade, written once for every Vault adapter: the levels an identity's credentials are looked
// up in (its own, each of its groups in order, the org's), and per name the first level that holds it.
import type { ResolvedSecrets, SecretSource } from './ports.js';
import type { Identity } from './protocol.js';

/** A stored credential as an adapter found it: its level, its name, and whatever opens its value. */
export interface FoundSecret {
  scope: string;
  name: string;
}

/**
 * Resolves `names` for `identity`: `find` answers the stored credentials among the scopes and names asked
 * (any order, only those that exist), `open` decrypts one. Each name is answered by the first level holding
 * it; the names no level holds are `missing`, in the order asked.
 */
export async function resolveCascade<T extends FoundSecret>(
  identity: Pick<Identity, 'email' | 'groups'>,
  names: string[],
  find: (scopes: string[], names: string[]) => Promise<T[]> | T[],
  open: (found: T) => Promise<string> | string,
): Promise<ResolvedSecrets> {
  const wanted = [...new Set(names)];
  const levels: { scope: string; source: SecretSource }[] = [
    { scope: `user:${identity.email.toLowerCase()}`, source: 'user' },
    ...[...new Set(identity.groups)].map((g) => ({ scope: `group:${g}`, source: `group:${g}` as const })),
    { scope: 'org', source: 'org' },
  ];
  const result: ResolvedSecrets = { values: {}, sources: {}, missing: [] };
  if (wanted.length === 0) return result;
  const found = await find(
    levels.map((l) => l.scope),
    wanted,
  );
  const byKey = new Map(found.map((f) => [`${f.scope}\u0000${f.name}`, f]));
  for (const name of wanted) {
    const level = levels.find((l) => byKey.has(`${l.scope}\u0000${name}`));
    const item = level && byKey.get(`${level.scope}\u0000${name}`);
    if (level === undefined || item === undefined) {
      result.missing.push(name);
      continue;
    }
    result.values[name] = await open(item);
    result.sources[name] = level.source;
  }
  return result;
}
