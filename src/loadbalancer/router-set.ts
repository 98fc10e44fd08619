/**
 * Several TrafficRouters seen as one, by environment: `environments.E.loadBalancer` puts E's
 * services behind their own HAProxy while the others stay on the project's router. The controller
 * and its RouterWatch keep seeing one router; each call goes to the router of the service's
 * environment (the environment is in the unit name: environment-scope.ts).
 */
import { parseUnit } from '../controller/environment-scope.js';
import type { RouterStart, TrafficRouter } from '../router/router.js';
import type { DrainResult, RouterHealth, RouterStats, ServiceRoute } from '../router/types.js';

export class RouterSet implements TrafficRouter {
  private readonly all: TrafficRouter[];

  constructor(
    private readonly base: TrafficRouter,
    private readonly byEnvironment: ReadonlyMap<string, TrafficRouter>,
  ) {
    this.all = [base, ...byEnvironment.values()];
  }

  private of(unit: string): TrafficRouter {
    return this.byEnvironment.get(parseUnit(unit).environment) ?? this.base;
  }

  /**
   * Starts or adopts each, then has each give up the units another one now serves (an environment
   * moved behind HAProxy: the built-in router restored its old listener from routes.json, which
   * would hold the port HAProxy needs). Reports the first router that had to be started.
   */
  async ensureRunning(): Promise<RouterStart> {
    const starts = [];
    for (const r of this.all) starts.push(await r.ensureRunning());
    for (const r of this.all) for (const route of await r.routes()) if (this.of(route.service) !== r) await r.removeRoute(route.service);
    return starts.find((s) => s.started) ?? starts[0]!;
  }

  alive(): boolean {
    return this.all.every((r) => r.alive());
  }

  /** The project router's health, with every router's problems; ok only when all are. */
  async health(): Promise<RouterHealth> {
    const hs = await Promise.all(this.all.map((r) => r.health()));
    const first = hs[0]!;
    return {
      ...first,
      ok: hs.every((h) => h.ok),
      routes: hs.reduce((n, h) => n + h.routes, 0),
      problems: hs.flatMap((h) => h.problems),
      lastProblem: hs.map((h) => h.lastProblem).find((p) => p !== null) ?? null,
    };
  }

  setRoute(route: ServiceRoute): Promise<void> {
    return this.of(route.service).setRoute(route);
  }

  removeRoute(service: string): Promise<void> {
    return this.of(service).removeRoute(service);
  }

  async routes(): Promise<ServiceRoute[]> {
    // A router only counts for the units it serves (a stale route elsewhere is not this set's).
    const lists = await Promise.all(this.all.map(async (r) => (await r.routes()).filter((x) => this.of(x.service) === r)));
    return lists.flat();
  }

  drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    return this.of(service).drain(service, backendIds, timeoutMs);
  }

  /** Every router's counts; the bootId changes when any of them restarts. */
  async stats(): Promise<RouterStats> {
    const all = await Promise.all(this.all.map(async (r) => ({ r, s: await r.stats() })));
    return {
      bootId: all.map((x) => x.s.bootId).join('+'),
      services: all.flatMap(({ r, s }) => s.services.filter((x) => this.of(x.service) === r)),
    };
  }

  async shutdown(): Promise<void> {
    const errors: unknown[] = [];
    for (const r of this.all) await r.shutdown().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }
}
