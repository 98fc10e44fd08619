/**
 * Probes watched instances on an interval and keeps their health. One loop per instance: it probes
 * at once, then every `intervalMs` (measured from the start of the previous probe), and never
 * starts a probe before the previous one of the same instance has finished.
 */
import { systemClock, type Clock } from '../core/clock.js';
import type { HealthCheck, ProbeResult, ProbeTarget } from './health-check.js';
import { HealthTracker, initialHealth, type HealthStatus, type HealthThresholds } from './health-tracker.js';
import { probe as realProbe } from './probe.js';

/** How often and how strictly to probe one instance. */
export interface WatchOptions extends HealthThresholds {
  intervalMs: number;
  /** Overrides `check.timeoutMs` when given. */
  timeoutMs?: number;
}

export type ProbeFn = (check: HealthCheck, target: ProbeTarget, signal?: AbortSignal) => Promise<ProbeResult>;

export interface HealthMonitorProps {
  /** @default systemClock */
  clock?: Clock;
  /** The probe to run; tests substitute a scripted one. @default probe from ./probe.js */
  probe?: ProbeFn;
}

/** Listener for health changes: called after a probe that flips `healthy` or `lastResult.ok` (and after the first probe). */
export type HealthListener = (id: string, status: HealthStatus) => void;

interface Watch {
  abort: AbortController;
  done: Promise<void>;
}

export class HealthMonitor {
  private readonly clock: Clock;
  private readonly probe: ProbeFn;
  private readonly tracker = new HealthTracker();
  private readonly watches = new Map<string, Watch>();
  private readonly listeners: HealthListener[] = [];

  constructor(props: HealthMonitorProps = {}) {
    this.clock = props.clock ?? systemClock;
    this.probe = props.probe ?? realProbe;
  }

  /** Starts probing an instance; watching an id again replaces its check and restarts its health. */
  watch(id: string, check: HealthCheck, target: ProbeTarget, opts: WatchOptions): void {
    this.unwatch(id);
    const abort = new AbortController();
    const effective: HealthCheck = opts.timeoutMs === undefined ? check : { ...check, timeoutMs: opts.timeoutMs };
    const watch: Watch = { abort, done: Promise.resolve() };
    watch.done = this.loop(id, effective, target, opts, abort.signal);
    this.watches.set(id, watch);
  }

  /** Stops probing an instance and forgets its health. A probe in flight is aborted and ignored. */
  unwatch(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.abort.abort();
    this.watches.delete(id);
    this.tracker.delete(id);
  }

  /** Health of a watched instance (unhealthy with no result before its first probe), or undefined. */
  get(id: string): HealthStatus | undefined {
    if (!this.watches.has(id)) return undefined;
    return this.tracker.get(id) ?? initialHealth();
  }

  onChange(listener: HealthListener): void {
    this.listeners.push(listener);
  }

  /** Unwatches everything and resolves once every loop has ended. */
  async stop(): Promise<void> {
    const loops = [...this.watches.values()].map((w) => w.done);
    for (const id of [...this.watches.keys()]) this.unwatch(id);
    await Promise.all(loops);
  }

  private async loop(id: string, check: HealthCheck, target: ProbeTarget, opts: WatchOptions, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const startedAt = this.clock.now();
      const aborted = whenAborted(signal);
      const result = await Promise.race([
        this.probe(check, target, signal).catch((err: unknown): ProbeResult => ({
          ok: false,
          detail: `probe error: ${String(err)}`,
          durationMs: 0,
        })),
        // stop() must not wait on a probe that ignores its abort signal.
        aborted.promise,
      ]);
      aborted.dispose();
      if (signal.aborted || result === undefined) return;
      const prev = this.tracker.get(id);
      const { status, flipped } = this.tracker.record(id, result, opts);
      if (flipped || prev?.lastResult?.ok !== result.ok) this.emit(id, status);
      const wait = startedAt + opts.intervalMs - this.clock.now();
      // A probe slower than the interval is followed by the next at once, never overlapped.
      if (wait > 0) {
        try {
          await this.clock.sleep(wait, signal);
        } catch {
          return;
        }
      }
    }
  }

  private emit(id: string, status: HealthStatus): void {
    for (const l of this.listeners) {
      try {
        l(id, status);
      } catch {
        /* a faulty listener must not stop probing */
      }
    }
  }
}

/** A promise settled by `signal`, with a way to drop its listener so each loop turn leaves none behind. */
function whenAborted(signal: AbortSignal): { promise: Promise<undefined>; dispose: () => void } {
  let onAbort = () => {};
  const promise = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
