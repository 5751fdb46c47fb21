/** Roles nest: admin ⊃ operator ⊃ viewer. A route names the least role it needs. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** True when `held` is at least `required`. */
export const roleSatisfies = (held: Role, required: Role): boolean =>
  ROLES.indexOf(held) >= ROLES.indexOf(required);

/** Who did something; goes into every event's metadata. */
export interface Actor {
  kind: 'user' | 'agent' | 'schedule' | 'system';
  id: string;
  name?: string;
  role?: Role;
}
