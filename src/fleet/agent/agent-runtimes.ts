/**
 * What runs a host's instances (ADR 0026, "Images and secrets on hosts"): processes with the
 * LocalDriver, as before, and containers with the PodmanDriver that this machine's controller
 * uses for `image:` services, run by podman, or by the docker client where the host has docker
 * and no podman (a docker mode of the same driver: podman-cli.ts `DockerCli`). Podman is preferred
 * when the host has both: it is what Slipway's local target runs and tests, and it needs no daemon.
 *
 * A runtime counts only when it answers: `podman --version`, and for docker `docker version`
 * reaching its engine (a docker client without an engine runs nothing). Both drivers take the
 * values of an instance's secrets from the agent's secret files (agent-secrets.ts) at every start.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { posix } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { InstanceSpec, RuntimeDriver } from '../../drivers/driver.js';
import { LocalDriver } from '../../drivers/local/local-driver.js';
import { DockerCli, PodmanCli } from '../../drivers/podman/podman-cli.js';
import { PodmanDriver } from '../../drivers/podman/podman-driver.js';
import { RuntimeSwitch } from '../../drivers/runtime-switch.js';
import type { ImagePull } from './protocol.js';

export type ImageRuntime = 'podman' | 'docker';

/**
 * The container runtime a host uses: podman when it answers, else docker when its engine answers,
 * else none. An agent that is not root (the SSH user is not: docs/servers.md, "The SSH user") runs
 * podman rootless, which needs subuids and user namespaces: there `podman info` must succeed, since
 * `--version` answers where no container could start.
 */
export async function detectImageRuntime(): Promise<ImageRuntime | null> {
  const rootless = process.getuid?.() !== 0;
  if (await answers('podman', rootless ? ['info', '--format', '{{.Host.Arch}}'] : ['--version'])) return 'podman';
  if (await answers('docker', ['version', '--format', '{{.Server.Version}}'])) return 'docker';
  return null;
}

function answers(bin: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => execFile(bin, args, { timeout: 10_000 }, (err) => resolve(!err)));
}

export interface AgentRuntimes {
  driver: RuntimeSwitch;
  /** The runtime of containers here; null when the host has neither podman nor docker. */
  images: ImageRuntime | null;
  /** Pulls an image by digest unless the host has it (credentials only for this pull). */
  pull(p: ImagePull): Promise<'present' | 'pulled'>;
}

export async function agentRuntimes(props: {
  driverDir: string;
  log: Logger;
  secretEnv: (spec: InstanceSpec) => Promise<Record<string, string>>;
}): Promise<AgentRuntimes> {
  const images = await detectImageRuntime();
  const cli = images === 'docker' ? new DockerCli() : new PodmanCli();
  const processes = new LocalDriver({ stateDir: props.driverDir, log: props.log, secretEnv: props.secretEnv });
  const containers: RuntimeDriver = new PodmanDriver({
    stateDir: posix.join(props.driverDir, 'containers'),
    cli,
    log: props.log,
    secretEnv: props.secretEnv,
  });
  return {
    driver: new RuntimeSwitch(processes, containers, images ?? 'podman'),
    images,
    pull: async (p) => {
      if (images === null)
        throw SlipwayError.of(
          'FLEET_ROLL_FAILED',
          `this host has neither podman nor docker (with a running engine) that runs for ${userInfo().username} to run ${p.ref}`,
          {
            hint:
              process.getuid?.() !== 0
                ? `The agent runs as the SSH user ${userInfo().username}: set up rootless podman for it (subuid/subgid ranges, user namespaces), or add it to the docker group, or log in as root; slipway hosts check shows whether podman info or docker info runs for it.`
                : 'Install podman (or docker) on the host, or deploy the service with `source:`; slipway hosts check lists what each host has.',
          },
        );
      const present = await cli.podman(['image', 'inspect', '--format', '{{.Id}}', p.ref], { timeoutMs: 30_000 }).then(
        () => true,
        () => false,
      );
      if (present) return 'present';
      await withAuthFile(images, p, async (authArgs) => {
        const tls = p.insecure && images === 'podman' ? ['--tls-verify=false'] : [];
        try {
          await cli.podman(
            [...(images === 'docker' ? authArgs : []), 'pull', '-q', ...tls, ...(images === 'podman' ? authArgs : []), p.ref],
            {
              timeoutMs: 30 * 60_000,
            },
          );
        } catch (err) {
          throw SlipwayError.of('FLEET_ROLL_FAILED', `${images} could not pull ${p.ref}: ${(err as Error).message}`, {
            hint: `The host must reach the registry${p.insecure ? ' over plain HTTP' : ''}${p.auth ? ` and accept the credentials of registry.auth (user ${p.auth.username})` : ''}; try \`${images} pull ${p.ref}\` on the host.`,
            cause: err,
          });
        }
      });
      return 'pulled';
    },
  };
}

/**
 * The registry's credentials in a file for one pull, mode 0600 in a fresh 0700 directory, removed
 * as soon as the pull ends: podman reads a containers-auth.json (`--authfile`), docker a config
 * directory (`--config DIR`, its config.json has the same `auths`). Never on a command line.
 */
async function withAuthFile(runtime: ImageRuntime, p: ImagePull, fn: (args: string[]) => Promise<void>): Promise<void> {
  if (!p.auth) return fn([]);
  const dir = await mkdtemp(posix.join(process.env.TMPDIR ?? '/tmp', 'slipway-pull-'));
  try {
    const file = posix.join(dir, runtime === 'docker' ? 'config.json' : 'auth.json');
    const auth = Buffer.from(`${p.auth.username}:${p.auth.password}`, 'utf8').toString('base64');
    await writeFile(file, JSON.stringify({ auths: { [p.auth.registry]: { auth } } }), { mode: 0o600 });
    await fn(runtime === 'docker' ? ['--config', dir] : ['--authfile', file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
