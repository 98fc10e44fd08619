/**
 * The age format (https://age-encryption.org/v1) through `age-encryption`, the TypeScript
 * implementation by age's author: X25519 identities (`AGE-SECRET-KEY-1…`) and recipients
 * (`age1…`), values stored ASCII-armored, so the stock `age -d -i KEYFILE` reads every value
 * Slipway writes (a test checks it). ADR 0017 says why age.
 */
import { Decrypter, Encrypter, armor, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { SlipwayError } from '../core/errors.js';

const IDENTITY = /^AGE-SECRET-KEY-1[023456789ACDEFGHJKLMNPQRSTUVWXYZ]{58}$/;
const RECIPIENT = /^age1[023456789acdefghjklmnpqrstuvwxyz]{58}$/;

/** A fresh X25519 identity. Not the hybrid post-quantum kind: age 1.1 (Debian 12) cannot read those. */
export function newIdentity(): Promise<string> {
  return generateX25519Identity();
}

export function isIdentity(s: string): boolean {
  return IDENTITY.test(s);
}

export function isRecipient(s: string): boolean {
  return RECIPIENT.test(s);
}

export function recipientOf(identity: string): Promise<string> {
  return identityToRecipient(identity);
}

/** Encrypts `value` to `recipient`; the result is an armored age file ("-----BEGIN AGE ENCRYPTED FILE-----…"). */
export async function encryptValue(recipient: string, value: string): Promise<string> {
  const e = new Encrypter();
  e.addRecipient(recipient);
  return armor.encode(await e.encrypt(value));
}

/**
 * Decrypts one armored value. `what` names it in the error (never the value: a failure says
 * which secret, and that the key does not fit or the text was damaged).
 */
export async function decryptValue(identity: string, armored: string, what: string): Promise<string> {
  const d = new Decrypter();
  d.addIdentity(identity);
  try {
    return await d.decrypt(armor.decode(armored), 'text');
  } catch (err) {
    throw SlipwayError.of('SECRET_DECRYPT_FAILED', `${what} cannot be decrypted with this key: ${(err as Error).message}`, {
      hint: 'The key does not fit the value (it was encrypted to another recipient) or the value was damaged: set it again with `slipway secrets set`, or use the key it was written with.',
    });
  }
}
