/**
 * Runs analysis checks: the loop around the pure run state machine (run.ts). The controller says
 * which runs it wants (`reconcile`); the runner measures each when due through its provider,
 * judges, advances the state, and tells listeners, who persist it. Each run has its own loop, so
 * a slow provider delays only its own run, and within a run calls never overlap.
 */
import type { Clock } from '../core/clock.js';
import { evaluateCheck, hardFailureCheck } from './evaluate.js';
import { specForJudging, type MetricProvider, type ProviderContext, type ProviderRegistry } from './provider.js';
import { defaultProviderRegistry } from './providers/registry.js';
import { advanceRun, isFinished, isMeasurementDue, startRun, type AnalysisRunState, type OpenEnd, type RunInput } from './run.js';
import type { CheckDefinition } from './source.js';
import type { AnalysisSpec } from './spec.js';

/** One run the controller wants: a check of a release, compared with `baseline` where it needs one. */
export interface RunRequest {
  /** Identifies the run across reconciles and controller restarts (e.g. `${rollout}/${step}/${check}`). */
  key: string;
  check: CheckDefinition;
  service: string;
  release: number;
  baseline: number | null;
  /** How the run ends when its check has no `count` (see OpenEnd): 'first-pass' for a step's analysis. @default 'stop' */
  openEnd?: OpenEnd;
}

export type RunListener = (key: string, state: AnalysisRunState) => void;

interface ActiveRun {
  request: RunRequest;
  spec: AnalysisSpec;
  state: AnalysisRunState;
  abort: AbortController;
  loop: Promise<void>;
  /** Stopped by a reconcile: dropped by the next one. */
  stopped: boolean;
}

export class AnalysisRunner {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly listeners = new Set<RunListener>();
  private closed = false;

  constructor(
    private readonly context: ProviderContext,
    private readonly providers: ProviderRegistry = defaultProviderRegistry(),
  ) {}

  /**
   * Makes the running set match `desired`. A key not yet known starts a run, resuming from
   * `persisted[key]` when given (a finished persisted state stays as it is). A known key keeps
   * its run as is, even if its request changed: use a new key for a new run. A run no longer
   * desired gets a `stop` input (so it ends Successful or per inconclusiveAction) and its final
   * state stays readable until the next reconcile drops it.
   */
  reconcile(desired: readonly RunRequest[], persisted: Record<string, AnalysisRunState> = {}): void {
    if (this.closed) throw new Error('AnalysisRunner.reconcile after stop()');
    const wanted = new Set(desired.map((r) => r.key));
    for (const [key, run] of this.runs) {
      if (wanted.has(key)) continue;
      if (run.stopped) this.runs.delete(key);
      else this.stopRun(run, 'the analysis step ended');
    }
    for (const request of desired) {
      if (!this.runs.has(request.key)) this.startRun(request, persisted[request.key]);
    }
  }

  /** Every known run's current state, by key. */
  states(): Record<string, AnalysisRunState> {
    const out: Record<string, AnalysisRunState> = {};
    for (const [key, run] of this.runs) out[key] = run.state;
    return out;
  }

  /**
   * Calls `listener` after every change of a run's state: start, each measurement or provider
   * error, a hard failure, a stop. A listener that throws does not affect the run. Returns a
   * function that removes the listener.
   */
  onChange(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops every loop without touching the states (no `stop` input: a restarted controller
   * resumes them from what it persisted). Resolves when no provider call is in flight any more.
   */
  async stop(): Promise<void> {
    this.closed = true;
    for (const run of this.runs.values()) run.abort.abort(new Error('analysis runner stopped'));
    await Promise.all([...this.runs.values()].map((r) => r.loop));
  }

  private startRun(request: RunRequest, persisted: AnalysisRunState | undefined): void {
    const spec = specForJudging(request.check);
    const now = this.context.clock.now();
    const run: ActiveRun = {
      request,
      spec,
      state: persisted ?? startRun(spec, now, request.openEnd),
      abort: new AbortController(),
      loop: Promise.resolve(),
      stopped: false,
    };
    this.runs.set(request.key, run);
    this.emit(request.key, run.state);
    if (!isFinished(run.state)) run.loop = this.loop(run).catch((err: unknown) => this.crashed(run, err));
  }

  private stopRun(run: ActiveRun, reason: string): void {
    run.stopped = true;
    run.abort.abort(new Error(reason));
    this.apply(run, { kind: 'stop', reason });
  }

  private apply(run: ActiveRun, input: RunInput): void {
    const next = advanceRun(run.spec, run.state, input, this.context.clock.now());
    if (next === run.state) return;
    run.state = next;
    this.emit(run.request.key, next);
    if (isFinished(next)) run.abort.abort(new Error(`run ${next.phase}`));
  }

  /** A bug escaped the loop: end the run in Error, saying so, rather than leave it Running unwatched. */
  private crashed(run: ActiveRun, err: unknown): void {
    if (isFinished(run.state)) return;
    const now = this.context.clock.now();
    run.state = { ...run.state, phase: 'Error', reason: `analysis loop failed (a bug): ${message(err)}`, finishedAt: now };
    this.emit(run.request.key, run.state);
  }

  private emit(key: string, state: AnalysisRunState): void {
    for (const listener of this.listeners) {
      try {
        listener(key, state);
      } catch {
        // Listeners own their errors (see onChange); the run goes on.
      }
    }
  }

  /** One run's loop: start the provider, then measure and poll when due, sleeping on the clock in between. */
  private async loop(run: ActiveRun): Promise<void> {
    const { clock } = this.context;
    const signal = run.abort.signal;
    const hard = run.request.check.source.kind === 'router' && run.spec.metric === 'error-rate' ? run.spec.hardFailure : false;
    let provider: MetricProvider | undefined;
    let openError = '';
    let nextPollAt = clock.now();
    try {
      while (!signal.aborted && !isFinished(run.state)) {
        if (provider === undefined) {
          try {
            provider = await this.openProvider(run, signal);
          } catch (err) {
            if (signal.aborted) return;
            openError = message(err);
          }
        }
        const polling = hard !== false && provider?.recent !== undefined;
        if (polling && clock.now() >= nextPollAt) {
          nextPollAt = clock.now() + hard.pollMs;
          await this.pollHardFailure(run, provider!, hard.windowMs, signal);
        }
        if (isMeasurementDue(run.state, clock.now())) {
          // Without a provider, the measurement is the error that prevented it (retried next time).
          if (provider === undefined) this.apply(run, { kind: 'error', message: openError });
          else await this.measure(run, provider, signal);
        }
        if (signal.aborted || isFinished(run.state)) return;
        const wake = Math.min(run.state.nextMeasurementAt, polling ? nextPollAt : Infinity);
        await sleep(clock, Math.max(0, wake - clock.now()), signal);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  /** The run's provider, started. */
  private async openProvider(run: ActiveRun, signal: AbortSignal): Promise<MetricProvider> {
    const { check, service, release, baseline } = run.request;
    const provider = this.providers.create(check.source, { service, release, baseline, spec: run.spec }, this.context);
    await provider.start(signal);
    // A windowed provider sees traffic only from its first reading: after a resume (or a late
    // start) the first interval has to collect traffic before there is anything to judge.
    const minNext = this.context.clock.now() + run.spec.intervalMs;
    if (provider.windowed && run.state.phase === 'Running' && run.state.nextMeasurementAt < minNext) {
      run.state = { ...run.state, nextMeasurementAt: minNext };
    }
    return provider;
  }

  private async measure(run: ActiveRun, provider: MetricProvider, signal: AbortSignal): Promise<void> {
    let input: RunInput;
    try {
      const data = await provider.measure(signal);
      input = { kind: 'measurement', judgement: evaluateCheck(run.spec, data) };
    } catch (err) {
      if (signal.aborted) return;
      input = { kind: 'error', message: message(err) };
    }
    this.apply(run, input);
  }

  private async pollHardFailure(run: ActiveRun, provider: MetricProvider, windowMs: number, signal: AbortSignal): Promise<void> {
    try {
      const counters = await provider.recent!(windowMs, signal);
      if (signal.aborted) return;
      const judgement = hardFailureCheck(run.spec, counters);
      if (judgement !== undefined) this.apply(run, { kind: 'hard-check', judgement });
    } catch (err) {
      // A failed poll is not a measurement: the regular measurement reports the source's errors.
      if (signal.aborted) throw err;
    }
  }
}

/**
 * clock.sleep through a signal of its own, so that a clock which leaves its abort listener behind
 * after a normal wake-up (ManualClock does) cannot pile listeners onto the run's signal.
 */
async function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const own = new AbortController();
  const onAbort = () => own.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await clock.sleep(ms, own.signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
