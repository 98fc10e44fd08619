/**
 * The podman driver: instances are OCI containers on this machine, run by digest with podman
 * (docs/adr/0022-container-releases.md). Slipway supervises them exactly as it supervises
 * processes (restart backoff, crash loops, healing: the shared RestartPolicy), not podman: podman's
 * restart policies and healthchecks need systemd, which these machines do not run.
 *
 * One start of an instance is one container (`<id>.<n>.<random>`), started with `podman run -d`:
 * host networking with PORT, `--log-driver passthrough` into the local driver's log writer (same
 * files and `LogRecord`s as processes), labels naming the instance. The container's main process
 * is an ordinary process of this machine (runc makes it a session leader), so the driver watches
 * its pid through /proc like the local driver watches an adopted process, asks `podman wait` for
 * the exit code, and stops it by signalling its process group (SIGTERM, then SIGKILL) before
 * `podman rm`. Instances are recorded in `<stateDir>/instances.json` and adopted by a new driver.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { InstanceSpec } from '../driver.js';
import type { InstanceRecord } from '../local/instance-store.js';
import { isSameProcessAlive } from '../local/proc.js';
import { terminateGroup } from '../local/terminate-group.js';
import type { InstanceRuntime, Run } from '../supervision/instance-runtime.js';
import { SupervisedDriver, type SupervisedDriverProps } from '../supervision/supervised-driver.js';
import { watchPid } from '../supervision/watch-pid.js';
import { startLogWriter } from './log-writer-spawn.js';
import { PodmanCli, runArgs } from './podman-cli.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

export interface PodmanDriverProps extends SupervisedDriverProps {
  /** How podman is run (binary, scratch configuration). @default podman from PATH */
  cli?: PodmanCli;
  /** How often a container's main process is checked for life (a /proc read). @default 50 */
  pollMs?: number;
  /** Run containers in the host's pid namespace. Only the driver contract needs it (it checks pids from the host). @default false */
  hostPid?: boolean;
}

/** A local-driver record plus the container of the current start. */
interface PodmanRecord extends InstanceRecord {
  container?: string | null;
}

export class PodmanDriver extends SupervisedDriver<PodmanRecord> {
  readonly runtime = 'podman';
  readonly cli: PodmanCli;

  constructor(props: PodmanDriverProps) {
    const cli = props.cli ?? new PodmanCli();
    super(props, new ContainerRuntime(cli, join(props.stateDir, 'run'), props));
    this.cli = cli;
  }
}

/** Instances as containers, one per start, watched through their main process. */
class ContainerRuntime implements InstanceRuntime<PodmanRecord> {
  readonly driverClass = 'PodmanDriver';
  readonly driverName = 'podman driver';
  readonly idPattern = ID;
  readonly idUsedIn = 'a container name';
  readonly pollMs: number;

  constructor(
    private readonly cli: PodmanCli,
    /** podman's pid files, read once per start. */
    private readonly runDir: string,
    private readonly props: PodmanDriverProps,
  ) {
    this.pollMs = props.pollMs ?? 50;
  }

  checkSpec(spec: InstanceSpec): void {
    if (!spec.image)
      throw SlipwayError.of('DRIVER_START_FAILED', `instance ${spec.id} has no image: the podman driver runs images only`, {
        hint: 'Give the service an `image:` (docs/containers.md), or run it with the process driver (`source:`).',
      });
  }

  sameSpec({ spec: a }: PodmanRecord, b: InstanceSpec): boolean {
    return a.image === b.image && a.command === b.command && a.release === b.release;
  }

  /** Starts one container of the instance and watches its main process. */
  async launch(rec: PodmanRecord, secretEnv: Record<string, string>, run: Run): Promise<void> {
    const { spec } = rec;
    const name = `${spec.id}.${rec.restarts}.${randomBytes(2).toString('hex')}`;
    rec.container = name;
    mkdirSync(dirname(run.logs.stderr), { recursive: true });
    const logs = await startLogWriter(run.logs, spec.logMaxBytes, spec.logFiles);
    run.logWriter(logs.writer);
    const pidfile = join(this.runDir, `${name}.pid`);
    const args = runArgs({
      name,
      image: spec.image!,
      instance: spec.id,
      service: spec.service,
      release: spec.release,
      port: rec.port,
      env: {
        ...spec.env,
        PORT: String(rec.port),
        SLIPWAY_RELEASE: String(spec.release),
        SLIPWAY_INSTANCE: spec.id,
        SLIPWAY_SERVICE: spec.service,
      },
      envFromProcess: Object.keys(secretEnv),
      command: spec.command,
      workdir: spec.releaseDir,
      hostPid: this.props.hostPid === true,
      pidfile,
      docker: this.cli.flavour === 'docker',
    });
    mkdirSync(this.runDir, { recursive: true });
    // podman's own complaints (an image it cannot find, a runtime error) land in the instance's stderr log.
    const docker = this.cli.flavour === 'docker';
    let code: number | null;
    let pid = 0;
    try {
      // `docker run -d` prints the container's id: not a line of the instance's output.
      const client = this.cli.spawnPodman(args, { stdio: ['ignore', docker ? 'ignore' : logs.stdout, logs.stderr], env: secretEnv });
      code = await new Promise<number | null>((resolve) => {
        client.once('exit', (c) => resolve(c));
        client.once('error', (e) => {
          run.note(e.message);
          resolve(-1);
        });
      });
      if (code === 0 && docker) {
        // No pid file and no passthrough logs: the engine knows the pid, and `docker logs -f` (detached,
        // like the log writer, so it outlives the agent) copies the container's output into the log writer.
        pid = Number((await this.cli.podman(['inspect', '--format', '{{.State.Pid}}', name], { timeoutMs: 30_000 })).trim());
        this.cli.spawnPodman(['logs', '-f', name], { stdio: ['ignore', logs.stdout, logs.stderr] }).unref();
      }
    } finally {
      logs.release();
    }
    if (code !== 0) {
      logs.writer.kill('SIGKILL');
      throw SlipwayError.of('PODMAN_FAILED', `${this.cli.flavour} run exited with ${String(code)} (see the instance's log)`, {
        hint: `See \`slipway logs\` for ${this.cli.flavour}'s message, and docs/containers.md for what podman needs here.`,
      });
    }
    if (!docker) {
      pid = Number(readFileSync(pidfile, 'utf8').trim());
      rmSync(pidfile, { force: true });
    }
    run.running(pid > 0 ? pid : undefined);
    if (rec.pid === null || rec.procStartTime === null) run.exited({ code: null, signal: null });
    else watchPid(rec.pid, rec.procStartTime, run, this.pollMs);
  }

  /** The main process is gone: podman knows how it ended. */
  async reap(rec: PodmanRecord): Promise<{ code: number | null; signal: string | null }> {
    if (!rec.container) return { code: null, signal: null };
    const out = await this.cli.podman(['wait', rec.container], { timeoutMs: 10_000 }).catch(() => '');
    return exitOf(Number.parseInt(out.trim(), 10));
  }

  async terminate(rec: PodmanRecord, timeoutMs: number): Promise<void> {
    // Signals from here reach everything the container started (its main process leads its group).
    if (rec.pid !== null && rec.procStartTime !== null && isSameProcessAlive(rec.pid, rec.procStartTime))
      await terminateGroup(rec.pid, timeoutMs);
  }

  /** Removing the container also ends whatever its main process left running in it. */
  async discard(rec: PodmanRecord): Promise<void> {
    const container = rec.container;
    rec.container = null;
    if (!container) return;
    await this.cli
      .podman(['rm', '-f', ...(this.cli.flavour === 'docker' ? [] : ['-t', '0']), container], { timeoutMs: 30_000 })
      .catch((err: unknown) => {
        throw new Error(`removing container ${container}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
  }
}

/** podman reports a main process killed by signal N as exit code 128 + N, as a shell would. */
export function exitOf(code: number): { code: number | null; signal: string | null } {
  if (!Number.isFinite(code) || code < 0) return { code: null, signal: null };
  if (code > 128 && code < 128 + 65) {
    const name = Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
    if (name) return { code: null, signal: name };
  }
  return { code, signal: null };
}
