/**
 * One environment's controller: its services' releases, rollouts and instances. The project's
 * process (ProjectController, project-controller.ts) owns the lock, the store, the driver, the
 * router and the loop, and ticks every environment; this class sees the shared data plane through
 * views scoped to its environment (environment-scope.ts). Each tick, per service: observe →
 * transition (pure) → persist → act. A crash between any two steps is safe: the next tick (in
 * this process or the next) observes again.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { SlipwayError } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import { canonicalJson } from '../core/hash.js';
import type { SlipwayConfig } from '../config/schema.js';
import { configForEnvironment, LEGACY_ENVIRONMENT } from '../config/environments.js';
import { DEFAULT_RESTART_POLICY, type InstanceStatus, type RuntimeDriver } from '../drivers/driver.js';
import type { HealthMonitor } from '../health/health-monitor.js';
import { healthCheckFromConfig } from '../health/health-check.js';
import type { TrafficRouter } from '../router/router.js';
import type { ServiceRoute } from '../router/types.js';
import type { Store } from '../store/store.js';
import type { Release, Rollout } from '../store/types.js';
import { transition } from '../rollout/transition.js';
import { settledProgress } from '../rollout/settle.js';
import { undecided } from '../rollout/approval.js';
import type { ObservedInstance, PersistedRun, ReleaseShape, RolloutProgress, RunView, TransitionResult } from '../rollout/types.js';
import type { AnalysisRunner, RunRequest } from '../analysis/runner.js';
import type { AnalysisRunState } from '../analysis/run.js';
import { routeTable } from './route-table.js';
import type { ArtifactStore } from '../artifact/artifact-store.js';
import type { ProjectPaths } from './paths.js';
import { pruneReleases } from './retention.js';
import { takeBackup } from '../store/backup.js';
import type { ProblemLog } from './problem-log.js';
import type { Logger } from '../core/logger.js';
import type { RouterWatch } from './router-watch.js';
import { scaleOverride, type ScaleOverride } from './maintenance.js';
import { scopedDriver, scopedRouter, unitName } from './environment-scope.js';
import { applyRolloutFlags } from './rollout-flags.js';
import type { ProjectController } from './project-controller.js';
import { FleetSide } from './fleet-side.js';

/** Route push errors that will not go away by trying again: the rollout fails at once with them. */
const ROUTE_REJECTIONS = new Set(['ROUTER_PORT_IN_USE', 'ROUTER_LISTEN_DENIED', 'ROUTER_LISTEN_FAILED', 'ROUTE_INVALID']);
import { decryptSnapshot } from '../secrets/release-secrets.js';

export class Controller {
  readonly environment: string;
  readonly driver: RuntimeDriver;
  readonly router: TrafficRouter;
  /** Instances serving when this controller started: healthy until their probes say otherwise. */
  private readonly assumedHealthy = new Set<string>();
  private readonly retiring = new Set<string>();
  readonly retirements = new Set<Promise<void>>();
  private readonly lastRoute = new Map<string, string>();
  /** Services with a build in progress (a second deploy is refused). */
  readonly building = new Set<string>();
  private readonly releaseCache = new Map<string, Release>();
  private readonly locks = new Map<string, Promise<void>>();
  /** Services left alone because instances of releases the store does not know serve them. */
  private readonly frozen = new Set<string>();
  /** `slipway scale` counts by service, for the serving release they were read for; dropped when a rollout ends. */
  private readonly scaled = new Map<string, { current: number | null; override: ScaleOverride | undefined }>();
  /** The project's config layered for this environment, and the project config it was made from. */
  private layered: { from: SlipwayConfig; config: SlipwayConfig } | undefined;
  /** The environment's hosts when its target is ssh (ADR 0026): rollouts there are fleet jobs. */
  readonly fleet = new FleetSide(this);

  constructor(
    readonly project: ProjectController,
    environment: string,
  ) {
    this.environment = environment;
    this.driver = scopedDriver(project.driver, environment);
    this.router = scopedRouter(project.router, environment);
    this.driver.onChange((s) => void this.onInstanceChange(s));
  }

  get paths(): ProjectPaths {
    return this.project.paths;
  }
  /** What deployment windows are judged by (see ProjectControllerProps.calendar). */
  get calendar(): Clock {
    return this.project.calendar;
  }
  get clock(): Clock {
    return this.project.clock;
  }
  get store(): Store {
    return this.project.store;
  }
  get log(): Logger {
    return this.project.log;
  }
  get monitor(): HealthMonitor {
    return this.project.monitor;
  }
  get artifacts(): ArtifactStore {
    return this.project.artifacts;
  }
  get runner(): AnalysisRunner {
    return this.project.runner;
  }
  get problems(): ProblemLog {
    return this.project.problems;
  }
  get routerWatch(): RouterWatch {
    return this.project.routerWatch;
  }
  get startedAt(): number {
    return this.project.startedAt;
  }
  private get tickMs(): number {
    return this.project.tickMs;
  }
  private get running(): boolean {
    return this.project.isRunning;
  }

  /** Takes over what this environment runs: routes (their instances count as healthy until probed) and instances' probes. */
  async adopt(): Promise<void> {
    for (const route of await this.router.routes()) {
      this.lastRoute.set(route.service, canonicalJson(route));
      for (const pool of route.pools) for (const b of pool.backends) this.assumedHealthy.add(b.id);
    }
    for (const inst of this.driver.list()) {
      const release = await this.release(inst.service, inst.release).catch(() => undefined);
      if (release) await this.watchHealth(inst, release);
    }
  }

  /** A router started again restored its saved table: push every route anew all the same. */
  forgetRoutes(): void {
    this.lastRoute.clear();
  }

  /** The project's config layered for this environment; reloaded from disk by apply and deploy. */
  loadConfig(): SlipwayConfig {
    this.project.loadConfig();
    return this.currentConfig!;
  }

  get currentConfig(): SlipwayConfig | undefined {
    const from = this.project.currentConfig;
    if (!from) return undefined;
    if (this.layered?.from !== from) this.layered = { from, config: configForEnvironment(from, this.environment) };
    return this.layered.config;
  }

  get configPath(): string | undefined {
    return this.project.configPath;
  }

  /** Services the controller knows: in the config or with releases. */
  async services(): Promise<string[]> {
    const names = new Set([...Object.keys(this.config?.services ?? {}), ...(await this.store.listServices(this.environment))]);
    return [...names].sort();
  }

  private get config(): SlipwayConfig | undefined {
    return this.currentConfig;
  }

  /** One pass of the loop over this environment's services. */
  async tick(desired: RunRequest[], persisted: Record<string, AnalysisRunState>): Promise<void> {
    for (const service of await this.services().catch(() => [] as string[])) {
      if (!this.running) break;
      const key = this.environment === LEGACY_ENVIRONMENT ? service : `${service} (${this.environment})`;
      try {
        await this.withLock(service, () => this.reconcile(service, desired, persisted));
        this.problems.clear(`reconcile ${key}`);
      } catch (err) {
        this.problems.note(`reconcile ${key}`, err);
      }
    }
  }

  /** Runs the loop once now instead of at the next tick. */
  wake(): void {
    this.project.wake();
  }

  /** Serialises everything that writes a service's rollout: the loop and people's commands. */
  async withLock<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(service) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    this.locks.set(
      service,
      before.then(() => mine),
    );
    await before;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private async reconcile(service: string, desiredRuns: RunRequest[], persistedRuns: Record<string, AnalysisRunState>): Promise<void> {
    const fleet = this.fleet.current();
    if (fleet) return this.fleet.reconcile(service, fleet, desiredRuns, persistedRuns);
    const env = this.environment;
    const rollout = (await this.store.activeRollout(env, service)) ?? null;
    const current = await this.store.getCurrentRelease(env, service);
    const mine = this.driver.list().filter((i) => i.service === service);
    const numbers = new Set<number>(mine.map((i) => i.release));
    if (current !== null) numbers.add(current);
    if (rollout) {
      numbers.add(rollout.toRelease);
      numbers.add(rollout.targetRelease);
      if (rollout.fromRelease !== null) numbers.add(rollout.fromRelease);
    }
    const releases = new Map<number, Release>();
    for (const n of numbers) {
      const r = await this.release(service, n).catch(() => undefined);
      if (r) releases.set(n, r);
    }
    const shapes: Record<number, ReleaseShape> = {};
    for (const [n, r] of releases) shapes[n] = shapeOf(r);
    const override = await this.scaleOverride(service, current);
    if (override && current !== null && shapes[current]) shapes[current] = { ...shapes[current]!, instances: override.instances };
    // Instances of a release the store does not know (state restored from an older backup) are
    // left serving as they are: without their release nothing here can judge them, and only a
    // rollout may take traffic away from healthy instances.
    const unknown = [...new Set(mine.filter((i) => !releases.has(i.release)).map((i) => i.release))];
    if (unknown.length && !rollout) {
      if (!this.frozen.has(service)) {
        this.frozen.add(service);
        this.log.warn(
          `${service}: instances of release(s) ${unknown.join(', ')} run but the state database does not know them; leaving ${service} as it is until a deploy or rollback replaces them`,
        );
      }
      return;
    }
    this.frozen.delete(service);
    // An instance adopted before its release was known is probed from now on; one of a release the
    // store forgot (a restore) with the health check of the release that should serve, so that a
    // rollout replacing it counts it as serving meanwhile.
    const fallback = releases.get(rollout?.targetRelease ?? current ?? -1);
    for (const i of mine) {
      const r = releases.get(i.release) ?? fallback;
      if (r && !this.monitor.get(i.id) && !this.retiring.has(i.id))
        await this.watchHealth(i, r).catch((err) => this.log.warn(`watch ${i.id}: ${(err as Error).message}`));
    }

    const now = this.clock.now();
    const instances = await Promise.all(mine.map((i) => this.observe(i, rollout, releases.get(i.release), now)));
    const progress = (rollout?.progress ?? {}) as RolloutProgress;
    // The rollout's analysis runs: as persisted with it, updated by what the runner measured since.
    const prefix = `${rollout?.id}/`;
    const runs: Record<string, PersistedRun> = { ...(progress.analysis ?? {}) };
    for (const [key, state] of Object.entries(this.runner.states()))
      if (key.startsWith(prefix)) runs[key.slice(prefix.length)] = state as unknown as PersistedRun;
    const result = transition(
      rollout && { ...rollout, progress },
      { current, shapes, instances, analysis: runs as Record<string, RunView> },
      now,
    );

    if (rollout && result.rollout) {
      // Keep what the runner measured with the rollout, so a restarted controller resumes the runs.
      result.rollout.progress = settledProgress(result);
      if (Object.keys(runs).length) result.rollout.progress = { ...result.rollout.progress, analysis: runs };
      // Flags the rollout sets, restores or switches off: changed before the progress saying so is persisted.
      await applyRolloutFlags(this, rollout, result);
      await this.persistRollout(rollout, result);
      const checks = progress.checks ?? {};
      for (const run of result.rollout.finished ? [] : (result.analysis ?? [])) {
        const check = checks[run.check];
        if (!check) {
          this.log.error(`rollout #${rollout.id}: no definition of analysis check "${run.check}"`);
          continue;
        }
        desiredRuns.push({
          key: prefix + run.key,
          check,
          service: unitName(env, service),
          release: run.release,
          baseline: run.baseline,
          openEnd: run.openEnd,
        });
        const saved = progress.analysis?.[run.key];
        if (saved) persistedRuns[prefix + run.key] = saved as unknown as AnalysisRunState;
      }
    }
    if (result.setCurrent !== undefined) await this.store.setCurrentRelease(env, service, result.setCurrent);
    if (rollout && result.rollout?.finished) {
      // A copy of the state as it stands after every finished rollout: what `slipway state restore` puts back.
      await takeBackup(this.store, this.paths.backups, `${service}-rollout${rollout.id}`).catch((err) =>
        this.log.error(`backup of the state database failed: ${(err as Error).message}`),
      );
    }

    // While a failed rollout reverts, the route is the release it reverts to (its port, if the new one's was refused).
    const revertTo =
      result.rollout && !result.rollout.finished && result.rollout.targetRelease !== rollout?.toRelease
        ? releases.get(result.rollout.targetRelease)
        : undefined;
    // A rollout waiting for approval (or rejected) must not touch the route: the serving release's, or none yet.
    const held = rollout !== null && undecided({ ...rollout, progress });
    const routeRelease = revertTo ?? (held ? undefined : releases.get(rollout?.toRelease ?? current ?? -1)) ?? releases.get(current ?? -1);
    if (rollout && !result.rollout?.finished && this.routerWatch.lastError !== null) {
      // No router and none can be started: the rollout fails now, not at its deadline.
      const e = this.routerWatch.lastError;
      await this.failRollout(
        rollout,
        'RouterDown',
        `the router is not running and could not be started: ${e.code}: ${e.message.split('\n')[0]}`,
      );
    }
    if (routeRelease) {
      try {
        await this.pushRoute(service, routeTable(service, routeRelease.spec, result, mine), result.route);
      } catch (err) {
        const e = SlipwayError.from(err);
        if (rollout && !result.rollout?.finished && ROUTE_REJECTIONS.has(e.code)) {
          await this.failRollout(
            rollout,
            'RouteRejected',
            `the router refused the route for release ${result.rollout?.targetRelease ?? rollout.toRelease}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`,
          );
        }
        throw err;
      }
    }

    for (const action of result.actions) {
      if (action.type === 'start') {
        const release = releases.get(action.release);
        if (release) await this.startInstance(release);
      } else {
        const inst = mine.find((i) => i.id === action.id);
        if (inst) this.retire(inst, action.reason);
      }
    }
  }

  private async observe(i: InstanceStatus, rollout: Rollout | null, release: Release | undefined, now: number): Promise<ObservedInstance> {
    const h = this.monitor.get(i.id);
    let healthy: boolean;
    if (!h) healthy = false;
    else if (this.assumedHealthy.has(i.id) && !h.everHealthy) healthy = h.consecutiveFailures < (release?.spec.health.unhealthyAfter ?? 3);
    else healthy = h.healthy;
    if (h?.everHealthy) this.assumedHealthy.delete(i.id);
    const o: ObservedInstance = {
      id: i.id,
      release: i.release,
      state: i.state,
      healthy,
      retiring: this.retiring.has(i.id),
      startedAt: i.startedAt,
      restarts: i.restarts,
      lastExit: i.lastExit,
      lastProbe: h?.lastResult?.detail ?? null,
    };
    // The deadline that counts is the current target's (rolling), step's (canary) or stage's (blue-green).
    const p = rollout?.progress as RolloutProgress | undefined;
    const since = p?.targetSince ?? p?.stepSince ?? p?.stageSince ?? p?.approval?.at ?? rollout?.startedAt ?? now;
    const deadlineNear = rollout && release && now - since > release.spec.progressDeadline - 2 * this.tickMs;
    if (rollout && i.release === rollout.toRelease && (i.state === 'failed' || (!healthy && deadlineNear))) {
      o.logTail = await this.driver.logTail(i.id, 10).catch(() => []);
    }
    return o;
  }

  /** Records the engine's new status of a rollout with its events (also a fleet's canary or blue-green: fleet-progressive.ts). */
  async persistRollout(rollout: Rollout, result: TransitionResult): Promise<void> {
    const r = result.rollout!;
    const now = this.clock.now();
    const changed =
      r.phase !== rollout.phase ||
      r.reason !== rollout.reason ||
      r.message !== rollout.message ||
      r.targetRelease !== rollout.targetRelease ||
      canonicalJson(r.progress) !== canonicalJson(rollout.progress);
    if (!changed) return;
    await this.store.updateRollout(
      rollout.id,
      {
        phase: r.phase,
        reason: r.reason,
        message: r.message,
        progress: { ...r.progress },
        targetRelease: r.targetRelease,
        finishedAt: r.finished ? now : null,
      },
      now,
    );
    if (r.phase !== rollout.phase || r.targetRelease !== rollout.targetRelease) {
      await this.event(rollout.service, rollout.id, `rollout.${r.phase.toLowerCase()}`, r.message, {
        phase: r.phase,
        reason: r.reason,
        targetRelease: r.targetRelease,
      });
      this.log.info(`rollout #${rollout.id} of ${rollout.service}: ${r.phase} (${r.reason}): ${r.message.split('\n')[0]}`);
      if (r.phase !== rollout.phase) this.project.metrics.phaseChanged({ rollout, phase: r.phase, at: now });
    } else if (stepOf(r.progress) !== stepOf(rollout.progress)) {
      // Within a phase: a canary step or weight, a blue-green stage, instances ready (the event stream's watchers redraw on it).
      const p = (r.progress ?? {}) as RolloutProgress;
      await this.event(rollout.service, rollout.id, 'rollout.step', stepMessage(p), {
        step: p.step ?? null,
        weight: p.weight ?? null,
        stage: p.stage ?? null,
        ready: p.ready ?? null,
        desired: p.desired ?? null,
      });
    }
    if (!r.finished) return;
    this.scaled.delete(rollout.service);
    const env = this.environment;
    if (r.phase === 'Healthy') {
      await this.store.setReleaseOutcome(env, rollout.service, rollout.toRelease, 'live');
      if (rollout.fromRelease !== null && rollout.fromRelease !== rollout.toRelease)
        await this.store.setReleaseOutcome(env, rollout.service, rollout.fromRelease, 'superseded');
    } else if (rollout.kind === 'deploy') {
      await this.store.setReleaseOutcome(env, rollout.service, rollout.toRelease, 'failed');
    }
    this.releaseCache.clear();
    const keep = (await this.release(rollout.service, rollout.toRelease).catch(() => undefined))?.spec.keepReleases ?? 10;
    await pruneReleases(this, rollout.service, { keep }).catch((err) => this.log.warn(`retention: ${(err as Error).message}`));
  }

  private async pushRoute(service: string, table: ServiceRoute, route: TransitionResult['route']): Promise<void> {
    const key = canonicalJson(table);
    if (this.lastRoute.get(service) === key) return;
    await this.router.setRoute(table);
    const before = this.lastRoute.get(service);
    this.lastRoute.set(service, key);
    const total = route.reduce((n, p) => n + (p.weight ?? p.ids.length), 0);
    const shares =
      route
        .map(
          (p) =>
            `release ${p.release}: ${total ? Math.round(((p.weight ?? p.ids.length) / total) * 100) : 0}% on ${p.ids.length} instance(s)`,
        )
        .join(', ') || 'no instance';
    if (before !== undefined) await this.event(service, null, 'traffic.shifted', `traffic to ${shares}`, { pools: route });
  }

  /**
   * Fails the rollout at the next tick (undoing it like an abort, reported with `reason`), once:
   * for causes no waiting will cure. Runs under the service's lock (from reconcile).
   */
  private async failRollout(rollout: Rollout, reason: string, message: string): Promise<void> {
    const fresh = await this.store.getRollout(rollout.id);
    if (!fresh || fresh.finishedAt !== null || fresh.targetRelease !== fresh.toRelease) return;
    const progress = fresh.progress as RolloutProgress;
    if (progress.requests?.abort || progress.failure) return;
    const requests = { ...(progress.requests ?? {}), abort: { by: 'the controller', reason: message, failure: { reason, message } } };
    await this.store.updateRollout(fresh.id, { progress: { ...progress, requests } }, this.clock.now());
    await this.event(fresh.service, fresh.id, `rollout.${reason === 'RouterDown' ? 'router-down' : 'route-rejected'}`, message, { reason });
    this.log.warn(`rollout #${fresh.id} of ${fresh.service}: failing it: ${message.split('\n')[0]}`);
    this.wake();
  }

  private async startInstance(release: Release): Promise<void> {
    // A container release runs its image pinned by digest; it has no release directory.
    const dir = release.image ? '' : await this.artifacts.materialize(release.digest, this.paths.releases);
    const id = `${unitName(this.environment, release.service)}-${release.number}-${randomBytes(3).toString('hex')}`;
    const status = await this.driver.start({
      id,
      service: release.service,
      release: release.number,
      releaseDir: dir,
      ...(release.image ? { image: release.image.ref } : {}),
      command: release.spec.start ?? '',
      env: release.spec.env,
      secrets: Object.keys(release.secrets?.values ?? {}),
      logMaxBytes: release.spec.logs.maxSize,
      logFiles: release.spec.logs.files,
      restart: DEFAULT_RESTART_POLICY,
    });
    await this.watchHealth(status, release, dir);
    await this.event(
      release.service,
      null,
      'instance.started',
      `instance ${id} of release ${release.number} started on port ${status.port}`,
      { id, release: release.number, port: status.port, pid: status.pid },
    );
  }

  private async watchHealth(inst: InstanceStatus, release: Release, dir?: string): Promise<void> {
    const h = release.spec.health;
    // A command probe of a container release runs on this machine, in the project's state directory.
    const cwd = release.image ? this.paths.root : dir || (await this.artifacts.materialize(release.digest, this.paths.releases));
    this.monitor.watch(
      inst.id,
      healthCheckFromConfig(h),
      { host: inst.host, port: inst.port, cwd, env: release.spec.env },
      {
        intervalMs: h.interval,
        timeoutMs: h.timeout,
        healthyAfter: h.healthyAfter,
        unhealthyAfter: h.unhealthyAfter,
      },
    );
  }

  /**
   * Takes an instance out of traffic (already done by the route push), drains it, then stops it.
   * An instance that will not stop stays out of traffic and is tried again with backoff: it never
   * counts as serving again.
   */
  private retire(inst: InstanceStatus, reason: string): void {
    if (this.retiring.has(inst.id)) return;
    this.retiring.add(inst.id);
    let stopped = false;
    const p = (async () => {
      const stopTimeout = await this.stopTimeoutOf(inst.service, inst.release);
      const began = this.clock.now();
      const drained =
        inst.state === 'running'
          ? await this.router.drain(inst.service, [inst.id], stopTimeout).catch(() => ({ completed: 0, aborted: 0 }))
          : { completed: 0, aborted: 0 };
      for (let attempt = 0; ; attempt++) {
        try {
          await this.driver.stop(inst.id, { timeoutMs: Math.max(1000, stopTimeout - (this.clock.now() - began)) });
          break;
        } catch (err) {
          this.log.warn(`retire ${inst.id}: ${(err as Error).message}; trying again`);
          if (!this.running) return;
          await this.clock.sleep(Math.min(30_000, 1000 * 2 ** attempt));
        }
      }
      stopped = true;
      this.monitor.unwatch(inst.id);
      this.assumedHealthy.delete(inst.id);
      await this.event(
        inst.service,
        null,
        'instance.stopped',
        `instance ${inst.id} of release ${inst.release} stopped (${reason}; ${drained.completed} request(s) drained${drained.aborted ? `, ${drained.aborted} cut at the deadline` : ''})`,
        { id: inst.id, reason, ...drained },
      );
    })()
      .catch((err) => this.log.warn(`retire ${inst.id}: ${(err as Error).message}`))
      .finally(() => {
        if (stopped || !this.driver.list().some((i) => i.id === inst.id)) this.retiring.delete(inst.id);
        this.retirements.delete(p);
        this.wake();
      });
    this.retirements.add(p);
  }

  private async onInstanceChange(s: InstanceStatus): Promise<void> {
    if (s.state === 'failed') {
      const tail = await this.driver.logTail(s.id, 5).catch(() => []);
      const next =
        s.nextRestartAt === null
          ? 'not restarted again'
          : `next try in ${formatDuration(Math.max(0, s.nextRestartAt - this.clock.now()))} (restart ${s.restarts + 1})`;
      await this.event(
        s.service,
        null,
        'instance.failed',
        `instance ${s.id} crash-loops (exit ${s.lastExit?.code ?? s.lastExit?.signal ?? 'unknown'}); ${next}`,
        { id: s.id, lastExit: s.lastExit, logTail: tail, nextRestartAt: s.nextRestartAt },
      ).catch(() => undefined);
    } else if (s.state === 'restarting') {
      await this.event(
        s.service,
        null,
        'instance.crashed',
        `instance ${s.id} exited (${s.lastExit?.code ?? s.lastExit?.signal ?? 'unknown'}); restarting`,
        { id: s.id, lastExit: s.lastExit },
      ).catch(() => undefined);
    }
    this.wake();
  }

  // ---------------------------------------------------------------- helpers

  async release(service: string, number: number): Promise<Release> {
    const key = `${service}/${number}`;
    const cached = this.releaseCache.get(key);
    if (cached) return cached;
    const r = await this.store.getRelease(this.environment, service, number);
    if (!r) throw SlipwayError.of('RELEASE_NOT_FOUND', `${service} has no release ${number}`);
    this.releaseCache.set(key, r);
    return r;
  }

  /**
   * The plaintext values of a release's secrets, for its instances' environments: decrypted from
   * the release's own copy (ADR 0017) with the secrets key, and kept in memory only.
   */
  async secretEnv(service: string, number: number): Promise<Record<string, string>> {
    const release = await this.release(service, number);
    if (!release.secrets) return {};
    const app = release.secrets.app ?? (this.config ?? this.loadConfig()).app;
    return decryptSnapshot(app, release.secrets, this.environment);
  }

  /** The instance count `slipway scale` set for the serving release `current`, if any. */
  async scaleOverride(service: string, current: number | null): Promise<ScaleOverride | undefined> {
    const cached = this.scaled.get(service);
    if (cached && cached.current === current) return cached.override;
    const override = await scaleOverride(this.store, this.environment, service, current);
    this.scaled.set(service, { current, override });
    return override;
  }

  isRetiring(id: string): boolean {
    return this.retiring.has(id);
  }

  async stopTimeoutOf(service: string, release: number): Promise<number> {
    return (await this.release(service, release).catch(() => undefined))?.spec.stopTimeout ?? 30_000;
  }

  async event(
    service: string | null,
    rolloutId: number | null,
    type: string,
    message: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    const record = await this.store.appendEvent({
      environment: this.environment,
      service,
      rolloutId,
      type,
      message,
      data,
      at: this.clock.now(),
    });
    this.project.notifier.notify(record); // returns at once: webhooks never hold a rollout up
  }
}

/** What of a rollout's progress a watcher shows: a change of it is a `rollout.step` event. */
function stepOf(progress: unknown): string {
  const p = (progress ?? {}) as RolloutProgress;
  return `${p.step ?? ''}|${p.weight ?? ''}|${p.stage ?? ''}|${p.ready ?? ''}|${p.desired ?? ''}`;
}

function stepMessage(p: RolloutProgress): string {
  const parts = [
    p.step !== undefined ? `step ${p.step}` : '',
    p.weight !== undefined ? `weight ${p.weight}%` : '',
    p.stage ?? '',
    p.ready !== undefined && p.desired !== undefined ? `${p.ready}/${p.desired} ready` : '',
  ];
  return parts.filter(Boolean).join(', ') || 'progress';
}

function shapeOf(r: Release): ReleaseShape {
  return { release: r.number, instances: r.spec.instances, strategy: r.spec.strategy, progressDeadlineMs: r.spec.progressDeadline };
}
