/** Builds the read models of the API (status, history) from the store, the driver, health and the router. */
import type {
  AnalysisView,
  HistoryResponse,
  InstanceView,
  RolloutView,
  ServiceHealth,
  ServiceStatus,
  StatusResponse,
  TrafficView,
} from '../api/types.js';
import type { StrategyConfig } from '../config/schema.js';
import type { RolloutProgress } from '../rollout/types.js';
import type { AnalysisRunState } from '../analysis/run.js';
import type { Rollout } from '../store/types.js';
import type { RouterStats, ServiceRoute } from '../router/types.js';
import type { Controller } from './controller.js';
import { driftOf } from './drift.js';

export function rolloutView(r: Rollout, strategy?: StrategyConfig, host = '127.0.0.1'): RolloutView {
  // Total over what older or half-written records hold: a missing progress or run is empty, not a crash.
  const p = (r.progress ?? {}) as RolloutProgress;
  const analysis: AnalysisView[] = Object.entries(p.analysis ?? {}).map(([key, run]) => {
    const state = (run ?? {}) as unknown as AnalysisRunState;
    const last = Array.isArray(state.measurements) ? state.measurements.at(-1) : undefined;
    return {
      key,
      check: key.split(':').slice(1).join(':'),
      phase: state.phase,
      reason: state.reason,
      counts: {
        passed: state.counts?.passed ?? 0,
        failed: state.counts?.failed ?? 0,
        inconclusive: state.counts?.inconclusive ?? 0,
        errors: state.counts?.errors ?? 0,
      },
      last: last ? { at: last.at, verdict: last.verdict, reason: last.reason, numbers: last.numbers ?? {} } : null,
    };
  });
  const view: RolloutView = {
    id: r.id,
    kind: r.kind,
    fromRelease: r.fromRelease,
    toRelease: r.toRelease,
    targetRelease: r.targetRelease,
    phase: r.phase,
    reason: r.reason,
    message: r.message,
    desired: p.desired ?? null,
    ready: p.ready ?? null,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    // A rollback, restart or scale always converges like a rolling update (rollout/maintenance.ts).
    strategy: r.kind !== 'deploy' ? 'rolling' : (strategy?.type ?? 'rolling'),
    analysis,
  };
  if (strategy?.type === 'canary' && r.kind === 'deploy')
    Object.assign(view, { step: p.step ?? 0, steps: strategy.steps.length, weight: p.weight ?? 0 });
  if (strategy?.type === 'blueGreen' && r.kind === 'deploy') {
    view.stage = p.stage ?? 'Preview';
    if (strategy.previewPort !== undefined) view.previewUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${strategy.previewPort}/`;
  }
  if (p.requests && Object.keys(p.requests).length) view.requests = p.requests as Record<string, unknown>;
  if (p.approval) view.approval = { ...p.approval };
  return view;
}

/** The rollout's view with its release's strategy. */
export async function describeRollout(c: Controller, r: Rollout): Promise<RolloutView> {
  const release = await c.release(r.service, r.toRelease).catch(() => undefined);
  return rolloutView(r, release?.spec.strategy, release?.spec.host);
}

/**
 * One service's status. `drift` (on by default) reads slipway.yaml and walks the source tree: a
 * caller polling many times a second (a rollout being followed) can leave it out.
 */
export async function serviceStatus(
  c: Controller,
  service: string,
  routes?: ServiceRoute[],
  stats?: RouterStats,
  opts: { drift?: boolean } = {},
): Promise<ServiceStatus> {
  const env = c.environment;
  routes ??= await c.router.routes().catch(() => []);
  stats ??= await c.router.stats().catch(() => undefined);
  const current = await c.store.getCurrentRelease(env, service);
  const active = await c.store.activeRollout(env, service);
  const last = active ?? (await c.store.listRollouts(env, service, 1))[0];
  const currentRelease = current !== null ? await c.release(service, current).catch(() => undefined) : undefined;
  const configSpec = c.currentConfig?.services[service];
  const spec = currentRelease?.spec ?? configSpec;
  const route = routes.find((r) => r.service === service);

  let instances: InstanceView[] = await Promise.all(
    c.driver
      .list()
      .filter((i) => i.service === service)
      .sort((a, b) => a.release - b.release || a.startedAt - b.startedAt)
      .map(async (i) => {
        const h = c.monitor.get(i.id);
        const inRoute = !!route?.pools.some((p) => p.backends.some((b) => b.id === i.id));
        const view: InstanceView = {
          id: i.id,
          release: i.release,
          state: i.state,
          healthy: h?.healthy ?? inRoute,
          retiring: c.isRetiring(i.id),
          pid: i.pid,
          port: i.port,
          restarts: i.restarts,
          startedAt: i.startedAt,
          lastExit: i.lastExit,
          nextRestartAt: i.nextRestartAt ?? null,
          lastProbe: h?.lastResult?.detail ?? null,
        };
        if (i.state === 'failed') view.logTail = await c.driver.logTail(i.id, 10).catch(() => []);
        return view;
      }),
  );

  const totalWeight = route?.pools.reduce((n, p) => n + (p.backends.length ? p.weight : 0), 0) ?? 0;
  const poolStats = stats?.services.find((s) => s.service === service)?.pools ?? [];
  const releases = new Set<number>([...(route?.pools.map((p) => p.release) ?? []), ...poolStats.map((p) => p.release)]);
  const traffic: TrafficView[] = [...releases]
    .sort((a, b) => a - b)
    .map((release) => {
      const pool = route?.pools.find((p) => p.release === release);
      const s = poolStats.find((p) => p.release === release);
      return {
        release,
        backends: pool?.backends.length ?? 0,
        share: pool && totalWeight > 0 && pool.backends.length ? pool.weight / totalWeight : 0,
        requests: s?.requests ?? 0,
        errors5xx: s?.byClass['5xx'] ?? 0,
      };
    });

  const override = currentRelease ? await c.scaleOverride(service, current) : undefined;
  const scaled =
    override && currentRelease && override.instances !== currentRelease.spec.instances
      ? { instances: override.instances, configured: currentRelease.spec.instances, rolloutId: override.rolloutId }
      : undefined;
  const desired = override?.instances ?? spec?.instances ?? 0;
  const serving = traffic.reduce((n, t) => n + t.backends, 0);
  // An ssh environment: instances and routers are the hosts' (controller/fleet-side.ts).
  const rt = c.fleet.current();
  const fleet = rt ? await c.fleet.status(service, rt, current, desired) : undefined;
  if (fleet) instances = fleet.instances;
  let health: ServiceHealth;
  if (current === null && !active) health = 'NotDeployed';
  else if (active) health = 'Progressing';
  else if (fleet) {
    // An idle blue-green group serves nothing on purpose (fleet-side.ts).
    const hosts = fleet.hosts.filter((h) => !h.idle);
    health = hosts.every((h) => h.health === 'down') ? 'Down' : hosts.every((h) => h.health === 'healthy') ? 'Healthy' : 'Degraded';
  } else if (serving === 0) health = 'Down';
  else if (instances.filter((i) => i.release === current && i.healthy && i.state === 'running').length < desired) health = 'Degraded';
  else health = 'Healthy';

  const host = spec?.host ?? '127.0.0.1';
  const port = spec?.port ?? 0;
  return {
    service,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`,
    health,
    currentRelease: current,
    desired,
    ...(scaled ? { scaled } : {}),
    rollout: last ? await describeRollout(c, last) : null,
    instances,
    traffic,
    ...(fleet ? { hosts: fleet.hosts } : {}),
    ...(currentRelease
      ? {
          runtime: currentRelease.image
            ? { kind: 'podman' as const, image: currentRelease.image.ref, where: currentRelease.image.where }
            : { kind: 'process' as const },
        }
      : {}),
    ...(opts.drift === false
      ? {}
      : {
          drift: await driftOf(c, service).catch((err: unknown) => ({
            state: 'unknown' as const,
            config: false,
            source: null,
            servingRelease: current,
            servingConfigHash: null,
            configHash: null,
            describes: null,
            message: `could not compare slipway.yaml with what serves: ${(err as Error).message}`,
          })),
        }),
  };
}

export async function status(c: Controller): Promise<StatusResponse> {
  const routes = await c.router.routes().catch(() => []);
  const stats = await c.router.stats().catch(() => undefined);
  const services = await Promise.all((await c.services()).map((s) => serviceStatus(c, s, routes, stats)));
  const router = await c.routerWatch.view();
  const disk = await c.artifacts.diskUsage(c.paths.releases).catch((err: Error) => {
    c.log.warn(`status: disk use not known: ${err.message}`);
    return undefined;
  });
  return {
    app: c.currentConfig?.app ?? '',
    environment: c.environment,
    controller: { pid: process.pid, startedAt: c.startedAt, ...(c.project.metricsUrl ? { metrics: c.project.metricsUrl } : {}) },
    router,
    services,
    ...(disk ? { disk } : {}),
  };
}

export async function history(c: Controller, service: string, limit = 50): Promise<HistoryResponse> {
  const env = c.environment;
  const current = await c.store.getCurrentRelease(env, service);
  const releases = await c.store.listReleases(env, service, limit);
  const rollouts = await c.store.listRollouts(env, service, limit);
  return {
    service,
    environment: env,
    releases: releases.map((r) => ({
      number: r.number,
      digest: r.digest,
      configHash: r.configHash,
      message: r.message,
      createdBy: r.createdBy,
      createdAt: r.createdAt,
      outcome: r.outcome,
      current: r.number === current,
      pruned: r.prunedAt !== null,
      rollbackOf: r.rollbackOf,
      secrets: Object.keys(r.secrets?.values ?? {}),
      secretsHash: r.secrets?.hash ?? null,
      ...(r.evidence ? { evidence: r.evidence } : {}),
    })),
    rollouts: await Promise.all(rollouts.map((r) => describeRollout(c, r))),
  };
}
