/**
 * A registry (docker-registry) listening on the fleet's bridge address only: the hosts pull from
 * it, nothing else can. Given a user, it wants that user's credentials (htpasswd); else it is open.
 * For fleet tests and benchmarks of image releases.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../../src/core/wait-for.js';
import { freePort, get } from '../project.js';

export interface AuthRegistry {
  /** `host:port`, as `registry: { url }` names it. */
  url: string;
  stop(): void;
}

/** Why the registry (`auth`: one that wants credentials) cannot run here, or undefined. */
export function authRegistrySkipReason(auth = true): string | undefined {
  if (!existsSync('/usr/bin/docker-registry')) return 'needs docker-registry (scripts/install-system-deps.sh)';
  return !auth || existsSync('/usr/bin/htpasswd') ? undefined : 'needs htpasswd (apache2-utils; scripts/install-system-deps.sh)';
}

/**
 * Starts a registry below `dir` on `address`: with `username`, one that wants that user and
 * `password`; without, an open one. Resolves once it answers (asking for credentials, if it wants them).
 */
export async function startAuthRegistry(dir: string, address: string, username?: string, password = ''): Promise<AuthRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  if (username) writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' }));
  const url = `${address}:${await freePort()}`;
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: "${url}", secret: test-only}\n` +
      (username ? `auth: {htpasswd: {realm: slipway-test, path: ${dir}/htpasswd}}\n` : ''),
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const stop = () => {
    if (child.pid && child.exitCode === null) child.kill('SIGTERM');
  };
  const answer = username ? 401 : 200;
  try {
    await waitFor(`the registry to answer ${answer}`, async () => (await get(`http://${url}/v2/`)).status === answer, 10_000);
  } catch (err) {
    stop();
    throw err;
  }
  return { url, stop };
}
