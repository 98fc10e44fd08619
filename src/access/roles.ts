/**
 * The four roles of an API token, each including the ones before it (ADR 0024 has the matrix):
 * viewer reads; deployer changes what runs (deploy, ship, rollback, promote, pause, resume, abort,
 * retry, restart, scale, plan, exec); approver also approves and rejects; admin also manages
 * tokens and stops the controller.
 */
import type { Role } from '../store/access-types.js';

export type { Role };

export const ROLES: readonly Role[] = ['viewer', 'deployer', 'approver', 'admin'];

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** Whether a token of role `has` may do what needs role `needs`. */
export function roleIncludes(has: Role, needs: Role): boolean {
  return ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

/** Whether a token limited to `environments` (null: all) may act on `environment`. */
export function environmentAllowed(environments: readonly string[] | null, environment: string): boolean {
  return environments === null || environments.includes(environment);
}
