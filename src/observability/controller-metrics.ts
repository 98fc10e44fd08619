/**
 * The controller's Prometheus metrics (`GET /metrics` on its API, prom-client's text format):
 * rollouts by phase and outcome, rollout durations, time to roll back, analysis verdicts and
 * instance restarts; the router's request and latency families follow, rendered from its stats
 * as the built-in router renders them on its admin port (router/prometheus.ts), whichever router
 * (built-in or HAProxy) serves, so one scrape sees both.
 *
 * Counters and histograms count from the controller's start, as Prometheus expects of a process
 * (a restart resets them; `rate()` and `increase()` handle that). What is state rather than an
 * event (rollouts in progress, restarts so far) is read when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InstanceStatus } from '../drivers/driver.js';
import type { Rollout, RolloutPhase } from '../store/types.js';
import { TERMINAL_PHASES } from '../store/types.js';
import { parseUnit } from '../controller/environment-scope.js';
import { ServiceCounters } from '../router/metrics.js';
import { renderPrometheus } from '../router/prometheus.js';
import type { RouterStats } from '../router/types.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** Rollouts not yet finished, in every environment. */
  activeRollouts(): Promise<Rollout[]>;
  /** Every instance the driver knows (unit names carry the environment, environment-scope.ts). */
  instances(): InstanceStatus[];
  /** The router's cumulative counts (TrafficRouter.stats). */
  routerStats(): Promise<RouterStats>;
}

/** A rollout phase change as the controller records it (Controller.event). */
export interface PhaseChange {
  rollout: Pick<Rollout, 'id' | 'environment' | 'service' | 'kind' | 'startedAt'>;
  phase: RolloutPhase;
  at: number;
}

const DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
const ROLLBACK_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly phases: Counter<'environment' | 'service' | 'kind' | 'phase'>;
  private readonly durations: Histogram<'environment' | 'service' | 'kind' | 'outcome'>;
  private readonly rollbacks: Histogram<'environment' | 'service'>;
  private readonly verdicts: Counter<'environment' | 'service' | 'check' | 'verdict'>;
  /** When each rollout being undone entered Degraded: the start of its time to roll back. */
  private readonly undoingSince = new Map<number, number>();

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.phases = new Counter({
      name: 'slipway_rollout_phase_transitions_total',
      help: 'Rollouts entering a phase, by environment, service, kind (deploy, rollback, restart, scale) and phase.',
      labelNames: ['environment', 'service', 'kind', 'phase'],
      registers,
    });
    this.durations = new Histogram({
      name: 'slipway_rollout_duration_seconds',
      help: 'Time from a rollout start to its end, by outcome (Healthy, RolledBack, Failed).',
      labelNames: ['environment', 'service', 'kind', 'outcome'],
      buckets: DURATION_BUCKETS_S,
      registers,
    });
    this.rollbacks = new Histogram({
      name: 'slipway_rollback_duration_seconds',
      help: 'Time to roll back: from the decision to undo a rollout (phase Degraded) to the stable release serving alone (RolledBack).',
      labelNames: ['environment', 'service'],
      buckets: ROLLBACK_BUCKETS_S,
      registers,
    });
    this.verdicts = new Counter({
      name: 'slipway_analysis_measurements_total',
      help: 'Analysis measurements by environment, service, check and verdict (pass, fail, inconclusive).',
      labelNames: ['environment', 'service', 'check', 'verdict'],
      registers,
    });
    new Gauge({
      name: 'slipway_rollouts_active',
      help: 'Rollouts in progress, by environment, service, kind and phase.',
      labelNames: ['environment', 'service', 'kind', 'phase'],
      registers,
      async collect() {
        this.reset();
        for (const r of await sources.activeRollouts())
          this.inc({ environment: r.environment, service: r.service, kind: r.kind, phase: r.phase });
      },
    });
    new Gauge({
      name: 'slipway_instance_restarts',
      help: 'Restarts of each instance after it exited unexpectedly, as the driver counts them (kept across controller restarts).',
      labelNames: ['environment', 'service', 'release', 'instance'],
      registers,
      collect() {
        this.reset();
        for (const i of sources.instances()) {
          const { environment, service } = parseUnit(i.service);
          this.set({ environment, service, release: String(i.release), instance: i.id }, i.restarts);
        }
      },
    });
    new Gauge({
      name: 'slipway_instances',
      help: 'Instances by environment, service, release and state (running, restarting, failed, stopped).',
      labelNames: ['environment', 'service', 'release', 'state'],
      registers,
      collect() {
        this.reset();
        for (const i of sources.instances()) {
          const { environment, service } = parseUnit(i.service);
          this.inc({ environment, service, release: String(i.release), state: i.state });
        }
      },
    });
  }

  /** A rollout entered `phase` at `at` (ms). */
  phaseChanged({ rollout: r, phase, at }: PhaseChange): void {
    const labels = { environment: r.environment, service: r.service };
    this.phases.inc({ ...labels, kind: r.kind, phase });
    if (phase === 'Degraded') this.undoingSince.set(r.id, at);
    if (!TERMINAL_PHASES.includes(phase)) return;
    this.durations.observe({ ...labels, kind: r.kind, outcome: phase }, Math.max(0, at - r.startedAt) / 1000);
    // Undone within one step (traffic moved back and nothing left to stop) took no time beyond that step.
    if (phase === 'RolledBack') this.rollbacks.observe(labels, Math.max(0, at - (this.undoingSince.get(r.id) ?? at)) / 1000);
    this.undoingSince.delete(r.id);
  }

  /** One measurement of an analysis check. */
  measured(environment: string, service: string, check: string, verdict: string): void {
    this.verdicts.inc({ environment, service, check, verdict });
  }

  /** The exposition text: the controller's families, then the router's (left out while it does not answer). */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    const stats = await this.sources.routerStats().catch(() => undefined);
    if (stats === undefined) return own;
    return `${own}\n${renderPrometheus(stats.services.map((s) => ({ service: s.service, counters: ServiceCounters.fromStats(s) })))}`;
  }
}
