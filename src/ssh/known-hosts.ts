/**
 * Host keys checked against an OpenSSH known_hosts file (ADR 0020): plain and hashed (`|1|salt|hash`)
 * host names, `[host]:port` for ports other than 22, comma-separated patterns with `*`, `?` and
 * `!negation`, and `@revoked` lines. `@cert-authority` lines are not supported and are skipped.
 * A host the file names with no key equal to the one presented has a changed key, and is refused;
 * a host it does not name is unknown: refused too, unless first-use pinning was asked for, which
 * appends the key presented.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownKey {
  type: string;
  /** The key blob in base64, as the file has it. */
  key: string;
  line: number;
}

export interface HostKeys {
  /** Keys the file lists for this host (empty: unknown host). */
  keys: KnownKey[];
  /** Keys the file marks @revoked that match this host. */
  revoked: KnownKey[];
}

/** `host` or `[host]:port`, as known_hosts names a host. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** SHA256:… as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function keyType(keyBlob: Buffer): string {
  const n = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + n).toString('latin1');
}

export function lookupHost(file: string, host: string, port: number): HostKeys {
  const out: HostKeys = { keys: [], revoked: [] };
  if (!existsSync(file)) return out;
  const token = hostToken(host, port);
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split(/\s+/);
      let marker: string | undefined;
      if (fields[0]!.startsWith('@')) marker = fields.shift();
      if (marker === '@cert-authority' || fields.length < 3) return;
      const [patterns, type, key] = fields as [string, string, string];
      if (!matchesPatterns(patterns, token)) return;
      (marker === '@revoked' ? out.revoked : out.keys).push({ type, key, line: i + 1 });
    });
  return out;
}

/** Appends the host's key (first-use pinning, asked for explicitly). */
export function pinHost(file: string, host: string, port: number, keyBlob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${sep}${hostToken(host, port)} ${keyType(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}

function matchesPatterns(patterns: string, token: string): boolean {
  if (patterns.startsWith('|1|')) return matchesHashed(patterns, token);
  let matched = false;
  for (const p of patterns.split(',')) {
    const negated = p.startsWith('!');
    if (globMatch(negated ? p.slice(1) : p, token)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

function matchesHashed(entry: string, token: string): boolean {
  const [, , salt, hash] = entry.split('|');
  if (!salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64') === hash;
}

function globMatch(pattern: string, text: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === text.toLowerCase();
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(text);
}

/** The host key algorithms to offer for keys of these types, so the server presents one we know. */
export function algorithmsFor(types: Iterable<string>): string[] {
  const out: string[] = [];
  for (const t of new Set(types)) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return out;
}
