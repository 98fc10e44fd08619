/**
 * A registry that wants credentials (docker-registry with htpasswd), listening on the fleet's
 * bridge address only: the hosts pull from it, nothing else can. For fleet tests of image releases.
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

/** Why the registry cannot run here, or undefined. */
export function authRegistrySkipReason(): string | undefined {
  return existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/htpasswd')
    ? undefined
    : 'needs docker-registry and htpasswd (scripts/install-system-deps.sh)';
}

/** Starts a registry below `dir` on `address` with one user `username`/`password`; resolves once it asks for credentials. */
export async function startAuthRegistry(dir: string, address: string, username: string, password: string): Promise<AuthRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' }));
  const url = `${address}:${await freePort()}`;
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: "${url}", secret: test-only}\n` +
      `auth: {htpasswd: {realm: slipway-test, path: ${dir}/htpasswd}}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const stop = () => {
    if (child.pid && child.exitCode === null) child.kill('SIGTERM');
  };
  try {
    await waitFor('the registry to ask for credentials', async () => (await get(`http://${url}/v2/`)).status === 401, 10_000);
  } catch (err) {
    stop();
    throw err;
  }
  return { url, stop };
}
