/**
 * Every podman (and skopeo) command Slipway runs, as argv arrays (never shell strings): the same
 * arrays can later be sent to a host over SSH (issue 8), where each element is quoted once by the
 * transport. `PodmanCli` runs them here with `execFile`, with an optional environment (tests pass
 * a scratch configuration through CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, CONTAINERS_REGISTRIES_CONF).
 */
import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { SlipwayError } from '../../core/errors.js';

/** Labels on every container Slipway starts: how a new controller finds (and adopts) its containers. */
export const LABEL = {
  instance: 'io.slipway.instance',
  service: 'io.slipway.service',
  release: 'io.slipway.release',
  port: 'io.slipway.port',
} as const;

/** What `runArgs` needs besides the spec. */
export interface RunOptions {
  name: string;
  image: string;
  instance: string;
  service: string;
  release: number;
  port: number;
  /** Plain variables: passed as `-e NAME=value`. */
  env: Record<string, string>;
  /** Names whose values podman takes from its own environment (`-e NAME`): never on a command line. */
  envFromProcess: string[];
  /** `/bin/sh -c <command>` instead of the image's entrypoint; empty: the image's own entrypoint and command. */
  command: string;
  /** Mounted read-write at the same path and made the working directory; empty: none. */
  workdir: string;
  /** Where podman writes the main process's pid (read instead of a `podman inspect`). */
  pidfile: string;
  /** Share the host's pid namespace (the driver contract checks pids from the host). @default false */
  hostPid: boolean;
  /**
   * The docker client's flavour of the command: it has neither `--pidfile` nor the `passthrough`
   * log driver (the driver asks `inspect` for the pid and follows `docker logs`). @default false
   */
  docker?: boolean;
}

/**
 * `podman run -d` for one start of an instance. Host networking with PORT (the instance binds
 * loopback like a process instance; no netavark NAT rules to leave behind), `passthrough` logs
 * (the container writes straight into the driver's log writer: same files, same format as
 * processes), no podman restart policy (Slipway supervises), and labels for adoption.
 */
export function runArgs(o: RunOptions): string[] {
  const args = ['run', '-d', '--name', o.name, '--network', 'host', '--restart', 'no'];
  if (!o.docker) args.push('--log-driver', 'passthrough', '--pidfile', o.pidfile);
  if (o.hostPid) args.push('--pid', 'host');
  for (const [k, v] of Object.entries({
    [LABEL.instance]: o.instance,
    [LABEL.service]: o.service,
    [LABEL.release]: String(o.release),
    [LABEL.port]: String(o.port),
  }))
    args.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(o.env)) args.push('-e', `${k}=${v}`);
  for (const k of o.envFromProcess) args.push('-e', k);
  if (o.workdir) args.push('-v', `${o.workdir}:${o.workdir}`, '-w', o.workdir);
  if (o.command) args.push('--entrypoint', '/bin/sh', o.image, '-c', o.command);
  else args.push(o.image);
  return args;
}

export interface PodmanCliProps {
  /** The podman executable. @default 'podman' */
  podman?: string;
  /** The skopeo executable. @default 'skopeo' */
  skopeo?: string;
  /** Added to the controller's environment for every command (a scratch configuration, in tests). */
  env?: Record<string, string>;
}

export class PodmanCli {
  /** `docker`: the commands go to the docker client (DockerCli), whose flags differ in places. */
  readonly flavour: 'podman' | 'docker' = 'podman';
  readonly podmanBin: string;
  readonly skopeoBin: string;
  readonly env: Record<string, string>;

  constructor(props: PodmanCliProps = {}) {
    this.podmanBin = props.podman ?? 'podman';
    this.skopeoBin = props.skopeo ?? 'skopeo';
    this.env = props.env ?? {};
  }

  /** Runs `podman <args>` and returns its stdout; fails with PODMAN_FAILED and podman's own message. */
  podman(args: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    return this.exec(this.podmanBin, args, opts);
  }

  skopeo(args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    return this.exec(this.skopeoBin, args, opts);
  }

  /** Spawns `podman <args>` with the given stdio (a start whose output goes to a log writer). */
  spawnPodman(args: string[], opts: { stdio: StdioOptions; env?: Record<string, string> }): ChildProcess {
    return spawn(this.podmanBin, args, { env: { ...process.env, ...this.env, ...opts.env }, stdio: opts.stdio, detached: true });
  }

  /** Whether podman can run containers here, and if not why (for gating tests and `status`). */
  async usable(): Promise<{ ok: true; runtime: string } | { ok: false; reason: string }> {
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not root (rootless podman is not supported yet)' };
    try {
      const out = await this.podman(['info', '--format', '{{.Host.OCIRuntime.Name}}'], { timeoutMs: 20_000 });
      return { ok: true, runtime: out.trim() };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
  }

  private exec(bin: string, args: string[], opts: { timeoutMs?: number; env?: Record<string, string> }): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        bin,
        args,
        {
          env: { ...process.env, ...this.env, ...opts.env },
          timeout: opts.timeoutMs ?? 120_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            SlipwayError.of(
              'PODMAN_FAILED',
              missing
                ? `${bin} is not installed`
                : `${bin} ${args.slice(0, 2).join(' ')} failed: ${(stderr || err.message).trim().split('\n').slice(-3).join(' ')}`,
              {
                cause: err,
                hint: missing
                  ? 'Install podman (and runc, skopeo) on this machine: scripts/install-system-deps.sh, or `apt-get install podman runc skopeo`.'
                  : 'See docs/containers.md for what podman needs on this machine (runc, ulimits, cgroupfs).',
              },
            ),
          );
        },
      );
    });
  }
}

/**
 * The docker client in podman's place (a host with docker and no podman: ADR 0026). The commands
 * the driver runs are the same but for `run`'s pid file and log driver (see `RunOptions.docker`)
 * and `rm`'s missing `-t`; `pull` takes credentials as a config directory (`--config`).
 */
export class DockerCli extends PodmanCli {
  override readonly flavour = 'docker' as const;

  constructor(props: Omit<PodmanCliProps, 'podman'> & { docker?: string } = {}) {
    super({ ...props, podman: props.docker ?? 'docker' });
  }
}
