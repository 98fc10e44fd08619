/**
 * The local user's admin token: created by the controller at start (so by `slipway up`) when
 * `.slipway/token` holds no live admin token, and written there with mode 0600. The CLI reads it
 * by default; revoking it rotates it at the next start.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-file.js';
import { currentUser } from '../core/user.js';
import type { Store } from '../store/store.js';
import { audit } from './audit.js';
import { createToken, verifyToken } from './tokens.js';

export function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The value of the local admin token, made anew when the file's is missing, unknown, revoked, expired or not an admin for all environments. */
export async function ensureLocalToken(store: Store, file: string, now: number): Promise<string> {
  const current = readTokenFile(file);
  if (current) {
    const p = await verifyToken(store, current, now);
    if (typeof p === 'object' && p.role === 'admin' && p.environments === null) return current;
  }
  const name = `local:${currentUser()}`;
  // Its old value is lost (or no longer good): the name goes to the new one.
  for (const t of await store.listTokens())
    if (t.name === name && t.revokedAt === null) {
      await store.revokeToken(t.id, now);
      await audit(store, {
        actor: 'controller',
        action: 'token.revoke',
        at: now,
        before: { name, id: t.id },
        reason: 'local token rotated',
        outcome: 'ok',
      });
    }
  const { token, value } = await createToken(store, {
    name,
    role: 'admin',
    environments: null,
    expiresAt: null,
    createdBy: 'controller',
    now,
  });
  writeFileAtomic(file, value + '\n');
  await audit(store, {
    actor: 'controller',
    action: 'token.create',
    at: now,
    after: { id: token.id, name, role: 'admin', environments: null },
    reason: 'the local user’s admin token (slipway up)',
    outcome: 'ok',
  });
  return value;
}
