/**
 * One machine's data plane, shared by every environment (ADR 0018). The driver and the router key
 * instances and routes by a unit name that carries the environment: `web.staging` is service web
 * in environment staging. Environment "local" (the only one before environments existed) keeps
 * plain `web`, so that instances and routes of an upgraded project are adopted as they run.
 *
 * Each environment's controller sees its own slice through the views below, with plain service
 * names: the rest of the controller (status, retention, logs, deploys) needs no environment logic.
 */
import type { InstanceSpec, InstanceStatus, RuntimeDriver } from '../drivers/driver.js';
import type { TrafficRouter } from '../router/router.js';
import type { RouterStats, ServiceRoute } from '../router/types.js';
import { LEGACY_ENVIRONMENT } from '../config/environments.js';

/** The driver's and router's name for a service in an environment. Names hold no ".", so the split is exact. */
export function unitName(environment: string, service: string): string {
  return environment === LEGACY_ENVIRONMENT ? service : `${service}.${environment}`;
}

export function parseUnit(unit: string): { environment: string; service: string } {
  const dot = unit.lastIndexOf('.');
  return dot < 0 ? { environment: LEGACY_ENVIRONMENT, service: unit } : { environment: unit.slice(dot + 1), service: unit.slice(0, dot) };
}

function inEnvironment(environment: string, unit: string): string | undefined {
  const u = parseUnit(unit);
  return u.environment === environment ? u.service : undefined;
}

/** The environment's instances, with plain service names. Starting, stopping and logs go to the shared driver. */
export function scopedDriver(driver: RuntimeDriver, environment: string): RuntimeDriver {
  const local = (s: InstanceStatus): InstanceStatus | undefined => {
    const service = inEnvironment(environment, s.service);
    return service === undefined ? undefined : { ...s, service };
  };
  return {
    init: async () => undefined,
    detach: async () => undefined,
    start: async (spec: InstanceSpec) => {
      const status = await driver.start({
        ...spec,
        service: unitName(environment, spec.service),
        env: { ...spec.env, SLIPWAY_ENVIRONMENT: environment },
      });
      return { ...status, service: spec.service };
    },
    stop: (id, opts) => driver.stop(id, opts),
    list: () => driver.list().flatMap((s) => local(s) ?? []),
    logTail: (id, lines) => driver.logTail(id, lines),
    readLogs: (id, q) => driver.readLogs(id, q),
    logFiles: (id) => driver.logFiles(id),
    onChange: (listener) =>
      driver.onChange((s) => {
        const mine = local(s);
        if (mine) listener(mine);
      }),
  };
}

/** The environment's routes and counts, with plain service names. */
export function scopedRouter(router: TrafficRouter, environment: string): TrafficRouter {
  return {
    ensureRunning: () => router.ensureRunning(),
    alive: () => router.alive(),
    health: () => router.health(),
    shutdown: () => router.shutdown(),
    setRoute: (route: ServiceRoute) => router.setRoute({ ...route, service: unitName(environment, route.service) }),
    removeRoute: (service) => router.removeRoute(unitName(environment, service)),
    routes: async () =>
      (await router.routes()).flatMap((r) => {
        const service = inEnvironment(environment, r.service);
        return service === undefined ? [] : [{ ...r, service }];
      }),
    drain: (service, ids, timeoutMs) => router.drain(unitName(environment, service), ids, timeoutMs),
    stats: async (): Promise<RouterStats> => {
      const all = await router.stats();
      return {
        ...all,
        services: all.services.flatMap((s) => {
          const service = inEnvironment(environment, s.service);
          return service === undefined ? [] : [{ ...s, service }];
        }),
      };
    },
  };
}
