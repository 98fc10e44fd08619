/**
 * A Slipway project whose `production` environment is a fleet of real SSH hosts (fleet.ts): what
 * nearly every fleet test set up for itself. The fleet and the project start together (the hosts'
 * keys pinned in the project's known_hosts) and stop in the right order: the project's `down`
 * while its hosts still run, then the fleet, then what an image project adds (its registry on the
 * fleet's bridge and podman storage of its own).
 *
 *   const p = new FleetProject({ hosts: 3 });   // in a describe skipped by FleetProject.skipReason()
 *   before(() => p.start());
 *   after(() => p.stop());
 *   await p.writeConfig({ env: { VERSION: 'v1' }, haproxy: true });
 *   await p.ok(['up', '--env', 'production']);
 *   assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v1 release=1']);
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceStatus, StatusResponse } from '../../../src/api/types.js';
import { ControllerClient } from '../../../src/client/client.js';
import { waitFor } from '../../../src/core/wait-for.js';
import type { EventRecord } from '../../../src/store/types.js';
import { config as imageConfig, FIXTURE } from '../../containers/image-project.js';
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../podman-scratch.js';
import { freePort, get, TestProject, type CliResult, type ServiceOptions } from '../project.js';
import { authRegistrySkipReason, startAuthRegistry, type AuthRegistry } from './auth-registry.js';
import { Fleet, type FleetOptions } from './fleet.js';

export interface FleetProjectOptions extends FleetOptions {
  /**
   * An image project (`image: { build: ./web }` of the fixture app): hosts that run podman, podman
   * storage of its own, and a registry on the fleet's bridge, open or, with `password`, wanting
   * user `deploy` with it (slipway.yaml then reads it from the secret REGISTRY_PASSWORD).
   */
  images?: { password?: string };
  /** How long each CLI command may take, ms (default: TestProject's 90 s, 180 s for an image project). */
  timeoutMs?: number;
}

/** Where the fleet goes in slipway.yaml. */
export interface FleetTarget {
  /** HAProxy in front of the hosts (`loadBalancer: { haproxy }`). */
  haproxy?: boolean;
  /** Each host's `group` label, by position. */
  groups?: string[];
}

/** What an image project's slipway.yaml holds besides the fleet. */
export interface ImageOptions extends FleetTarget {
  secrets?: string[];
  /** More keys of the service (a strategy), indented by 4 spaces. */
  extra?: string;
  /** false: no `registry:` (an image only this machine has). */
  registry?: boolean;
}

const HAPROXY = '    loadBalancer:\n      haproxy: { healthPath: /healthz, checkInterval: 200ms }\n';

export class FleetProject extends TestProject {
  private started: Fleet | undefined;
  private scratch: PodmanScratch | undefined;
  /** An image project's registry. */
  registry: AuthRegistry | undefined;

  constructor(private readonly options: FleetProjectOptions = {}) {
    super();
  }

  /** Why such a project cannot run here (no fleet; no podman or registry for images; no HAProxy when asked), or undefined. */
  static skipReason(o: Pick<FleetProjectOptions, 'init' | 'images'> & { haproxy?: boolean } = {}): string | undefined {
    return (
      Fleet.skipReason(o) ??
      (o.images ? (podmanSkipReason() ?? authRegistrySkipReason(o.images.password !== undefined)) : undefined) ??
      (o.haproxy && !existsSync('/usr/sbin/haproxy') ? 'needs haproxy (scripts/install-system-deps.sh)' : undefined)
    );
  }

  get fleet(): Fleet {
    if (!this.started) throw new Error('the fleet project is not started (call start() first)');
    return this.started;
  }

  /** Starts the fleet and pins its hosts' keys; for an image project, also its podman storage, registry and build context. */
  async start(): Promise<void> {
    const { images, timeoutMs: _, ...fleet } = this.options;
    this.started = await Fleet.start({ ...fleet, containers: fleet.containers || images !== undefined });
    writeFileSync(join(this.dir, 'known_hosts'), this.fleet.knownHosts());
    if (!images) return;
    this.scratch = podmanScratch();
    // The registry listens on this machine's bridge address only: the hosts pull from it, nothing else can.
    this.registry = await startAuthRegistry(
      join(this.scratch.dir, 'registry'),
      this.fleet.gateway,
      images.password === undefined ? undefined : 'deploy',
      images.password,
    );
    this.port = await freePort();
    this.scratch.writeContext(join(this.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
  }

  /**
   * start(), slipway.yaml as `write` writes it, then `hosts setup` (the agent on every host) and
   * `up`: the fleet serving its first release, what most fleet tests begin with.
   */
  async startServing(write: () => Promise<void> | void): Promise<void> {
    await this.start();
    await write();
    await this.ok(['hosts', 'setup', '--env', 'production']);
    await this.ok(['up', '--env', 'production']);
  }

  /**
   * `down --env production` while the hosts run (the controller, then each host's instances and
   * router), the project's directory, then the fleet and an image project's registry and podman storage.
   */
  async stop(): Promise<void> {
    if (this.started) await this.cli(['down', '--env', 'production'], { timeoutMs: 60_000 }).catch(() => undefined);
    await this.cleanup();
    await this.started?.stop();
    this.registry?.stop();
    this.scratch?.teardown();
  }

  /** The real CLI, with an image project's podman storage and user config directory. */
  override cli(args: string[], opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? (this.options.images ? 180_000 : undefined);
    const env = this.scratch ? { ...this.scratch.env, XDG_CONFIG_HOME: join(this.dir, 'user-config') } : {};
    return super.cli(args, { ...opts, ...(timeoutMs ? { timeoutMs } : {}), env: { ...env, ...opts.env } });
  }

  /** Runs the CLI and asserts it exits 0 (its output is the assertion's message). */
  async ok(args: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
    const r = await this.cli(args, opts);
    assert.equal(r.code, 0, `slipway ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /** slipway.yaml of the fixture app (TestProject.writeConfig; `tail`: top-level keys) with the fleet as `production`. */
  override async writeConfig(o: ServiceOptions & FleetTarget = {}): Promise<void> {
    await super.writeConfig({ ...o, tail: `${o.tail ?? ''}\n${this.environments(o)}` });
  }

  /** slipway.yaml of an image project: release `version` of web built from ./web, pushed to the registry, on the fleet. */
  writeImageConfig(version: string, o: ImageOptions = {}): void {
    const auth = this.options.images?.password === undefined ? '' : ', auth: { username: deploy, passwordSecret: REGISTRY_PASSWORD }';
    const more = [
      o.secrets ? `    secrets: [${o.secrets.join(', ')}]` : '',
      o.extra ?? '',
      o.registry === false ? '' : `registry: { url: "${this.registry!.url}", insecure: true${auth} }`,
      this.environments(o),
    ];
    writeFileSync(join(this.dir, 'slipway.yaml'), imageConfig(this.port, version, more.join('\n')));
  }

  private environments(o: FleetTarget): string {
    let target = this.fleet.sshTargetYaml();
    o.groups?.forEach((group, i) => {
      const host = this.fleet.hosts[i]!.address;
      target = target.replace(`{ host: ${host} }`, `{ host: ${host}, labels: { group: ${group} } }`);
    });
    return `environments:\n  production:\n${o.haproxy ? HAPROXY : ''}${target}`;
  }

  /** Each host's router, as a user reaches it: `http://ADDRESS:PORT/`. */
  urls(): string[] {
    return this.fleet.hosts.map((h) => `http://${h.address}:${this.port}/`);
  }

  /** What host `i`'s router answers: "vN release=N". */
  async answer(i: number): Promise<string> {
    return (await get(this.urls()[i]!)).body.split(' ').slice(0, 2).join(' ');
  }

  async answers(): Promise<string[]> {
    return Promise.all(this.fleet.hosts.map((_, i) => this.answer(i)));
  }

  /** Service web as `slipway status --env production --json` shows it. */
  async web(): Promise<ServiceStatus> {
    const r = await this.cli(['status', '--env', 'production', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as StatusResponse).services.find((s) => s.service === 'web')!;
  }

  /**
   * Service web after a rollback to `release`: its rollout RolledBack, every host serving that
   * release on its 2 instances and healthy, no instance of another release left anywhere.
   */
  async rolledBackTo(release: number): Promise<ServiceStatus> {
    const s = await this.web();
    assert.equal(s.currentRelease, release);
    assert.equal(s.rollout!.phase, 'RolledBack');
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      this.fleet.hosts.map(() => [release, 2, 'healthy']),
    );
    assert.ok(
      s.instances.every((i) => i.release === release) && s.instances.length === 2 * this.fleet.hosts.length,
      JSON.stringify(s.instances),
    );
    return s;
  }

  /** Service web once its rollout to `release` waits for promotion (a canary's pause, a blue-green's preview). */
  waitingForPromotion(release: number, timeoutMs = 60_000): Promise<ServiceStatus> {
    return waitFor(
      `release ${release} to wait for promotion`,
      async () => {
        const s = await this.web();
        return s.rollout?.toRelease === release && s.rollout.reason === 'WaitingForPromotion' && s;
      },
      timeoutMs,
      100,
    );
  }

  /** Every event of web in production, oldest first (paged from the controller's API). */
  events(): Promise<EventRecord[]> {
    return ControllerClient.connect(this.dir, 'production').eventsAfter({ service: 'web' });
  }

  /** Every log file under the project's .slipway directory, concatenated. */
  logs(): string {
    const dir = join(this.dir, '.slipway');
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
  }

  /** Whether host `i`'s agent has started an instance of `release` (its records name it). */
  async startedOn(i: number, release: number): Promise<boolean> {
    return (await this.fleet.inHost(i, ['cat', '/var/lib/slipway/agent/driver/instances.json'])).includes(`web.production-${release}-`);
  }
}
