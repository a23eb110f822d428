// The roles, lowest first, and the one way to compare them. Imported by the definition format, the core's
// authorization and the dashboard alike, so nobody ranks roles by a list of their own.

export const ROLES = ['viewer', 'member', 'lead', 'manager', 'director', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Rank of a role (viewer 0 … admin 5); -1 for anything that is not a role. */
export function roleRank(role: string): number {
  return (ROLES as readonly string[]).indexOf(role);
}

/** Whether `role` is `least` or above; anything that is not a role never is. */
export function ranksAtLeast(role: string, least: Role): boolean {
  const rank = roleRank(role);
  return rank >= 0 && rank >= roleRank(least);
}
