/**
 * The shared secrets file, `slipway.secrets.yaml` beside slipway.yaml: per environment and name,
 * the value as an armored age ciphertext, with when and by whom it was last changed. Like a sops
 * file it holds nothing readable without the key, so a team commits it and shares secrets through
 * git; names and times stay readable so that `slipway secrets list` and reviews need no key.
 *
 *   version: 1
 *   recipient: age1…            # every value is encrypted to this key's public half
 *   environments:
 *     production:
 *       API_KEY:
 *         changedAt: "2026-11-29T18:00:00.000Z"
 *         changedBy: alice
 *         value: |
 *           -----BEGIN AGE ENCRYPTED FILE-----
 *           …
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify, parse } from 'yaml';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { isRecipient } from './age-box.js';

export const SECRETS_FILE_NAME = 'slipway.secrets.yaml';
export const SECRETS_FILE_VERSION = 1;

/** A secret's name is an environment variable's name. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names Slipway sets itself for every instance: a secret of that name would be overwritten. */
export const RESERVED_NAMES = new Set(['PORT', 'SLIPWAY_RELEASE', 'SLIPWAY_INSTANCE', 'SLIPWAY_SERVICE']);

const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';

const entrySchema = z.strictObject({
  value: z.string().refine((v) => v.trimStart().startsWith(ARMOR_BEGIN), { message: `expected an armored age value (${ARMOR_BEGIN})` }),
  changedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected a date and time (ISO 8601)' }),
  changedBy: z.string().optional(),
});

const fileSchema = z.strictObject({
  version: z.literal(SECRETS_FILE_VERSION),
  recipient: z.string().refine(isRecipient, { message: 'expected an age X25519 recipient (age1…)' }).nullable().prefault(null),
  environments: z.record(z.string().min(1), z.record(z.string().regex(SECRET_NAME, 'expected a variable name'), entrySchema)).prefault({}),
});

export type SecretEntry = z.output<typeof entrySchema>;
export type SecretsDocument = z.output<typeof fileSchema>;

/** The secrets file of the project whose config is `configFile`. */
export function secretsFilePath(configFile: string): string {
  return join(dirname(configFile), SECRETS_FILE_NAME);
}

/** The file's content; an empty document when there is no file yet. */
export function readSecretsFile(path: string): SecretsDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: SECRETS_FILE_VERSION, recipient: null, environments: {} };
    throw SlipwayError.of('SECRETS_FILE_INVALID', `cannot read ${path}: ${(err as Error).message}`, {
      hint: 'Check its owner and mode.',
    });
  }
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 0 }) ?? {};
  } catch (err) {
    throw invalid(path, (err as Error).message.split('\n')[0]!);
  }
  const r = fileSchema.safeParse(data);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw invalid(path, `${first.path.join('.') || '(top)'}: ${first.message}`);
  }
  return r.data;
}

/** Writes the document atomically. Mode 0644: it holds only ciphertext and is meant to be committed. */
export function writeSecretsFile(path: string, doc: SecretsDocument): void {
  const environments = Object.fromEntries(
    Object.entries(doc.environments)
      .filter(([, names]) => Object.keys(names).length > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([env, names]) => [env, Object.fromEntries(Object.entries(names).sort(([a], [b]) => a.localeCompare(b)))]),
  );
  const header =
    '# Slipway secrets: every value is encrypted with age (https://age-encryption.org) to the recipient below.\n' +
    '# Safe to commit; the key stays out of git. Change it with `slipway secrets set|rm`, read it with `slipway secrets list`.\n';
  writeFileAtomic(
    path,
    header + stringify({ version: SECRETS_FILE_VERSION, recipient: doc.recipient, environments }, { lineWidth: 0 }),
    0o644,
  );
}

function invalid(path: string, problem: string): SlipwayError {
  return SlipwayError.of('SECRETS_FILE_INVALID', `${path} is not a valid secrets file: ${problem}`, {
    hint: 'It is written by `slipway secrets set|rm`; after a bad merge, take one side (git checkout --ours/--theirs) and set the other values again.',
  });
}
