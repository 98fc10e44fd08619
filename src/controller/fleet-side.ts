/**
 * An environment whose target is ssh, as its controller drives it (ADR 0026, docs/servers.md).
 * The local rollout engine works on one machine's instances behind one router; a fleet's
 * instances are supervised by each host's agent behind each host's router, so a rollout here is a
 * job that ships the release and rolls the hosts in batches (fleet/fleet-rollout.ts) and records
 * its outcome as any rollout's: phase, reason, message, events, the current release.
 *
 * The job runs outside the service's lock (a roll takes seconds per host) and once per rollout;
 * a controller that restarts mid-rollout runs it again, which is safe because every host's roll is
 * idempotent (a host already serving the release answers `already`).
 */
import { canonicalJson } from '../core/hash.js';
import { oncePerKey } from '../core/once-per-key.js';
import { SlipwayError } from '../core/errors.js';
import { DEFAULT_RESTART_POLICY } from '../drivers/driver.js';
import { healthCheckFromConfig } from '../health/health-check.js';
import type { HostView, InstanceView } from '../api/types.js';
import type { Release, Rollout } from '../store/types.js';
import type { RolloutProgress } from '../rollout/types.js';
import type { RollRequest } from '../fleet/agent/protocol.js';
import { fleetOf } from '../fleet/fleet-target.js';
import { FleetRuntime, type FleetMember } from '../fleet/fleet-runtime.js';
import { rollFleet, type FleetRolloutInput } from '../fleet/fleet-rollout.js';
import { recreateFleet } from '../fleet/fleet-recreate.js';
import { planRelease, type ReleasePlan } from '../fleet/ship.js';
import { agentBundle } from '../fleet/agent/agent-bundle.js';
import { hostPayload, type HostPayload } from './fleet-payload.js';
import { dirname } from 'node:path';
import { parseUnit, unitName } from './environment-scope.js';
import { fleetStats } from '../fleet/fleet-stats.js';
import { fleetProbe } from '../fleet/fleet-probe.js';
import type { InstanceProbeRequest, InstanceProbeResult } from '../analysis/provider.js';
import type { RouterStats } from '../router/types.js';
import { FleetProgressive, hostGroups, isProgressiveOnFleet } from './fleet-progressive.js';
import type { RunRequest } from '../analysis/runner.js';
import type { AnalysisRunState } from '../analysis/run.js';
import { HostAnswers } from '../fleet/host-answers.js';
import { FleetHealer } from './fleet-heal.js';
import { gcFleet } from './fleet-gc.js';
import type { ServiceRoute } from '../router/types.js';
import type { Controller } from './controller.js';

export class FleetSide {
  private runtime: FleetRuntime | undefined;
  private key = '';
  private readonly jobs = new Map<number, Promise<void>>();
  private readonly plans = new Map<string, ReleasePlan>();
  /** Canary and blue-green jobs by rollout id (fleet-progressive.ts): their analysis runs join the project's. */
  private readonly progressive = new Map<number, FleetProgressive>();
  /** Brings hosts that came back to the current release between rollouts (fleet-heal.ts). */
  private readonly healer: FleetHealer;
  /** Each host's last answer to status (a host that misses the deadline is shown from it). */
  private readonly answers = new HostAnswers<{ routes: ServiceRoute[]; images?: 'podman' | 'docker' | null }>();
  /** Set by close(): a job cut short by a shutdown is not a failed rollout (the next controller runs it again). */
  private closing = false;

  constructor(private readonly c: Controller) {
    this.healer = new FleetHealer(c, this);
  }

  /** The environment's fleet, or undefined when it runs on this machine (made anew when target.ssh changes). */
  current(): FleetRuntime | undefined {
    const config = this.c.project.currentConfig;
    const target = config?.environments[this.c.environment]?.target;
    if (!config || target === undefined || target === 'local') return undefined;
    const key = canonicalJson(target.ssh);
    if (this.runtime && this.key === key) return this.runtime;
    const old = this.runtime;
    // The agent is installed from this Slipway's bundle, packed into the project's artifact store (ADR 0026).
    const bundle = () => agentBundle(this.c.artifacts.root);
    this.runtime = new FleetRuntime(fleetOf(config, dirname(this.c.configPath!), this.c.environment), this.c.log, { bundle });
    this.key = key;
    void old?.close();
    void this.runtime.init().catch((err: Error) => this.c.log.warn(`fleet ${this.c.environment}: ${err.message}`));
    return this.runtime;
  }

  /** One tick for a service of the fleet: start the job of an active rollout not yet running here. */
  async reconcile(
    service: string,
    rt: FleetRuntime,
    desiredRuns: RunRequest[] = [],
    persistedRuns: Record<string, AnalysisRunState> = {},
  ): Promise<void> {
    const rollout = await this.c.store.activeRollout(this.c.environment, service);
    if (!rollout) return this.healer.check(service, rt);
    this.progressive.get(rollout.id)?.wantedRuns(desiredRuns, persistedRuns);
    if (rollout.phase === 'AwaitingApproval' || this.jobs.has(rollout.id)) return;
    const job = this.run(rollout, rt)
      .catch((err: Error) => this.c.log.error(`fleet rollout #${rollout.id}: ${err.message}`))
      .finally(() => this.jobs.delete(rollout.id));
    this.jobs.set(rollout.id, job);
  }

  private async run(rollout: Rollout, rt: FleetRuntime): Promise<void> {
    const c = this.c;
    const { service } = rollout;
    const env = c.environment;
    const started = Date.now();
    const note = (message: string, data: Record<string, unknown>) => void c.event(service, rollout.id, 'fleet.progress', message, data);
    try {
      const to = await c.release(service, rollout.toRelease);
      const from =
        rollout.fromRelease !== null && rollout.fromRelease !== rollout.toRelease
          ? await c.release(service, rollout.fromRelease).catch(() => undefined)
          : undefined;
      // What each host's roll carries besides the spec: the image to pull, the secrets' values.
      const toPayload = await hostPayload(c, to);
      const fromPayload = from ? await hostPayload(c, from).catch(() => undefined) : undefined;
      if (!to.image) await this.prepare(to);
      await rt.init();
      await this.healer.idle(service);
      if (from && isProgressiveOnFleet(rollout, to)) {
        await this.shipEverywhere(rt, to, note);
        const job = new FleetProgressive(c, rollout, rt, {
          // Each release's split carries its payload (image pull, secrets' values), as a roll does.
          rollRequest: (r, m) => this.rollRequest(r, m, rt, r.number === to.number ? toPayload : (fromPayload ?? {})),
          closing: () => this.closing,
          ...(this.hasBalancer()
            ? { balancer: (release: number) => this.balanceAll(to, rt, release), groups: this.groupBalancer(to) }
            : {}),
        });
        this.progressive.set(rollout.id, job);
        try {
          await job.run();
        } finally {
          this.progressive.delete(rollout.id);
        }
        return;
      }
      const { ssh } = rt.fleet;
      const input: FleetRolloutInput = {
        members: rt.members,
        layout: rt.layout,
        parallel: ssh.parallel,
        maxUnavailableHosts: ssh.maxUnavailableHosts,
        to: { ...(to.image ? {} : { plan: this.plan(to) }), roll: (m) => this.rollRequest(to, m, rt, toPayload) },
        ...(from && fromPayload ? { from: { roll: (m: FleetMember) => this.rollRequest(from, m, rt, fromPayload) } } : {}),
        ...(this.hasBalancer() ? { balancer: this.balancer(to, from, rt) } : {}),
        stopRequested: () => this.abortRequested(rollout.id),
        note,
      };
      // Recreate: stopped on every host, then started on every host (fleet-recreate.ts): downtime by
      // design. Not for a restart or scale, which keep capacity whatever the strategy (ADR 0012).
      const recreate = to.spec.strategy.type === 'recreate' && rollout.kind !== 'restart' && rollout.kind !== 'scale';
      const outcomes = recreate ? await recreateFleet(input, await rollFleet({ ...input, shipOnly: true })) : await rollFleet(input);
      const now = c.clock.now();
      const down = Math.max(0, ...outcomes.map((o) => o.downMs ?? 0));
      const message = `release ${to.number} serves on all ${outcomes.length} host(s) in ${((Date.now() - started) / 1000).toFixed(1)}s${
        recreate
          ? ` (recreate: stopped on every host first, so the service was down up to ${(down / 1000).toFixed(1)}s on a host, by design)`
          : ''
      }`;
      await c.store.updateRollout(
        rollout.id,
        { phase: 'Healthy', reason: 'RolledOut', message, finishedAt: now, progress: { ...(rollout.progress as object), hosts: outcomes } },
        now,
      );
      await c.store.setCurrentRelease(env, service, to.number);
      await c.store.setReleaseOutcome(env, service, to.number, 'live');
      if (from) await c.store.setReleaseOutcome(env, service, from.number, 'superseded');
      await c.event(service, rollout.id, 'rollout.healthy', message, { phase: 'Healthy', hosts: outcomes });
      c.log.info(`rollout #${rollout.id} of ${service} (${env}): ${message}`);
      // Old releases go from the hosts' stores, in the background (fleet-gc.ts).
      if (!this.closing) void gcFleet(c, rt, service).catch((err: Error) => c.log.warn(`store GC of ${env}: ${err.message}`));
    } catch (err) {
      if (this.closing) return;
      const e = SlipwayError.from(err);
      const now = c.clock.now();
      const message = `${e.message}${e.hint ? `\n${e.hint}` : ''}`;
      // An abort ends as a local one does: RolledBack, reason Aborted (rollout/failure.ts).
      const aborted = e.code === 'FLEET_ROLLOUT_ABORTED';
      const [phase, reason] = aborted ? (['RolledBack', 'Aborted'] as const) : (['Failed', 'HostFailed'] as const);
      await c.store.updateRollout(rollout.id, { phase, reason, message, finishedAt: now }, now);
      if (rollout.kind === 'deploy') await c.store.setReleaseOutcome(env, service, rollout.toRelease, 'failed');
      await c.event(service, rollout.id, aborted ? 'rollout.rolled-back' : 'rollout.failed', message, {
        phase,
        reason,
        code: e.code,
        details: e.details,
      });
      c.log.warn(`rollout #${rollout.id} of ${service} (${env}) failed: ${e.message}`);
    }
  }

  /** Whether the environment declares a load balancer (its HAProxy is the controller's router for it: ADR 0021). */
  /**
   * The idle blue-green host group (two groups behind HAProxy): every host of one group runs nothing
   * of the service while every host of the other runs it. Left empty on purpose, so not healed.
   */
  idleHosts(service: string, rt: FleetRuntime): Set<string> {
    const groups = this.hasBalancer() ? hostGroups(rt.members) : undefined;
    if (!groups) return new Set();
    const unit = unitName(this.c.environment, service);
    const runs = new Set(
      rt.driver
        .list()
        .filter((i) => i.service === unit)
        .map((i) => i.host),
    );
    const idle = groups.find(
      ([, mine], _, all) => mine.every((m) => !runs.has(m.name)) && all.every(([, g]) => g === mine || g.every((m) => runs.has(m.name))),
    );
    return new Set(idle?.[1].map((m) => m.name) ?? []);
  }

  private hasBalancer(): boolean {
    return this.c.project.currentConfig?.environments[this.c.environment]?.loadBalancer !== undefined;
  }

  /**
   * HAProxy in front of the hosts: each host's router is one server (`<unit>-on-<host>`, at the
   * host's address and the service's port), in the pool of the release it serves. A batch's hosts
   * are drained out of it (for `stopTimeout`) before their roll and put back after it, so users
   * going through HAProxy never reach a host mid-roll.
   */
  private balancer(to: Release, from: Release | undefined, rt: FleetRuntime) {
    const c = this.c;
    const spec = to.spec;
    const unit = unitName(c.environment, to.service);
    const id = (m: FleetMember) => `${unit}-on-${m.name.replace(/[^A-Za-z0-9.-]/g, '-')}`;
    const serving = new Map<string, number>(from ? rt.members.map((m) => [m.name, from.number]) : []);
    const push = async () => {
      const releases = [...new Set(serving.values())].sort((a, b) => a - b);
      await c.router.setRoute({
        service: to.service,
        listen: { host: spec.host, port: spec.port },
        pools: releases.map((release) => {
          const hosts = rt.members.filter((m) => serving.get(m.name) === release);
          return { release, weight: hosts.length, backends: hosts.map((m) => ({ id: id(m), host: m.host.target.host, port: spec.port })) };
        }),
      });
    };
    return {
      take: async (batch: FleetMember[]) => {
        const out = batch.filter((m) => serving.delete(m.name));
        if (!out.length) return;
        await push();
        await c.router.drain(to.service, out.map(id), spec.stopTimeout);
      },
      give: async (hosts: FleetMember[], release: number) => {
        for (const m of hosts) serving.set(m.name, release);
        await push();
      },
    };
  }

  /** `slipway abort` on the rollout (recorded on it by rollout-commands.ts): "aborted by alice: why". */
  private async abortRequested(id: number): Promise<string | undefined> {
    const abort = ((await this.c.store.getRollout(id))?.progress as RolloutProgress | undefined)?.requests?.abort;
    return abort && `aborted by ${abort.by}${abort.reason ? `: ${abort.reason}` : ''}`;
  }

  plan(r: Release): ReleasePlan {
    const plan = this.plans.get(r.digest);
    if (plan) return plan;
    throw SlipwayError.of('ARTIFACT_NOT_FOUND', `no plan for ${r.digest}`);
  }

  /** Plans a release for shipping (its archive and index from the artifact store), once per digest. */
  async prepare(r: Release): Promise<void> {
    if (this.plans.has(r.digest)) return;
    const indexed = this.c.artifacts.indexed(r.digest);
    if (!indexed)
      throw SlipwayError.of('ARTIFACT_NOT_FOUND', `the artifact of release ${r.number} (${r.digest}) is not in the store`, {
        hint: 'Deploy again to build it.',
      });
    this.plans.set(r.digest, await planRelease(indexed.archive, indexed.index));
  }

  /**
   * Ships the release to every host (rollFleet's first step, without rolling): what a progressive
   * job needs before it starts the release anywhere. An image release ships nothing (each host's
   * agent pulls it in its split); every host's agent is still brought to this Slipway's version.
   * Throws FLEET_HOST_FAILED naming a host that failed.
   */
  private async shipEverywhere(rt: FleetRuntime, to: Release, note: (m: string, d: Record<string, unknown>) => void): Promise<void> {
    await rollFleet({
      members: rt.members,
      layout: rt.layout,
      parallel: rt.fleet.ssh.parallel,
      maxUnavailableHosts: rt.fleet.ssh.maxUnavailableHosts,
      to: { ...(to.image ? {} : { plan: this.plan(to) }), roll: (m) => this.rollRequest(to, m, rt) },
      note,
      shipOnly: true,
    });
  }

  /**
   * With HAProxy in front during a canary or blue-green, every host's router is one server of one
   * pool (labelled with `release`): the hosts split traffic between releases themselves, so the
   * load balancer never needs to know which release a host serves (ADR 0026).
   */
  private async balanceAll(to: Release, rt: FleetRuntime, release: number): Promise<void> {
    const unit = unitName(this.c.environment, to.service);
    const spec = to.spec;
    await this.c.router.setRoute({
      service: to.service,
      listen: { host: spec.host, port: spec.port },
      pools: [
        {
          release,
          weight: 1,
          backends: rt.members.map((m) => ({
            id: `${unit}-on-${m.name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
            host: m.host.target.host,
            port: spec.port,
          })),
        },
      ],
    });
  }

  /** HAProxy switching between two host groups (blue-green's on-premises shape): each host's router one server. */
  private groupBalancer(to: Release) {
    const c = this.c;
    const spec = to.spec;
    const unit = unitName(c.environment, to.service);
    const backend = (m: FleetMember) => ({
      id: `${unit}-on-${m.name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
      host: m.host.target.host,
      port: spec.port,
    });
    return {
      route: async (pools: { release: number; weight: number; hosts: FleetMember[] }[], preview?: { port: number; release: number }) =>
        c.router.setRoute({
          service: to.service,
          listen: { host: spec.host, port: spec.port },
          pools: pools.map((p) => ({ release: p.release, weight: p.weight, backends: p.hosts.map(backend) })),
          ...(preview ? { preview: { host: spec.host, port: preview.port, release: preview.release } } : {}),
        }),
      drain: async (hosts: FleetMember[]) => {
        await c.router.drain(
          to.service,
          hosts.map((m) => backend(m).id),
          spec.stopTimeout,
        );
      },
    };
  }

  rollRequest(r: Release, m: FleetMember, rt: FleetRuntime, payload: HostPayload = {}): RollRequest {
    const spec = r.spec;
    const unit = unitName(this.c.environment, r.service);
    return {
      service: unit,
      release: r.number,
      instances: spec.instances,
      spec: {
        service: unit,
        release: r.number,
        // A container release runs its image pinned by digest; it has no release directory.
        releaseDir: r.image ? '' : rt.layout.release(r.digest),
        ...(r.image ? { image: r.image.ref } : {}),
        command: spec.start ?? '',
        env: { ...spec.env, SLIPWAY_ENVIRONMENT: this.c.environment },
        secrets: Object.keys(r.secrets?.values ?? {}),
        logMaxBytes: spec.logs.maxSize,
        logFiles: spec.logs.files,
        restart: DEFAULT_RESTART_POLICY,
      },
      // On a host the router is the host's front door: every address (`host:` is the local target's).
      listen: { host: '0.0.0.0', port: spec.port },
      health: { check: healthCheckFromConfig(spec.health), intervalMs: spec.health.interval, healthyAfter: spec.health.healthyAfter },
      deadlineMs: spec.progressDeadline,
      stopTimeoutMs: spec.stopTimeout,
      idSuffix: `-on-${m.name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
      ...payload,
    };
  }

  /** The service's instances on every host, and each host's view, for `slipway status`. */
  async status(
    service: string,
    rt: FleetRuntime,
    current: number | null,
    desired: number,
  ): Promise<{ instances: InstanceView[]; hosts: HostView[] }> {
    const unit = unitName(this.c.environment, service);
    // One read per distinct release however many hosts serve it (they ask at once: the controller's cache would miss for each).
    const imageOf = oncePerKey(async (release: number) => (await this.c.release(service, release).catch(() => undefined))?.image);
    const hosts = await Promise.all(
      rt.members.map(async (m): Promise<HostView> => {
        // A short deadline per host: a cut link must not hold status for the SSH timeouts (host-answers.ts).
        const a = await this.answers.ask(m.name, async () => {
          const [routes, hello] = await Promise.all([m.agent.call({ op: 'routes' }, 5000), m.agent.call({ op: 'hello' }, 5000)]);
          return { routes, images: hello.images };
        });
        if (!a.ok) {
          const last = a.last && servingOf(a.last.value.routes, unit);
          return {
            host: m.name,
            reachable: false,
            release: null,
            serving: 0,
            health: 'down',
            problem: `${a.error.code}: ${a.error.message.split('\n')[0]}`,
            since: a.since,
            ...(last ? { lastKnown: { ...last, at: a.last!.at } } : {}),
          };
        }
        const { release, serving } = servingOf(a.value.routes, unit);
        const health = release === null || serving === 0 ? 'down' : release === current && serving >= desired ? 'healthy' : 'degraded';
        const problem =
          health === 'down'
            ? 'nothing serves'
            : health === 'degraded'
              ? `release ${release} with ${serving} of ${desired} instance(s)`
              : undefined;
        // The host's runtime for what it serves: its agent's container runtime for an image release.
        const image = release === null ? undefined : await imageOf(release);
        const runtime = release === null ? undefined : image ? (a.value.images ?? undefined) : 'process';
        return {
          host: m.name,
          reachable: true,
          release,
          serving,
          health,
          ...(problem ? { problem } : {}),
          ...(runtime ? { runtime } : {}),
          since: a.since,
        };
      }),
    );
    markIdleGroup(hosts, rt.members, this.hasBalancer());
    const instances = rt.driver
      .list()
      .filter((i) => i.service === unit)
      .sort((a, b) => a.host.localeCompare(b.host) || a.release - b.release)
      .map((i): InstanceView => ({
        id: i.id,
        host: i.host,
        release: i.release,
        state: i.state,
        healthy: i.state === 'running' && hosts.some((h) => h.host === i.host && h.release === i.release),
        retiring: false,
        pid: i.pid,
        port: i.port,
        restarts: i.restarts,
        startedAt: i.startedAt,
        lastExit: i.lastExit,
        nextRestartAt: i.nextRestartAt,
        lastProbe: null,
      }));
    return { instances, hosts };
  }

  /** A fleet service's router counters, every host's summed (undefined when this environment has no fleet). */
  stats(unit: string): Promise<RouterStats> | undefined {
    const rt = this.current();
    return rt ? fleetStats(rt.members, unit) : undefined;
  }

  /**
   * Where `http:` analysis checks of a fleet release go: the rollout's own answer while a canary or
   * blue-green runs (the idle group's routers, or each host's preview listener), else each host's
   * preview listener. Undefined when this environment has no fleet; empty (the check cannot
   * measure, never a pass) when there is no preview port.
   */
  endpoints(unit: string, release: number): { host: string; port: number }[] | undefined {
    const rt = this.current();
    if (!rt) return undefined;
    const service = this.c.project.currentConfig?.services[parseUnit(unit).service];
    const strategy = service?.strategy;
    const spec = { port: service?.port ?? 0, previewPort: strategy?.type === 'blueGreen' ? strategy.previewPort : undefined };
    const job = [...this.progressive.values()].find((j) => j.unit === unit);
    if (job) return job.endpoints(release, spec);
    if (spec.previewPort === undefined) return [];
    return rt.members.map((m) => ({ host: m.host.target.host, port: spec.previewPort! }));
  }

  /**
   * `http:` analysis checks of a fleet release that no preview listener serves (a canary's): each
   * host's agent probes its own instances of the release (fleet-probe.ts). Undefined when this
   * environment has no fleet, or when `endpoints` gives the checks somewhere to go.
   */
  probeInstances(unit: string, release: number, req: InstanceProbeRequest): Promise<InstanceProbeResult[]> | undefined {
    const rt = this.current();
    if (!rt || this.endpoints(unit, release)?.length) return undefined;
    return fleetProbe(rt.members, unit, release, req);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.runtime?.close();
    await Promise.all([...this.jobs.values()]);
    this.runtime = undefined;
  }
}

/**
 * With two host groups behind HAProxy, the group that serves nothing while every host of the other
 * serves is the idle blue-green group (controller/fleet-progressive.ts): marked, not counted down.
 */
function markIdleGroup(hosts: HostView[], members: FleetMember[], balanced: boolean): void {
  const groups = balanced ? hostGroups(members) : undefined;
  if (!groups) return;
  const view = (m: FleetMember) => hosts.find((h) => h.host === m.name)!;
  for (const [name, mine] of groups) {
    const others = groups.find(([g]) => g !== name)![1];
    const empty = mine.every((m) => view(m).reachable && view(m).serving === 0);
    if (!empty || !others.every((m) => view(m).serving > 0)) continue;
    for (const m of mine) Object.assign(view(m), { idle: true, problem: `idle: group ${name} runs the next blue-green release` });
  }
}

/** The release a host's router sends the unit's traffic to, and how many instances serve it. */
function servingOf(routes: ServiceRoute[], unit: string): { release: number | null; serving: number } {
  const pool = routes.find((r) => r.service === unit)?.pools.find((p) => p.weight > 0 && p.backends.length > 0);
  return { release: pool?.release ?? null, serving: pool?.backends.length ?? 0 };
}
