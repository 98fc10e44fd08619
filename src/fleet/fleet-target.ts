/**
 * The hosts of an environment whose target is `ssh`, as SSH targets: paths resolved against the
 * project, the known_hosts file defaulting to OpenSSH's, the agent taken from SSH_AUTH_SOCK.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { SlipwayConfig, SshTargetConfig } from '../config/schema.js';
import { SlipwayError } from '../core/errors.js';
import type { SshTarget } from '../ssh/transport.js';

export interface FleetHost {
  /** `host:port`, as output and errors name it. */
  name: string;
  labels: Record<string, string>;
  target: SshTarget;
}

export interface Fleet {
  environment: string;
  ssh: SshTargetConfig;
  hosts: FleetHost[];
}

export interface FleetOptions {
  /** Pin the keys of hosts known_hosts does not list (asked for explicitly: `--trust-new-hosts`). */
  trustNewHosts?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** @throws SlipwayError HOSTS_NOT_CONFIGURED when the environment runs on this machine. */
export function fleetOf(config: SlipwayConfig, projectDir: string, environment: string, opts: FleetOptions = {}): Fleet {
  const target = config.environments[environment]?.target;
  if (target === undefined || target === 'local') {
    const withSsh = Object.entries(config.environments)
      .filter(([, e]) => e.target !== 'local')
      .map(([n]) => n);
    throw SlipwayError.of('HOSTS_NOT_CONFIGURED', `environment "${environment}" runs on this machine: it has no hosts`, {
      hint: withSsh.length
        ? `Name an environment with servers: --env ${withSsh[0]} (${withSsh.join(', ')}).`
        : 'Give an environment a fleet under environments.<name>.target.ssh (docs/servers.md).',
      details: { environment },
    });
  }
  const env = opts.env ?? process.env;
  const ssh = target.ssh;
  const path = (p: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolve(projectDir, p));
  const knownHosts = path(ssh.knownHosts ?? '~/.ssh/known_hosts');
  const agent = env.SSH_AUTH_SOCK || undefined;
  return {
    environment,
    ssh,
    hosts: ssh.hosts.map((h) => ({
      name: h.port === 22 ? h.host : `${h.host}:${h.port}`,
      labels: h.labels,
      target: {
        host: h.host,
        port: h.port,
        user: ssh.user,
        knownHosts,
        connectTimeoutMs: ssh.connectTimeout,
        ...(ssh.identityFile ? { identityFile: path(ssh.identityFile) } : {}),
        ...(agent ? { agent } : {}),
        ...(opts.trustNewHosts ? { trustNewHosts: true } : {}),
      },
    })),
  };
}

/** Runs `fn` for every item with at most `limit` at once; results in input order, each settled. */
export async function eachHost<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
