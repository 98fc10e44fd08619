/**
 * Secrets as a release holds them: at deploy, the service's declared secrets are read from the
 * secrets file of the environment and copied into the release record as they are stored there
 * (age ciphertext), with their hash. Every start of an instance of the release (first start,
 * restart after a crash, after a controller restart, rollback to it) decrypts that copy, so a
 * release always runs with the values it was deployed with, like its artifact and its config,
 * and a changed secret reaches instances only through a new release (ADR 0017).
 */
import { SlipwayError } from '../core/errors.js';
import { decryptValue } from './age-box.js';
import { findKey, requireKey, keySource } from './key.js';
import { readSecretsFile, secretsFilePath } from './secrets-file.js';
import { secretsHash } from './secrets-hash.js';

export interface ReleaseSecrets {
  /** `hmac-sha256:<hex>` of the names and values (secrets-hash.ts): tells changes, never values. */
  hash: string;
  /** Name → armored age ciphertext, as in the secrets file at deploy time. */
  values: Record<string, string>;
  /** The app whose key decrypts them (names the default key file), so a start needs no readable slipway.yaml. */
  app?: string;
}

export interface SnapshotRequest {
  /** slipway.yaml; the secrets file sits beside it. */
  configFile: string;
  app: string;
  environment: string;
  service: string;
  /** The names the service declares (`secrets:`). */
  names: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Refuses (`SECRET_NOT_SET`) when a service of `needs` (service → declared names) lacks a secret
 * in `environment`, listing every missing one of every service at once. Reads names only: no key.
 */
export function requireSecretsSet(configFile: string, environment: string, needs: Record<string, readonly string[]>): void {
  const path = secretsFilePath(configFile);
  const wanted = Object.entries(needs).filter(([, names]) => names.length > 0);
  if (wanted.length === 0) return;
  const set = readSecretsFile(path).environments[environment] ?? {};
  const missing = wanted.map(([service, names]) => [service, names.filter((n) => !set[n])] as const).filter(([, m]) => m.length > 0);
  if (missing.length === 0) return;
  const names = [...new Set(missing.flatMap(([, m]) => m))];
  const who = missing.map(([service, m]) => `${service} needs ${m.join(', ')}`).join('; ');
  const list = names.map((n) => `\`printf %s "$VALUE" | slipway secrets set ${n} --env ${environment}\``).join(', then ');
  throw SlipwayError.of('SECRET_NOT_SET', `${who}: not set in environment "${environment}" (${path}); nothing was started`, {
    hint: `Set ${names.length > 1 ? 'them' : 'it'}: ${list}.`,
    details: { missing: Object.fromEntries(missing), environment },
  });
}

/** The release's copy of the service's secrets, or null when it declares none. Refuses when one is not set. */
export async function snapshotSecrets(req: SnapshotRequest): Promise<ReleaseSecrets | null> {
  if (req.names.length === 0) return null;
  requireSecretsSet(req.configFile, req.environment, { [req.service]: req.names });
  const path = secretsFilePath(req.configFile);
  const doc = readSecretsFile(path);
  const set = doc.environments[req.environment] ?? {};
  const key = await requireKey(req.app, `deploy ${req.service}'s secrets`, req.env);
  if (doc.recipient !== null && doc.recipient !== key.recipient) {
    throw SlipwayError.of(
      'SECRETS_KEY_MISMATCH',
      `${path} is encrypted to ${doc.recipient}, but the key from ${key.source} is ${key.recipient}'s`,
      { hint: `Use the team's key for "${req.app}" (the one whose public key is ${doc.recipient}) in ${keySource(req.app, req.env)}.` },
    );
  }
  const values = Object.fromEntries(req.names.map((n) => [n, set[n]!.value]));
  const plain = await decryptAll(key.identity, values, req.environment);
  return { hash: secretsHash(key.identity, plain), values, app: req.app };
}

/** The plaintext values of a release's secrets (for an instance's environment; never stored). */
export async function decryptSnapshot(
  app: string,
  snapshot: ReleaseSecrets,
  environment: string,
  env?: NodeJS.ProcessEnv,
): Promise<Record<string, string>> {
  const key = await requireKey(app, 'start instances with secrets', env);
  return decryptAll(key.identity, snapshot.values, environment);
}

async function decryptAll(identity: string, values: Record<string, string>, environment: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, armored] of Object.entries(values))
    out[name] = await decryptValue(identity, armored, `secret ${name} of environment "${environment}"`);
  return out;
}

/** Answers of `secretsChangedSince` by what they compared, so that status does not decrypt on every call. */
const changedCache = new Map<string, boolean>();

/**
 * Whether the secrets file no longer holds what `deployed` was deployed with, in `environment`.
 * Identical ciphertexts: unchanged, no key needed. Different ones (a secret set again, maybe to
 * the same value): the values' keyed hash decides, when the key is at hand; without it, changed.
 * A file that cannot be read counts as unchanged: the deploy that needs it reports why.
 */
export async function secretsChangedSince(
  configFile: string,
  app: string,
  environment: string,
  deployed: ReleaseSecrets,
): Promise<boolean> {
  let now: Record<string, { value: string }>;
  try {
    now = readSecretsFile(secretsFilePath(configFile)).environments[environment] ?? {};
  } catch {
    return false;
  }
  const names = Object.keys(deployed.values);
  if (names.some((n) => !now[n])) return true;
  if (names.every((n) => now[n]!.value === deployed.values[n])) return false;
  const cacheKey = `${deployed.hash}\n${names.map((n) => now[n]!.value).join('\n')}`;
  const cached = changedCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let changed = true;
  try {
    const key = await findKey(app);
    if (key)
      changed =
        secretsHash(key.identity, await decryptAll(key.identity, Object.fromEntries(names.map((n) => [n, now[n]!.value])), environment)) !==
        deployed.hash;
  } catch {
    /* no usable key: cannot tell, so say changed (the deploy will know) */
  }
  if (changedCache.size > 100) changedCache.clear();
  changedCache.set(cacheKey, changed);
  return changed;
}
