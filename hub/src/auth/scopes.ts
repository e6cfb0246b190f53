/** Scopes, each including the ones before it: admin ⊃ write ⊃ read. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  return granted.some((g) => RANK[g] >= RANK[needed]);
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}
