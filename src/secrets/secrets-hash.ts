/**
 * The hash a release records of its secrets: HMAC-SHA256 over the names and values, keyed with a
 * key derived from the secrets key (HKDF). Equal values give equal hashes, so setting a secret to
 * the value it had deploys nothing, and any change gives a new release. Keyed, because a plain
 * hash of a low-entropy value ("hunter2", a 6-digit PIN) shown by `slipway history` could be
 * guessed offline; without the secrets key the HMAC tells nothing, and whoever has the key can
 * decrypt the values anyway (ADR 0017).
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { canonicalJson } from '../core/hash.js';

const INFO = 'slipway secrets hash v1';

export function secretsHash(identity: string, values: Record<string, string>): string {
  const key = Buffer.from(hkdfSync('sha256', identity, 'slipway', INFO, 32));
  return `hmac-sha256:${createHmac('sha256', key).update(canonicalJson(values)).digest('hex')}`;
}
