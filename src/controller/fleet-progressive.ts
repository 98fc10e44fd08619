/**
 * Canary and blue-green across a fleet's hosts (docs/servers.md, ADR 0026 "Progressive rollouts
 * across hosts"), driven by the same pure rollout engine as on this machine (rollout/transition.ts):
 * no second state machine. The engine is shown the fleet as one virtual instance per release
 * (`fleet:<release>`), ready when every host serves that release healthy, and its decisions are
 * carried out on every host alike: "start release R" brings R up beside what the host runs, the
 * route's weights become each host router's weights (so a step's weight holds across the whole
 * fleet, whatever host a request reaches), a preview is each host's preview listener, and
 * "retire" drains and stops R on every host. Steps, pauses, `slipway promote`/`abort`, analysis
 * verdicts and undoing are therefore exactly the local ones.
 *
 * Each host is changed by its agent's `split` (agent/host-split.ts), sent by one applier per host
 * that always sends the latest wish and never waits for another host: abort or a failed analysis
 * reaches every host in the same round trip, so the fleet is back at 0% within about a second.
 */
import { canonicalJson } from '../core/hash.js';
import { SlipwayError } from '../core/errors.js';
import type { RunRequest } from '../analysis/runner.js';
import type { AnalysisRunState } from '../analysis/run.js';
import type { Release, Rollout } from '../store/types.js';
import type { ServiceRoute } from '../router/types.js';
import { transition } from '../rollout/transition.js';
import { settledProgress } from '../rollout/settle.js';
import type { ObservedInstance, PersistedRun, ReleaseShape, RolloutProgress, RunView, TransitionResult } from '../rollout/types.js';
import type { FleetMember, FleetRuntime } from '../fleet/fleet-runtime.js';
import type { RollRequest, SplitRequest } from '../fleet/agent/protocol.js';
import { applyRolloutFlags } from './rollout-flags.js';
import { unitName } from './environment-scope.js';
import type { Controller } from './controller.js';

/** How often the job looks at the hosts and asks the engine (the local loop's order of magnitude). */
const TICK_MS = 200;
/** A host that could not be changed (unreachable) is asked again after this. */
const RETRY_MS = 1000;

/** What the fleet-side needs of a progressive job from outside: the release's per-host roll (instance spec, health). */
export interface FleetProgressiveDeps {
  rollRequest: (r: Release, m: FleetMember) => RollRequest;
  /** True once the controller shuts down: the job stops where it is (the next controller resumes it). */
  closing: () => boolean;
  /** HAProxy in front of the hosts: every host's router is one server; the hosts split traffic themselves. */
  balancer?: (release: number) => Promise<void>;
  /**
   * HAProxy with the hosts in two groups (blue-green's on-premises shape): each pool is one
   * release on one group's hosts, at its weight, with an optional preview listener; one call is
   * one change of HAProxy (its Runtime API, no reload). `drain` waits for hosts taken out of it.
   */
  groups?: {
    route: (
      pools: { release: number; weight: number; hosts: FleetMember[] }[],
      preview?: { port: number; release: number },
    ) => Promise<void>;
    drain: (hosts: FleetMember[], release: number) => Promise<void>;
  };
}

/** The two host groups (`labels: { group: … }`) when every host has one of exactly two; else undefined. */
export function hostGroups(members: FleetMember[]): [string, FleetMember[]][] | undefined {
  const by = new Map<string, FleetMember[]>();
  for (const m of members) {
    const g = m.host.labels.group;
    if (g === undefined) return undefined;
    by.set(g, [...(by.get(g) ?? []), m]);
  }
  return by.size === 2 ? [...by.entries()] : undefined;
}

/** Whether a rollout of this release runs as a progressive fleet job (canary or blue-green over a previous release). */
export function isProgressiveOnFleet(rollout: Rollout, to: Release): boolean {
  const type = to.spec.strategy.type;
  return (
    (type === 'canary' || type === 'blueGreen') &&
    rollout.kind === 'deploy' &&
    rollout.fromRelease !== null &&
    rollout.fromRelease !== rollout.toRelease
  );
}

interface HostView {
  route: ServiceRoute | undefined;
  reachable: boolean;
}

type Wish = Omit<SplitRequest, 'idSuffix'>;

/** Sends one host the latest wish, one at a time; remembers what failed. */
class HostApplier {
  private applied = '';
  private inFlight = '';
  private next: { key: string; req: SplitRequest } | undefined;
  private lastTry = 0;
  /** The last wish the host refused because a release could not be started on it (crash loop, deadline). */
  failed: { key: string; message: string; releases: number[] } | undefined;
  lastError: string | undefined;
  private doing: Promise<void> | undefined;

  constructor(
    readonly m: FleetMember,
    private readonly note: (message: string, data: Record<string, unknown>) => void,
  ) {}

  push(req: SplitRequest): void {
    const key = canonicalJson(req);
    if (key === this.applied || key === this.inFlight || key === this.failed?.key) return;
    this.next = { key, req };
    this.kick();
  }

  private kick(): void {
    if (this.doing || !this.next) return;
    if (this.lastError !== undefined && Date.now() - this.lastTry < RETRY_MS) return;
    const { key, req } = this.next;
    this.next = undefined;
    this.inFlight = key;
    this.lastTry = Date.now();
    const t0 = Date.now();
    this.doing = this.m.agent
      .call({ op: 'split', split: req }, req.deadlineMs + req.stopTimeoutMs + 30_000)
      .then(
        (r) => {
          this.applied = key;
          this.lastError = undefined;
          const runs = req.releases.map((x) => `release ${x.release} at weight ${x.weight}`).join(', ');
          this.note(`${this.m.name}: ${runs || 'no release (its instances stopped)'}`, {
            host: this.m.name,
            step: 'split',
            started: r.started,
            retired: r.retired,
            ms: Date.now() - t0,
            ...(r.phases ? { phases: r.phases } : {}),
          });
        },
        (err: unknown) => {
          const e = SlipwayError.from(err);
          const message = `${this.m.name}: ${e.code}: ${e.message.split('\n')[0]}${e.hint ? `\n${e.hint}` : ''}`;
          if (e.code === 'FLEET_ROLL_FAILED') this.failed = { key, message, releases: req.releases.map((x) => x.release) };
          else this.lastError = message;
          this.note(`${this.m.name}: could not apply: ${message.split('\n')[0]}`, { host: this.m.name, step: 'split', code: e.code });
        },
      )
      .finally(() => {
        this.inFlight = '';
        this.doing = undefined;
        // A failed wish stays wanted (it is retried after RETRY_MS by the next push) unless a newer one came.
        if (!this.next && this.lastError !== undefined && this.failed?.key !== key && key !== this.applied) this.next = { key, req };
        this.kick();
      });
  }

  /** Resolves when nothing is in flight. */
  async settled(): Promise<void> {
    while (this.doing) await this.doing;
  }
}

export class FleetProgressive {
  readonly unit: string;
  private readonly appliers: HostApplier[];
  private readonly seen = new Map<string, HostView>();
  private firstSeen = new Map<number, number>();
  /** The releases the hosts are asked to run now (undefined until the engine first said). */
  private wish: Wish | undefined;
  /** Analysis runs the engine wants now, for the project's runner (ProjectController.loop). */
  private runs: RunRequest[] = [];
  private persisted: Record<string, AnalysisRunState> = {};
  /** When undoing was decided, until every host's router gives the new release no more traffic. */
  private undoSince: number | undefined;
  /** Blue-green on two host groups behind HAProxy: the group serving the old release, and the idle one the new release comes up on. */
  private groups: { active: FleetMember[]; idle: FleetMember[]; names: [string, string] } | undefined;
  private balanced = '';

  constructor(
    private readonly c: Controller,
    private readonly rollout: Rollout,
    private readonly rt: FleetRuntime,
    private readonly deps: FleetProgressiveDeps,
  ) {
    this.unit = unitName(c.environment, rollout.service);
    const note = (message: string, data: Record<string, unknown>) =>
      void c.event(rollout.service, rollout.id, 'fleet.progress', message, data);
    this.appliers = rt.members.map((m) => new HostApplier(m, note));
  }

  /** Adds the runs this job wants to the loop's (called each tick of the project's loop). */
  wantedRuns(desired: RunRequest[], persisted: Record<string, AnalysisRunState>): void {
    desired.push(...this.runs);
    Object.assign(persisted, this.persisted);
  }

  /** Runs the rollout to its end (or until the controller closes). */
  async run(): Promise<void> {
    const { c, rollout } = this;
    const to = await c.release(rollout.service, rollout.toRelease);
    const from = await c.release(rollout.service, rollout.fromRelease!);
    const groups = to.spec.strategy.type === 'blueGreen' && this.deps.groups ? hostGroups(this.rt.members) : undefined;
    if (groups) await this.takeIdleGroup(groups, to, from);
    else if (this.deps.balancer)
      await this.haproxy(`every host's router serves release ${from.number}`, 'switchMs', () => this.deps.balancer!(from.number));
    for (;;) {
      if (this.deps.closing()) return;
      await this.observe();
      const finished = await c.withLock(rollout.service, () => this.step(to, from));
      if (finished) {
        await Promise.all(this.appliers.map((a) => a.settled()));
        const fresh = await c.store.getRollout(rollout.id);
        if (fresh?.phase === 'Healthy' && !this.groups && this.deps.balancer)
          await this.haproxy(`every host's router serves release ${to.number}`, 'switchMs', () => this.deps.balancer!(to.number));
        this.runs = [];
        return;
      }
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  }

  /**
   * The groups' roles: the idle group is the one already running the new release (a resumed
   * rollout), else one serving nothing, else the group the first host listed is not in. Its hosts
   * leave HAProxy (drained for stopTimeout) before anything on them changes.
   */
  private async takeIdleGroup(groups: [string, FleetMember[]][], to: Release, from: Release): Promise<void> {
    await this.observe();
    const runs = (hosts: FleetMember[], release: number) =>
      hosts.some((m) => this.seen.get(m.name)?.route?.pools.some((p) => p.release === release && p.backends.length > 0));
    const first = this.rt.members[0]!.host.labels.group;
    const resumed = groups.find(([, hosts]) => runs(hosts, to.number));
    const idle = resumed ?? groups.find(([, hosts]) => !runs(hosts, from.number)) ?? groups.find(([name]) => name !== first)!;
    const active = groups.find((g) => g !== idle)!;
    this.groups = { active: active[1], idle: idle[1], names: [active[0], idle[0]] };
    // A resumed rollout may have switched already: its first tick sets HAProxy as the engine says.
    if (resumed) return;
    await this.haproxy(`group ${idle[0]} out of HAProxy`, 'switchMs', () =>
      this.deps.groups!.route([{ release: from.number, weight: 1, hosts: active[1] }]),
    );
    await this.haproxy(`group ${idle[0]} drained`, 'drainMs', () => this.deps.groups!.drain(idle[1], from.number));
    void this.c.event(
      this.rollout.service,
      this.rollout.id,
      'fleet.progress',
      `release ${to.number} comes up on group ${idle[0]} (${idle[1].map((m) => m.name).join(', ')}); group ${active[0]} keeps serving release ${from.number}`,
      { step: 'groups', active: active[0], idle: idle[0] },
    );
  }

  /**
   * One change of this machine's HAProxy, timed: a `fleet.progress` event with step `haproxy` and
   * the phase it belongs to (switch: servers' weights or pools; drain: hosts taken out, waited
   * for), so a progressive rollout's events say where its time went as a roll's do.
   */
  private async haproxy(what: string, phase: 'switchMs' | 'drainMs', change: () => Promise<void>): Promise<void> {
    const t0 = Date.now();
    await change();
    const ms = Date.now() - t0;
    void this.c.event(this.rollout.service, this.rollout.id, 'fleet.progress', `HAProxy: ${what}`, {
      step: 'haproxy',
      ms,
      phases: { [phase]: ms },
    });
  }

  /** The hosts a release runs on: every host, or its group's with two groups. */
  private hostsOf(release: number): FleetMember[] {
    if (!this.groups) return this.rt.members;
    return release === this.rollout.toRelease ? this.groups.idle : this.groups.active;
  }

  /**
   * Where `http:` checks of a release go: with two groups, the idle group's routers (they serve it
   * alone); else each host's preview listener (the strategy's previewPort), or none.
   */
  endpoints(release: number, spec: { port: number; previewPort: number | undefined }): { host: string; port: number }[] {
    if (this.groups && release === this.rollout.toRelease)
      return this.groups.idle.map((m) => ({ host: m.host.target.host, port: spec.port }));
    if (spec.previewPort === undefined) return [];
    return this.rt.members.map((m) => ({ host: m.host.target.host, port: spec.previewPort! }));
  }

  /** Each host's route for the service, read from its agent; an unreachable host keeps what was last seen. */
  private async observe(): Promise<void> {
    await Promise.all(
      this.rt.members.map(async (m) => {
        try {
          const routes = await m.agent.call({ op: 'routes' }, 3000);
          this.seen.set(m.name, { route: routes.find((r) => r.service === this.unit), reachable: true });
        } catch {
          const last = this.seen.get(m.name);
          this.seen.set(m.name, { route: last?.route, reachable: false });
        }
      }),
    );
  }

  /** One turn of the engine over the fleet, under the service's lock; true once the rollout finished. */
  private async step(to: Release, from: Release): Promise<boolean> {
    const { c } = this;
    const rollout = await c.store.getRollout(this.rollout.id);
    if (!rollout || rollout.finishedAt !== null) return true;
    const env = c.environment;
    const now = c.clock.now();
    const current = await c.store.getCurrentRelease(env, rollout.service);
    const shapes: Record<number, ReleaseShape> = { [to.number]: this.shape(to), [from.number]: this.shape(from) };
    const instances = [from, to].flatMap((r) => this.virtual(r, now));
    const progress = rollout.progress as RolloutProgress;
    const prefix = `${rollout.id}/`;
    const runs: Record<string, PersistedRun> = { ...(progress.analysis ?? {}) };
    for (const [key, state] of Object.entries(c.runner.states()))
      if (key.startsWith(prefix)) runs[key.slice(prefix.length)] = state as unknown as PersistedRun;
    const result = transition({ ...rollout, progress }, { current, shapes, instances, analysis: runs as Record<string, RunView> }, now);
    if (result.rollout) {
      result.rollout.progress = settledProgress(result);
      if (Object.keys(runs).length) result.rollout.progress = { ...result.rollout.progress, analysis: runs };
      await applyRolloutFlags(c, rollout, result);
      await c.persistRollout(rollout, result);
      const checks = progress.checks ?? {};
      this.runs = [];
      this.persisted = {};
      for (const run of result.rollout.finished ? [] : (result.analysis ?? [])) {
        const check = checks[run.check];
        if (!check) continue;
        this.runs.push({
          key: prefix + run.key,
          check,
          service: this.unit,
          release: run.release,
          baseline: run.baseline,
          openEnd: run.openEnd,
        });
        const saved = progress.analysis?.[run.key];
        if (saved) this.persisted[prefix + run.key] = saved as unknown as AnalysisRunState;
      }
      if (result.rollout.progress.failure && this.undoSince === undefined) this.undoSince = Date.now();
    }
    if (result.setCurrent !== undefined) await c.store.setCurrentRelease(env, rollout.service, result.setCurrent);
    await this.carryOut(result, to, from);
    this.noteUndone(to);
    return result.rollout?.finished ?? false;
  }

  /** The engine's shape of a release on the fleet: one virtual instance, the release's own deadline and strategy. */
  private shape(r: Release): ReleaseShape {
    return { release: r.number, instances: 1, strategy: r.spec.strategy, progressDeadlineMs: r.spec.progressDeadline };
  }

  /**
   * The release on the fleet as one instance: there while the hosts are asked to run it or any host
   * still runs it; healthy when every host's router serves it with all its instances; failed when a
   * host could not start it (crash loop, deadline: the host's words are its log tail).
   */
  private virtual(r: Release, now: number): ObservedInstance[] {
    const wanted = this.wish?.releases.some((x) => x.release === r.number);
    const onHosts = this.rt.driver.list().filter((i) => i.service === this.unit && i.release === r.number && i.state !== 'stopped');
    const routed = [...this.seen.values()].some((v) => v.route?.pools.some((p) => p.release === r.number && p.backends.length > 0));
    if (!wanted && !onHosts.length && !routed) {
      this.firstSeen.delete(r.number);
      return [];
    }
    if (!this.firstSeen.has(r.number)) this.firstSeen.set(r.number, now);
    const notReady = this.hostsOf(r.number).filter((m) => {
      const pool = this.seen.get(m.name)?.route?.pools.find((p) => p.release === r.number);
      return !pool || pool.backends.length < r.spec.instances;
    });
    const failed = this.appliers.filter(
      (a) => a.failed?.releases.includes(r.number) && this.wish?.releases.some((x) => x.release === r.number),
    );
    const failedHere = failed.filter((a) => !this.seen.get(a.m.name)?.route?.pools.some((p) => p.release === r.number));
    return [
      {
        id: `fleet:${r.number}`,
        release: r.number,
        state: failedHere.length ? 'failed' : 'running',
        healthy: notReady.length === 0,
        retiring: this.wish !== undefined && !wanted,
        startedAt: this.firstSeen.get(r.number)!,
        restarts: 0,
        lastExit: null,
        lastProbe: notReady.length
          ? `not serving yet on ${notReady.map((m) => this.appliers.find((a) => a.m === m)?.lastError ?? m.name).join('; ')}`
          : null,
        ...(failedHere.length ? { logTail: failedHere.map((a) => a.failed!.message) } : {}),
      },
    ];
  }

  /** Turns the engine's route and actions into every host's split, and sends it. */
  private async carryOut(result: TransitionResult, to: Release, from: Release): Promise<void> {
    const retired = new Set(result.actions.flatMap((a) => (a.type === 'retire' ? [Number(a.id.slice('fleet:'.length))] : [])));
    const started = result.actions.flatMap((a) => (a.type === 'start' ? [a.release] : []));
    const present = [from, to].filter((r) => this.virtual(r, Date.now()).some((i) => !i.retiring));
    const run = new Set([...present.map((r) => r.number).filter((n) => !retired.has(n)), ...started]);
    const weights = new Map(result.route.map((p) => [p.release, p.weight ?? p.ids.length]));
    // The stable release first: status reads a host's first weighted pool as the release it serves.
    let releases = [from, to].filter((r) => run.has(r.number)).map((r) => ({ r, weight: weights.get(r.number) ?? 0 }));
    // Never ask a host to give every release weight 0 (it would answer 503): keep the last weights meanwhile.
    if (releases.length && releases.every((x) => x.weight === 0) && this.wish) {
      const last = new Map(this.wish.releases.map((x) => [x.release, x.weight]));
      releases = releases.map((x) => ({ ...x, weight: last.get(x.r.number) ?? 0 }));
    }
    if (!releases.length) return;
    const routing = result.routing ?? {};
    const previewPort = to.spec.strategy.type === 'blueGreen' ? to.spec.strategy.previewPort : undefined;
    const base = (m: FleetMember) => this.deps.rollRequest(to, m);
    // Each host's own instance spec of each release (what the host runs it with may differ per host).
    const byNumber = new Map([to, from].map((r) => [r.number, r]));
    // With it, what the host needs to start the release (as in a roll): the image to pull, the secrets' values.
    const onHost = (m: FleetMember, rs: Wish['releases']) =>
      rs.map((x) => {
        const roll = this.deps.rollRequest(byNumber.get(x.release)!, m);
        return { ...x, spec: roll.spec, ...(roll.pull ? { pull: roll.pull } : {}), ...(roll.secrets ? { secrets: roll.secrets } : {}) };
      });
    const wish: Wish = {
      service: this.unit,
      listen: { host: '0.0.0.0', port: to.spec.port },
      releases: releases.map(({ r, weight }) => ({
        release: r.number,
        instances: r.spec.instances,
        spec: { ...this.deps.rollRequest(r, this.rt.members[0]!).spec },
        weight,
      })),
      ...(routing.previewRelease !== undefined && previewPort !== undefined && run.has(routing.previewRelease)
        ? { preview: { port: previewPort, release: routing.previewRelease } }
        : {}),
      ...(routing.match && routing.canaryRelease !== undefined && run.has(routing.canaryRelease)
        ? { rules: [{ match: { header: routing.match.header }, release: routing.canaryRelease }] }
        : {}),
      ...(routing.stickiness === 'cookie' ? { stickiness: 'cookie' as const } : {}),
      health: base(this.rt.members[0]!).health,
      deadlineMs: to.spec.progressDeadline,
      stopTimeoutMs: to.spec.stopTimeout,
    };
    this.wish = wish;
    if (!this.groups) {
      for (const a of this.appliers) a.push({ ...wish, releases: onHost(a.m, wish.releases), idSuffix: base(a.m).idSuffix });
      return;
    }
    // Two groups: HAProxy switches between them, and changes first (hosts taken out of it are then
    // changed without a user request reaching them); each host runs its group's release alone.
    const pools = wish.releases.map((x) => ({
      release: x.release,
      weight: x.weight,
      // The idle group joins HAProxy only once it serves the new release on every host.
      hosts: x.release === to.number && !this.virtual(to, Date.now()).some((i) => i.healthy) ? [] : this.hostsOf(x.release),
    }));
    const key = canonicalJson({
      pools: pools.map((p) => [p.release, p.weight, p.hosts.map((m) => m.name)]),
      preview: wish.preview ?? null,
    });
    if (key !== this.balanced) {
      try {
        const said = pools.map((p) => `release ${p.release} at weight ${p.weight} on ${p.hosts.length} host(s)`).join(', ');
        await this.haproxy(said, 'switchMs', () => this.deps.groups!.route(pools, wish.preview));
        this.balanced = key;
      } catch (err) {
        // Hosts are left as they are until HAProxy takes the change (asked again next tick).
        this.c.log.warn(`rollout #${this.rollout.id}: HAProxy refused the route: ${(err as Error).message}`);
        return;
      }
    }
    const { preview: _p, rules: _r, stickiness: _s, ...plain } = wish;
    void [_p, _r, _s];
    for (const a of this.appliers) {
      const mine = wish.releases.filter((x) => this.hostsOf(x.release).includes(a.m)).map((x) => ({ ...x, weight: 1 }));
      a.push({ ...plain, releases: onHost(a.m, mine), idSuffix: base(a.m).idSuffix });
    }
  }

  /** Once undoing was decided: says how long it took until no host's router sent the new release traffic. */
  private noteUndone(to: Release): void {
    if (this.undoSince === undefined || this.undoSince < 0) return;
    const clear = this.rt.members.every((m) => {
      const v = this.seen.get(m.name);
      return v?.reachable && !v.route?.pools.some((p) => p.release === to.number && p.weight > 0 && p.backends.length > 0);
    });
    if (!clear) return;
    const ms = Date.now() - this.undoSince;
    this.undoSince = -1;
    void this.c.event(
      this.rollout.service,
      this.rollout.id,
      'fleet.progress',
      `traffic back on the previous release on all ${this.rt.members.length} host(s) ${ms} ms after the rollback was decided`,
      { step: 'undone', ms },
    );
  }
}
