/**
 * API tokens (ADR 0024): 256 random bits, shown once, kept only as their SHA-256. A token is found
 * by the hash of what the request presents, so no stored value is ever compared with it; the
 * hash of a 256-bit random value cannot be reversed or guessed, so no slow (salted) hash is needed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SlipwayError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { ApiToken, Role } from '../store/access-types.js';
import { isRole, ROLES } from './roles.js';

/** Tokens start with this, so that secret scanners (and people) can tell one when they see it. */
export const TOKEN_PREFIX = 'slw_';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;

export function newTokenValue(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Who a request acts as: the token's name, role and environments. */
export interface Principal {
  tokenId: number;
  name: string;
  role: Role;
  environments: string[] | null;
}

/** The live token `value` is, or why there is none (for the 401's message; the value is never repeated). */
export async function verifyToken(store: Store, value: string, now: number): Promise<Principal | 'unknown' | 'revoked' | 'expired'> {
  const t = await store.findToken(hashToken(value));
  if (!t) return 'unknown';
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return { tokenId: t.id, name: t.name, role: t.role, environments: t.environments };
}

export interface CreateTokenOptions {
  name: string;
  role: string;
  environments: string[] | null;
  expiresAt: number | null;
  createdBy: string;
  now: number;
}

/** Creates a token and returns it with its value: the only time the value exists outside the caller. */
export async function createToken(store: Store, o: CreateTokenOptions): Promise<{ token: ApiToken; value: string }> {
  if (!isRole(o.role)) throw SlipwayError.of('TOKEN_REQUEST_INVALID', `"${o.role}" is not a role`, { hint: `Roles: ${ROLES.join(', ')}` });
  if (!NAME.test(o.name))
    throw SlipwayError.of('TOKEN_REQUEST_INVALID', `"${o.name}" is not a token name`, {
      hint: 'Use 1 to 64 letters, digits and . _ : @ - (starting with a letter or digit), e.g. --name ci-staging.',
    });
  if (o.environments !== null && o.environments.length === 0)
    throw SlipwayError.of('TOKEN_REQUEST_INVALID', 'a token needs at least one environment', {
      hint: 'Name them with --env (repeatable), or leave --env out for all of them.',
    });
  if (o.expiresAt !== null && o.expiresAt <= o.now)
    throw SlipwayError.of('TOKEN_REQUEST_INVALID', 'the token would expire before it is created', {
      hint: 'Give --expires a duration such as 30d or 12h.',
    });
  const value = newTokenValue();
  const token = await store.createToken({
    name: o.name,
    role: o.role,
    environments: o.environments,
    createdBy: o.createdBy,
    createdAt: o.now,
    expiresAt: o.expiresAt,
    hash: hashToken(value),
  });
  return { token, value };
}

/** The live token a NAME or numeric ID names. */
export async function findLiveToken(store: Store, nameOrId: string): Promise<ApiToken> {
  const live = (await store.listTokens()).filter((t) => t.revokedAt === null);
  const t = /^\d+$/.test(nameOrId) ? live.find((x) => x.id === Number(nameOrId)) : live.find((x) => x.name === nameOrId);
  if (!t)
    throw SlipwayError.of('TOKEN_NOT_FOUND', `no live token named or numbered "${nameOrId}"`, {
      hint: live.length ? `Live tokens: ${live.map((x) => `${x.name} (#${x.id})`).join(', ')}` : 'There are no live tokens.',
    });
  return t;
}
