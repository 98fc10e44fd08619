/**
 * Where the secrets key (an age identity) comes from, in this order:
 *   1. SLIPWAY_SECRETS_KEY: the identity itself (`AGE-SECRET-KEY-1…`), for CI and services;
 *   2. SLIPWAY_SECRETS_KEY_FILE: a key file anywhere;
 *   3. the user's key file for the app: `$XDG_CONFIG_HOME/slipway/keys/<app>.txt`
 *      (`~/.config/slipway/keys/<app>.txt`), created with mode 0600 on first use.
 * Never in the project: the key must not be committed beside the file it opens, nor packed into
 * an artifact, nor lost with `.slipway/` (ADR 0017). Key files are in age-keygen's format, so
 * `age -d -i <key file>` uses them as they are.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { isIdentity, newIdentity, recipientOf } from './age-box.js';

export const KEY_ENV = 'SLIPWAY_SECRETS_KEY';
export const KEY_FILE_ENV = 'SLIPWAY_SECRETS_KEY_FILE';

export interface SecretsKey {
  identity: string;
  recipient: string;
  /** Where it came from, for messages: "SLIPWAY_SECRETS_KEY" or the key file's path. */
  source: string;
}

/** The key file used for `app` when SLIPWAY_SECRETS_KEY is not set. */
export function keyFilePath(app: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env[KEY_FILE_ENV]) return env[KEY_FILE_ENV];
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'slipway', 'keys', `${app}.txt`);
}

/** Where the key would come from, in words (for hints): the variable, or the file. */
export function keySource(app: string, env: NodeJS.ProcessEnv = process.env): string {
  return env[KEY_ENV] ? KEY_ENV : keyFilePath(app, env);
}

/** The key, or undefined when there is none (no variable, no file). A key that is there but unusable is an error. */
export async function findKey(app: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretsKey | undefined> {
  const inline = env[KEY_ENV];
  if (inline) return fromText(inline, KEY_ENV);
  const path = keyFilePath(app, env);
  let text: string;
  try {
    const st = statSync(path);
    // As ssh does with private keys: a key others can read is not used (and so not trusted to be ours alone).
    if ((st.mode & 0o077) !== 0) {
      throw SlipwayError.of(
        'SECRETS_KEY_INVALID',
        `the secrets key ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`,
        { hint: `Make it yours alone: chmod 600 ${path}` },
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof SlipwayError) throw err;
    throw SlipwayError.of('SECRETS_KEY_INVALID', `cannot read the secrets key ${path}: ${(err as Error).message}`, {
      hint: `Check the file's owner and mode (chmod 600 ${path}), or give the key in ${KEY_ENV}.`,
    });
  }
  return fromText(text, path);
}

/** The key; without one, an error saying where to put it. */
export async function requireKey(app: string, why: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretsKey> {
  const key = await findKey(app, env);
  if (key) return key;
  throw SlipwayError.of('SECRETS_KEY_MISSING', `no secrets key to ${why}: neither ${KEY_ENV} nor ${keyFilePath(app, env)} is set`, {
    hint: `Ask a teammate for the key of "${app}" and save it as ${keyFilePath(app, env)} (chmod 600), or put it in ${KEY_ENV}.`,
  });
}

/**
 * The key, created on first use: a new identity written to the key file with mode 0600 (O_EXCL,
 * so two first uses at once agree on one key).
 */
export async function findOrCreateKey(app: string, env: NodeJS.ProcessEnv = process.env): Promise<SecretsKey & { created: boolean }> {
  const found = await findKey(app, env);
  if (found) return { ...found, created: false };
  const path = keyFilePath(app, env);
  const identity = await newIdentity();
  const recipient = await recipientOf(identity);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { ...(await requireKey(app, 'encrypt with', env)), created: false };
    throw SlipwayError.of('SECRETS_KEY_INVALID', `cannot create the secrets key ${path}: ${(err as Error).message}`, {
      hint: `Create the directory ${dirname(path)} or point ${KEY_FILE_ENV} at a writable place.`,
    });
  }
  try {
    writeSync(fd, `# created: ${new Date().toISOString()} by slipway for app "${app}"\n# public key: ${recipient}\n${identity}\n`);
  } finally {
    closeSync(fd);
  }
  return { identity, recipient, source: path, created: true };
}

async function fromText(text: string, source: string): Promise<SecretsKey> {
  // age-keygen's format: comment lines, then the identity. Only the first identity is used.
  const identity = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
  if (!identity || !isIdentity(identity)) {
    throw SlipwayError.of('SECRETS_KEY_INVALID', `${source} does not hold an age identity (a line AGE-SECRET-KEY-1…)`, {
      hint: 'Give the key as age-keygen writes it (X25519, "AGE-SECRET-KEY-1…"); `age-keygen -o FILE` makes one.',
    });
  }
  return { identity, recipient: await recipientOf(identity), source };
}
