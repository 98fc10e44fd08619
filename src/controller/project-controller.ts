/**
 * The project's controller process (ADR 0008: one per project, held by a lock; ADR 0018: it serves
 * every environment). Owns the lock, the store, the driver, the router client, the health monitor,
 * the analysis runner and the reconcile loop; each tick it runs every environment's controller
 * (controller.ts), which sees the shared data plane scoped to its environment.
 */
import { statSync } from 'node:fs';
import { systemClock, type Clock } from '../core/clock.js';
import type { SlipwayConfig } from '../config/schema.js';
import { findConfigFile, loadConfig } from '../config/load.js';
import { environmentNames, resolveEnvironmentName } from '../config/environments.js';
import type { InstanceSpec, InstanceStatus, RuntimeDriver } from '../drivers/driver.js';
import { LocalDriver } from '../drivers/local/local-driver.js';
import { PodmanDriver } from '../drivers/podman/podman-driver.js';
import { PodmanCli } from '../drivers/podman/podman-cli.js';
import { RuntimeSwitch } from '../drivers/runtime-switch.js';
import { HealthMonitor } from '../health/health-monitor.js';
import { LocalRouter } from '../router/local-router.js';
import { HaproxyRouter } from '../loadbalancer/haproxy/haproxy-router.js';
import type { HaproxyConfig } from '../config/load-balancer-schema.js';
import { RouterSet } from '../loadbalancer/router-set.js';
import type { TrafficRouter } from '../router/router.js';
import type { ServiceRoute } from '../router/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ControllerMetrics } from '../observability/controller-metrics.js';
import { AnalysisRunner, type RunRequest } from '../analysis/runner.js';
import type { AnalysisRunState } from '../analysis/run.js';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { projectPaths, type ProjectPaths } from './paths.js';
import { openProjectState } from './state-guard.js';
import type { ProjectLock } from './lock.js';
import { ProblemLog } from './problem-log.js';
import { createLogger, type Logger } from '../core/logger.js';
import { RouterWatch } from './router-watch.js';
import { Controller } from './controller.js';
import { parseUnit } from './environment-scope.js';
import { WebhookNotifier } from '../notifications/webhooks.js';
import { flagRamps } from './flag-service.js';

export interface ProjectControllerProps {
  projectDir: string;
  /** @default slipway.yaml found in projectDir */
  configFile?: string;
  clock?: Clock;
  /**
   * The clock deployment windows are judged by (controller/gates.ts). Tests give a shifted one
   * (SLIPWAY_TEST_NOW) so that a window's verdict does not depend on today's date.
   * @default clock
   */
  calendar?: Clock;
  /** Reconcile period. @default 200 */
  tickMs?: number;
  driver?: RuntimeDriver;
  /** How podman is run for image services (builds and the podman driver). @default podman from PATH */
  podman?: PodmanCli;
  router?: TrafficRouter;
  store?: Store;
  /** Where the controller's own log lines go. @default stderr */
  log?: Logger;
}

export class ProjectController {
  readonly paths: ProjectPaths;
  readonly clock: Clock;
  readonly calendar: Clock;
  readonly driver: RuntimeDriver;
  readonly podman: PodmanCli;
  readonly router: TrafficRouter;
  readonly store: Store;
  readonly monitor: HealthMonitor;
  readonly artifacts: ArtifactStore;
  readonly tickMs: number;
  readonly log: Logger;
  /** The loop's recurring errors, logged once per distinct error with a count. */
  readonly problems: ProblemLog;
  /** Restarts a dead router and reports its health. */
  readonly routerWatch: RouterWatch;
  readonly runner: AnalysisRunner;
  /** Prometheus metrics served at `GET /metrics` on the API (observability/controller-metrics.ts). */
  readonly metrics: ControllerMetrics;
  /** Where the API serves them, once it listens (shown by `status`). */
  metricsUrl: string | undefined;
  /** Tells the config's webhooks about rollout events, never holding a rollout up (notifications/webhooks.ts). */
  readonly notifier: WebhookNotifier;
  private configFile: string | undefined;
  private config: SlipwayConfig | undefined;
  /** What the config file looked like when `freshConfig` last read it. */
  private configStamp = '';
  private readonly envs = new Map<string, Controller>();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  /** Checks every 50 ms that the router process lives (a pid check), so a dead one is restarted without waiting for the tick. */
  private routerTimer: NodeJS.Timeout | undefined;
  startedAt = 0;
  /** What could not be stopped by the last `shutdown({ stopAll: true })`. */
  shutdownProblems: string[] = [];
  /** The project's lock, held from start to shutdown (one controller per project). */
  private lock: ProjectLock | undefined;

  constructor(private readonly props: ProjectControllerProps) {
    this.paths = projectPaths(props.projectDir);
    this.clock = props.clock ?? systemClock;
    this.calendar = props.calendar ?? this.clock;
    this.tickMs = props.tickMs ?? 200;
    this.log = props.log ?? createLogger('controller');
    this.store = props.store ?? new SqliteStore(this.paths.stateDb);
    // Secret values are decrypted for each start by the instance's environment, never stored.
    const secretEnv = (spec: InstanceSpec) => {
      const { environment, service } = parseUnit(spec.service);
      return this.environment(environment).secretEnv(service, spec.release);
    };
    this.podman = props.podman ?? new PodmanCli();
    this.driver =
      props.driver ??
      // Processes for `source:` services, containers for `image:` ones (docs/adr/0022-container-releases.md).
      new RuntimeSwitch(
        new LocalDriver({ stateDir: this.paths.driver, clock: this.clock, log: props.log ?? createLogger('driver'), secretEnv }),
        new PodmanDriver({
          stateDir: this.paths.podmanDriver,
          cli: this.podman,
          clock: this.clock,
          log: props.log ?? createLogger('driver'),
          secretEnv,
        }),
      );
    this.router = props.router ?? this.defaultRouter();
    this.problems = new ProblemLog(this.log);
    this.routerWatch = new RouterWatch(this.router, this.problems, this.log);
    this.monitor = new HealthMonitor({ clock: this.clock });
    this.artifacts = new ArtifactStore(this.paths.artifacts);
    this.configFile = props.configFile;
    this.metrics = new ControllerMetrics({
      activeRollouts: () => this.store.activeRollouts(),
      instances: () => this.driver.list(),
      routerStats: () => this.router.stats(),
    });
    this.notifier = new WebhookNotifier({ config: () => this.config, store: this.store, log: this.log });
    this.runner = new AnalysisRunner({
      clock: this.clock,
      // A service of an ssh environment is counted by its hosts' routers (fleet-stats.ts).
      stats: (unit) => (unit ? this.envs.get(parseUnit(unit).environment)?.fleet.stats(unit) : undefined) ?? this.router.stats(),
      // `unit` is the router's and driver's name of the service in its environment (environment-scope.ts).
      endpoints: (unit, release) =>
        this.envs.get(parseUnit(unit).environment)?.fleet.endpoints(unit, release) ??
        this.driver
          .list()
          .filter((i) => i.service === unit && i.release === release && i.state === 'running' && !this.isRetiring(i.id))
          .map((i) => ({ host: i.host, port: i.port })),
      // A fleet's instances are out of reach on their hosts' loopback: each host's agent probes its own.
      probeInstances: (unit, release, req) => this.envs.get(parseUnit(unit).environment)?.fleet.probeInstances(unit, release, req),
    });
  }

  /**
   * The built-in router, or HAProxy when slipway.yaml says `loadBalancer: { haproxy }`, and a
   * HAProxy of its own for each environment that says so (read once, here: the router is the
   * controller's for its lifetime; a config that cannot be read yet means the built-in router).
   */
  private defaultRouter(): TrafficRouter {
    let config: SlipwayConfig | undefined;
    try {
      config = loadConfig(this.props.configFile ?? findConfigFile(this.props.projectDir)).config;
    } catch {
      config = undefined;
    }
    const haproxy = (stateDir: string, h: HaproxyConfig) =>
      new HaproxyRouter({ stateDir, healthPath: h.healthPath, checkIntervalMs: h.checkInterval, binary: h.binary });
    const project = config?.loadBalancer?.haproxy;
    const base = project ? haproxy(this.paths.haproxy, project) : new LocalRouter({ stateDir: this.paths.router });
    // An environment with its own loadBalancer gets its own HAProxy (its own state directory).
    const own = Object.entries(config?.environments ?? {}).flatMap(([name, e]) =>
      e.loadBalancer ? [[name, haproxy(`${this.paths.haproxy}-${name}`, e.loadBalancer.haproxy)] as const] : [],
    );
    return own.length === 0 ? base : new RouterSet(base, new Map(own));
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Loads state, adopts the running router and instances of every environment, and starts the reconcile loop. */
  async start(): Promise<void> {
    this.startedAt = this.clock.now();
    // Before anything is touched: the lock, private modes, and a state database worth trusting.
    this.lock = await openProjectState(this.paths, this.store, { fileStore: !this.props.store });
    await this.driver.init();
    await this.routerWatch.start();
    try {
      this.loadConfig();
    } catch (err) {
      this.log.warn(`config not loaded: ${(err as Error).message}`);
    }
    // Every environment with something to look after: in the config, with releases, or with instances or routes running.
    const names = new Set([
      ...(this.config ? environmentNames(this.config) : []),
      ...(await this.store.listEnvironments()),
      ...this.driver.list().map((i) => parseUnit(i.service).environment),
      ...(await this.router.routes().catch(() => [] as ServiceRoute[])).map((r) => parseUnit(r.service).environment),
    ]);
    for (const name of names) await this.environment(name).adopt();
    this.runner.onChange((key, state) => {
      const m = state.measurements.at(-1);
      const [rolloutId, ...rest] = key.split('/');
      if (!m) return;
      void this.store
        .getRollout(Number(rolloutId))
        .then(async (r) => {
          if (!r) return;
          const check = rest.join('/');
          this.metrics.measured(r.environment, r.service, check, m.verdict);
          await this.environment(r.environment).event(
            r.service,
            r.id,
            'analysis.measurement',
            `${check}: ${m.verdict} (${m.reason})${state.phase !== 'Running' ? `; run ${state.phase.toLowerCase()}` : ''}`,
            { key: check, verdict: m.verdict, numbers: m.numbers, hard: m.hard ?? false, phase: state.phase },
          );
        })
        .catch(() => undefined);
      this.wake();
    });
    this.monitor.onChange((id, h) => {
      // A starting instance failing its first probes, or one being stopped, is expected: log only a serving one going bad.
      if (h.everHealthy && !this.isRetiring(id) && h.lastResult && !h.lastResult.ok && h.consecutiveFailures === 1)
        this.log.warn(`instance ${id}: probe failed: ${h.lastResult.detail}`);
    });
    this.running = true;
    this.loopDone = this.loop();
    this.routerTimer = setInterval(() => {
      if (!this.router.alive()) this.wake();
    }, 50);
    this.routerTimer.unref();
    this.log.info(
      `controller started for ${this.props.projectDir} (environments: ${[...this.envs.keys()].join(', ') || 'none'}; ${this.driver.list().length} instance(s) adopted)`,
    );
  }

  /** The latest valid config; reloaded from disk by apply and deploy. */
  loadConfig(): SlipwayConfig {
    this.configFile ??= findConfigFile(this.props.projectDir);
    this.config = loadConfig(this.configFile).config;
    return this.config;
  }

  /**
   * The config as on disk, read again only when the file changed (by inode, size, mtime): every API
   * request resolves its environment with it (`default:` may have just changed), and a parse costs
   * about 1 ms where a stat costs microseconds.
   */
  private freshConfig(): SlipwayConfig {
    this.configFile ??= findConfigFile(this.props.projectDir);
    const st = statSync(this.configFile, { bigint: true });
    const stamp = `${st.ino}:${st.size}:${st.mtimeNs}`;
    if (this.config && stamp === this.configStamp) return this.config;
    const config = this.loadConfig();
    this.configStamp = stamp;
    return config;
  }

  get currentConfig(): SlipwayConfig | undefined {
    return this.config;
  }

  get configPath(): string | undefined {
    return this.configFile;
  }

  /** The controller of one environment by name (created on first use). */
  environment(name: string): Controller {
    let c = this.envs.get(name);
    if (!c) {
      c = new Controller(this, name);
      this.envs.set(name, c);
    }
    return c;
  }

  /**
   * The environment a request names (`--env`), else the config's default, else its only one.
   * @throws SlipwayError ENVIRONMENT_NOT_FOUND, ENVIRONMENT_REQUIRED
   */
  resolve(requested: string | undefined): Controller {
    let config = this.config;
    try {
      config = this.freshConfig();
    } catch {
      // An invalid file on disk: the last valid one still names the environments.
    }
    return this.environment(resolveEnvironmentName(config, requested ?? undefined, [...this.envs.keys()]));
  }

  /** Every environment known: configured, or with state or instances. */
  environments(): Controller[] {
    if (this.config) for (const name of environmentNames(this.config)) this.environment(name);
    return [...this.envs.values()];
  }

  isRetiring(id: string): boolean {
    return [...this.envs.values()].some((e) => e.isRetiring(id));
  }

  /** Stops the loop. With `stopAll`, also drains and stops every instance of every environment and the router (slipway down). */
  async shutdown(opts: { stopAll: boolean }): Promise<void> {
    this.running = false;
    this.notifier.close();
    clearInterval(this.routerTimer);
    this.wakeUp?.();
    await this.loopDone;
    const retirements = () => Promise.all([...this.envs.values()].flatMap((e) => [...e.retirements]));
    if (opts.stopAll) {
      // Best effort on every part: one instance that will not stop must not keep the router running.
      const problems: string[] = [];
      const settle = async (what: string, p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          problems.push(`${what}: ${(err as Error).message}`);
        }
      };
      const byUnit = new Map<string, InstanceStatus[]>();
      for (const i of this.driver.list()) byUnit.set(i.service, [...(byUnit.get(i.service) ?? []), i]);
      const routes = await this.router.routes().catch(() => [] as ServiceRoute[]);
      for (const route of routes) await settle(`route ${route.service}`, this.router.setRoute({ ...route, pools: [] }));
      await Promise.all(
        [...byUnit.entries()].map(async ([unit, list]) => {
          const { environment, service } = parseUnit(unit);
          const stopTimeout = await this.environment(environment).stopTimeoutOf(service, list[0]!.release);
          await settle(
            `drain ${unit}`,
            this.router.drain(
              unit,
              list.map((i) => i.id),
              stopTimeout,
            ),
          );
          await Promise.all(list.map((i) => settle(`stop ${i.id}`, this.driver.stop(i.id, { timeoutMs: stopTimeout }))));
        }),
      );
      await retirements();
      for (const route of routes) await settle(`route ${route.service}`, this.router.removeRoute(route.service));
      await settle('router', this.router.shutdown());
      if (problems.length) this.log.warn(`shutdown problems:\n  ${problems.join('\n  ')}`);
      this.shutdownProblems = problems;
    } else {
      await retirements();
    }
    await this.runner.stop();
    await this.monitor.stop();
    for (const e of this.envs.values()) await e.fleet.close().catch(() => undefined);
    await this.driver.detach();
    await this.store.close();
    this.lock?.release();
    this.log.info(
      opts.stopAll ? 'controller stopped; every instance and the router stopped' : 'controller stopped; instances and router keep serving',
    );
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const desired: RunRequest[] = [];
      const persisted: Record<string, AnalysisRunState> = {};
      const restarted = await this.routerWatch.check();
      for (const env of this.environments()) {
        if (!this.running) break;
        if (restarted) env.forgetRoutes();
        await env.tick(desired, persisted);
      }
      if (this.running) this.runner.reconcile(desired, persisted);
      // Flag ramp steps that are due (one due while no controller ran is applied now, once).
      if (this.running)
        await flagRamps(this)
          .tick()
          .then(
            () => this.problems.clear('flag ramps'),
            (err) => this.problems.note('flag ramps', err),
          );
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const abort = new AbortController();
        this.wakeUp = () => abort.abort();
        this.clock.sleep(this.tickMs, abort.signal).then(resolve, resolve);
      });
    }
  }

  /** Runs the loop once now instead of at the next tick. */
  wake(): void {
    this.wakeUp?.();
  }
}
