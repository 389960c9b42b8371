/**
 * Who is who. `roles.leads` and `roles.oncall` in `tunnelgate.yaml` list user ids or platform role
 * ids (e.g. a Discord role); an actor holds a role when their id or one of their platform roles is
 * listed. Everyone is a `member`.
 */
import { z } from 'zod';
import type { RolesConfig } from '../config/schema.js';
import type { Actor } from './models/command.js';

export const Role = z.enum(['lead', 'oncall', 'member']);
export type Role = z.infer<typeof Role>;

/** The roles an actor holds under the given config; always includes `member`. */
export function rolesOf(actor: Actor, roles: RolesConfig): Set<Role> {
  const ids = new Set([actor.id, ...actor.platformRoles]);
  const held = new Set<Role>(['member']);
  if (roles.leads.some((id) => ids.has(id))) held.add('lead');
  if (roles.oncall.some((id) => ids.has(id))) held.add('oncall');
  return held;
}

/** True when the actor may approve, deny and offboard. */
export function isLead(actor: Actor, roles: RolesConfig): boolean {
  return rolesOf(actor, roles).has('lead');
}

/** True when the actor may diagnose any peer or hub (on-call engineers and leads). */
export function canDiagnose(actor: Actor, roles: RolesConfig): boolean {
  const held = rolesOf(actor, roles);
  return held.has('oncall') || held.has('lead');
}

/**
 * The ids configured as leads (user ids or platform role ids), without duplicates, e.g. to mention
 * them when a request needs review.
 */
export function leadIds(roles: RolesConfig): string[] {
  return [...new Set(roles.leads)];
}

/**
 * True when `userId` itself is listed as a lead. Used where only a stored user id is known (an
 * approval record), so a lead by platform role alone does not count here.
 */
export function isLeadId(userId: string, roles: RolesConfig): boolean {
  return roles.leads.includes(userId);
}
