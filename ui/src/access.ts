/** What the signed-in token may do: the same role order as the controller's (src/access/roles.ts), used to hide actions it would refuse. */
import type { WhoAmIResponse } from '../../src/api/dashboard-types.js';

const ROLES = ['viewer', 'deployer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function may(who: WhoAmIResponse | undefined, needs: Role, environment: string | null): boolean {
  if (!who) return false;
  const roleOk = ROLES.indexOf(who.role) >= ROLES.indexOf(needs);
  const envOk = who.environments === null || (environment !== null && who.environments.includes(environment));
  return roleOk && envOk;
}
