// A directory held in memory: users with their role, groups and manager (seeded from config or a scenario).
import { normalizeEmail } from '../../functions/core/identity.js';
import type { Directory } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';

export class InMemoryDirectory implements Directory {
  private readonly users = new Map<string, Identity>();

  constructor(users: Identity[]) {
    for (const user of users)
      this.users.set(user.email.toLowerCase(), { ...user, email: user.email.toLowerCase() });
  }

  async user(email: string): Promise<Identity | undefined> {
    return this.users.get(email.toLowerCase());
  }

  async resolve(spec: string): Promise<string[]> {
    if (spec.startsWith('role:')) {
      const role = spec.slice('role:'.length);
      return [...this.users.values()].filter((u) => u.role === role).map((u) => u.email);
    }
    if (spec.startsWith('group:')) {
      const group = spec.slice('group:'.length);
      return [...this.users.values()].filter((u) => u.groups.includes(group)).map((u) => u.email);
    }
    return spec.includes('@') ? [normalizeEmail(spec)] : [];
  }
}
