/**
 * What `slipway secrets set|list|rm` do. They work on the secrets file directly, not through the
 * controller: the file is the source of truth (committed, shared through git), so they work
 * before the first `slipway up`, in CI and on a teammate's machine without a controller, and no
 * secret value ever crosses the controller's API (ADR 0017). The controller reads the file when
 * it deploys.
 */
import { findConfigFile, loadConfig } from '../config/load.js';
import type { SlipwayConfig } from '../config/schema.js';
import { SlipwayError } from '../core/errors.js';
import { currentUser } from '../core/user.js';
import { encryptValue } from './age-box.js';
import { findOrCreateKey } from './key.js';
import { RESERVED_NAMES, SECRET_NAME, readSecretsFile, secretsFilePath, writeSecretsFile } from './secrets-file.js';

/** Values are environment variables: a few KiB at most in practice; this bounds what is read and encrypted. */
export const MAX_SECRET_BYTES = 64 * 1024;

export interface SecretsProject {
  configFile: string;
  config: SlipwayConfig;
  /** The secrets file beside the config. */
  file: string;
}

export function openSecretsProject(dir: string): SecretsProject {
  const configFile = findConfigFile(dir);
  return { configFile, config: loadConfig(configFile).config, file: secretsFilePath(configFile) };
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name))
    throw SlipwayError.of('SECRET_NAME_INVALID', `"${name}" is not a usable secret name`, {
      hint: 'A secret is an environment variable: letters, digits and _, not starting with a digit (e.g. DATABASE_URL).',
    });
  if (RESERVED_NAMES.has(name))
    throw SlipwayError.of('SECRET_NAME_INVALID', `${name} is set by Slipway for every instance and cannot be a secret`, {
      hint: 'Give the secret another name.',
    });
}

/** Services of the config that declare `name`. */
function usersOf(config: SlipwayConfig, name: string): string[] {
  return Object.entries(config.services)
    .filter(([, s]) => s.secrets?.includes(name))
    .map(([n]) => n);
}

export interface SetSecretResult {
  environment: string;
  name: string;
  file: string;
  changedAt: string;
  /** false when the name had a value before. */
  added: boolean;
  /** Services that declare it (a deploy of each picks the new value up). */
  usedBy: string[];
  /** The key file created by this call (first use), if any. */
  keyCreated: string | null;
}

/** Encrypts `value` to the file's recipient (or to a key created now, on first use) and stores it. */
export async function setSecret(p: SecretsProject, environment: string, name: string, value: string): Promise<SetSecretResult> {
  checkSecretName(name);
  checkSecretValue(name, value);
  const doc = readSecretsFile(p.file);
  let keyCreated: string | null = null;
  // Encrypting needs only the public recipient: a teammate without the key can still set a value.
  if (doc.recipient === null) {
    const key = await findOrCreateKey(p.config.app);
    doc.recipient = key.recipient;
    if (key.created) keyCreated = key.source;
  }
  const changedAt = new Date().toISOString();
  const names = (doc.environments[environment] ??= {});
  const added = !names[name];
  names[name] = { value: await encryptValue(doc.recipient, value), changedAt, changedBy: currentUser() };
  writeSecretsFile(p.file, doc);
  return { environment, name, file: p.file, changedAt, added, usedBy: usersOf(p.config, name), keyCreated };
}

export function checkSecretValue(name: string, value: string): void {
  const problem =
    value === ''
      ? 'is empty'
      : Buffer.byteLength(value) > MAX_SECRET_BYTES
        ? `is over ${MAX_SECRET_BYTES / 1024} KiB`
        : value.includes('\0')
          ? 'holds a NUL byte, which no environment variable can'
          : undefined;
  if (problem)
    throw SlipwayError.of('SECRET_VALUE_INVALID', `the value given for ${name} ${problem}; nothing was changed`, {
      hint: `Give the value on standard input, e.g. printf %s "$VALUE" | slipway secrets set ${name} (or < file).`,
    });
}

export interface SecretListing {
  environment: string;
  name: string;
  /** false: a service declares it but it has no value in this environment (a deploy would be refused). */
  set: boolean;
  changedAt: string | null;
  changedBy: string | null;
  usedBy: string[];
}

export interface SecretsListResult {
  file: string;
  recipient: string | null;
  secrets: SecretListing[];
}

/** Names, when each changed and who uses it, per environment (all, or `environment`); never values. */
export function listSecrets(p: SecretsProject, environment?: string): SecretsListResult {
  const doc = readSecretsFile(p.file);
  const envs =
    environment !== undefined
      ? [environment]
      : [...new Set([...Object.keys(p.config.environments), ...Object.keys(doc.environments)])].sort();
  const declared = [...new Set(Object.values(p.config.services).flatMap((s) => s.secrets ?? []))];
  const secrets: SecretListing[] = [];
  for (const env of envs) {
    const stored = doc.environments[env] ?? {};
    for (const name of [...new Set([...Object.keys(stored), ...declared])].sort()) {
      const e = stored[name];
      secrets.push({
        environment: env,
        name,
        set: !!e,
        changedAt: e?.changedAt ?? null,
        changedBy: e?.changedBy ?? null,
        usedBy: usersOf(p.config, name),
      });
    }
  }
  return { file: p.file, recipient: doc.recipient, secrets };
}

export interface RemoveSecretResult {
  environment: string;
  name: string;
  file: string;
  /** Services that still declare it: their next deploy is refused until it is set again. */
  usedBy: string[];
}

export function removeSecret(p: SecretsProject, environment: string, name: string): RemoveSecretResult {
  checkSecretName(name);
  const doc = readSecretsFile(p.file);
  const names = doc.environments[environment];
  if (!names?.[name]) {
    const known = Object.keys(names ?? {});
    throw SlipwayError.of('SECRET_NOT_FOUND', `no secret ${name} in environment "${environment}" (${p.file})`, {
      hint: known.length ? `Secrets there: ${known.join(', ')}.` : `See them with: slipway secrets list --env ${environment}`,
    });
  }
  delete names[name];
  writeSecretsFile(p.file, doc);
  // Releases already deployed keep their copy (and go on running with it); the next deploy needs it again.
  return { environment, name, file: p.file, usedBy: usersOf(p.config, name) };
}
