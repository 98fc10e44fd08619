/**
 * Metric providers: the I/O side of analysis. A provider turns a check's source (router counters,
 * an HTTP probe, a Prometheus query, a command) into `MetricData` for `evaluateCheck`. One
 * provider instance serves one run, so it may keep state between measurements (the router's
 * previous snapshot). Implementations are looked up by source kind in a `ProviderRegistry`.
 */
import type { Clock } from '../core/clock.js';
import type { RouterStats } from '../router/types.js';
import type { MetricData } from './evaluate.js';
import type { AnalysisSource, CheckDefinition } from './source.js';
import type { AnalysisSpec } from './spec.js';
import type { PoolCounters } from './window.js';

/** Where an instance of a release listens. */
export interface Endpoint {
  host: string;
  port: number;
}

/** What providers may call on the outside world; injected so that tests script it. */
export interface ProviderContext {
  /**
   * The router's cumulative counters (RouterStats.bootId changes when the router restarts). With
   * `service`, those that count that service (a fleet's: every host's router summed).
   */
  stats(service?: string): Promise<RouterStats>;
  /** The instances of one release of a service that should answer HTTP checks. */
  endpoints(service: string, release: number): Endpoint[] | Promise<Endpoint[]>;
  /**
   * HTTP checks of instances this process cannot reach (a fleet's listen on each host's loopback:
   * each host's agent probes its own, ADR 0026): one result per instance of the release. Undefined
   * when `endpoints` reaches them. Rejects with a ProviderError when a host cannot be asked or runs
   * none of them, so an unreachable host fails the measurement and never passes it.
   */
  probeInstances?(service: string, release: number, req: InstanceProbeRequest): Promise<InstanceProbeResult[]> | undefined;
  /** Every timeout and poll goes through this clock. */
  clock: Clock;
}

/** An HTTP check's GET, as sent to where the instances are. */
export interface InstanceProbeRequest {
  path: string;
  /** Statuses that pass. */
  expect: number[];
  /** For each instance's answer. */
  timeoutMs: number;
}

/** One instance's answer to an HTTP check. */
export interface InstanceProbeResult {
  /** The instance, as a reason names it (`127.0.0.1:4001`, or `10.0.0.11 web.production-2-…`). */
  where: string;
  ok: boolean;
  /** "answered 503 'upstream down'", or the error. */
  outcome: string;
}

/** What a run measures: the release under test, and the stable one it is compared with. */
export interface MeasureTarget {
  service: string;
  release: number;
  /** The stable release (for compare: baseline and `{{baseline}}`); null when there is none. */
  baseline: number | null;
  spec: AnalysisSpec;
}

/**
 * One run's view of a source. The runner never overlaps calls on one provider: `start`, then any
 * sequence of `measure` and `recent`, then `close`. Every method rejects with a `ProviderError`
 * when the source cannot be read, and with the signal's reason when `signal` aborts.
 */
export interface MetricProvider {
  /**
   * True when a measurement covers the time since the previous one (router counters), so a run
   * resumed after a restart waits a full interval before its first measurement. False when each
   * measurement stands alone (a query, a probe).
   */
  readonly windowed: boolean;
  /** Takes whatever reading later measurements are relative to. Stateless providers resolve at once. */
  start(signal: AbortSignal): Promise<void>;
  /** Measures the interval since the previous measurement (or `start`). */
  measure(signal: AbortSignal): Promise<MetricData>;
  /**
   * The canary's counters over the last `windowMs`, for the hard-failure fast path. Undefined
   * (the member is absent) when the source cannot tell: the fast path then does not run.
   */
  recent?(windowMs: number, signal: AbortSignal): Promise<PoolCounters>;
}

/** The source variant of one kind. */
export type SourceOf<K extends AnalysisSource['kind']> = Extract<AnalysisSource, { kind: K }>;

/** Builds the provider of one run. Must not do I/O or throw: problems surface from `start`/`measure`. */
export type ProviderFactory<K extends AnalysisSource['kind']> = (
  source: SourceOf<K>,
  target: MeasureTarget,
  context: ProviderContext,
) => MetricProvider;

/** A provider could not measure: the source is unreachable, timed out, or answered an error. */
export class ProviderError extends Error {
  constructor(
    /** The source kind whose provider failed. */
    readonly provider: AnalysisSource['kind'],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

/** Providers by source kind. */
export class ProviderRegistry {
  // Stored loosely; `register` ties each factory to its kind, so `create` hands it the right variant.
  private readonly factories = new Map<
    AnalysisSource['kind'],
    (source: AnalysisSource, target: MeasureTarget, context: ProviderContext) => MetricProvider
  >();

  /** Adds (or replaces) the provider of one source kind. */
  register<K extends AnalysisSource['kind']>(kind: K, factory: ProviderFactory<K>): this {
    this.factories.set(
      kind,
      factory as unknown as (source: AnalysisSource, target: MeasureTarget, context: ProviderContext) => MetricProvider,
    );
    return this;
  }

  /** The provider for one run; throws ProviderError when no provider handles the source's kind. */
  create(source: AnalysisSource, target: MeasureTarget, context: ProviderContext): MetricProvider {
    const factory = this.factories.get(source.kind);
    if (factory === undefined) throw new ProviderError(source.kind, `no metric provider for source kind "${source.kind}"`);
    return factory(source, target, context);
  }
}

/**
 * The spec a check is judged with. HTTP checks, and command checks without max/min, report
 * 1 (passed) or 0 (failed): for them `min: 1` is implied when the spec sets no limit.
 */
export function specForJudging(check: CheckDefinition): AnalysisSpec {
  const { spec, source } = check;
  const passFail = source.kind === 'http' || source.kind === 'command';
  if (passFail && spec.metric === 'value' && spec.max === undefined && spec.min === undefined) return { ...spec, min: 1 };
  return spec;
}

/**
 * Runs `task` with a signal that aborts when `signal` does or after `timeoutMs` on `clock`; a
 * timeout rejects with ProviderError(`${what} timed out after … ms`). Settles as soon as either
 * happens, even if the task ignores its signal.
 */
export async function withTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  signal: AbortSignal,
  provider: AnalysisSource['kind'],
  what: string,
  task: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  const inner = new AbortController();
  const timer = new AbortController();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    // Reject before aborting the task, so the race settles with this reason rather than the task's.
    onAbort = () => {
      reject(signal.reason);
      inner.abort(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    clock.sleep(timeoutMs, timer.signal).then(
      () => {
        const e = new ProviderError(provider, `${what} timed out after ${timeoutMs} ms`);
        reject(e);
        inner.abort(e);
      },
      () => {}, // the task settled first
    );
  });
  aborted.catch(() => {}); // observed below through the race; never unhandled
  try {
    return await Promise.race([task(inner.signal), aborted]);
  } finally {
    timer.abort();
    signal.removeEventListener('abort', onAbort);
  }
}

/** At most `max` characters of `text`, whitespace squashed, for reasons and error messages. */
export function excerpt(text: string, max = 200): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}
