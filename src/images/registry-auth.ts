/**
 * Registry credentials for podman and skopeo without putting the password on a command line
 * (where `ps` shows it to every local user) or in a file that outlives the command: a
 * containers-auth.json (the format of `podman login`'s file) in a fresh private directory, mode
 * 0600, removed as soon as the commands that need it are done.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryConfig } from './image-release.js';

/**
 * Runs `fn` with the path of an auth file holding `password` for `registry` (or with undefined
 * when the registry needs no credentials). The file is gone when the returned promise settles.
 */
export async function withRegistryAuth<T>(
  registry: RegistryConfig | undefined,
  password: string | undefined,
  fn: (authfile: string | undefined) => Promise<T>,
): Promise<T> {
  if (registry?.auth === undefined || password === undefined) return fn(undefined);
  const dir = await mkdtemp(join(tmpdir(), 'slipway-registry-auth-')); // mode 0700
  try {
    const authfile = join(dir, 'auth.json');
    await writeFile(authfile, authFileContent(registry, password), { mode: 0o600 });
    return await fn(authfile);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** containers-auth.json(5): credentials keyed by the registry (its host, and path when it has one). */
export function authFileContent(registry: RegistryConfig, password: string): string {
  const auth = Buffer.from(`${registry.auth!.username}:${password}`, 'utf8').toString('base64');
  return JSON.stringify({ auths: { [registry.url]: { auth } } });
}
