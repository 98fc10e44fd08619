/**
 * Where an analysis check gets its numbers (parsed from the `analysis:` section of slipway.yaml).
 * Providers (src/analysis/providers/) turn a source into `MetricData` for `evaluateCheck`.
 */
export type AnalysisSource =
  /** The built-in router's per-release counters: error rate or latency of the canary (and baseline). */
  | { kind: 'router'; metric: 'error-rate' | 'latency' }
  /** GET `path` on every instance of the release under test; a measurement passes when every answer's status is in `expect`. */
  | { kind: 'http'; path: string; expect: number[]; timeoutMs: number }
  /** An instant query against Prometheus' HTTP API; `{{service}}`, `{{release}}` and `{{baseline}}` are substituted. */
  | { kind: 'prometheus'; url: string; query: string; timeoutMs: number }
  /** A shell command: exit 0 passes; with max/min, the number it prints last is the value judged. */
  | { kind: 'command'; command: string; timeoutMs: number };

/** What a check measures, with where it comes from: a named entry of `analysis:`. */
export interface CheckDefinition {
  name: string;
  source: AnalysisSource;
  spec: import('./spec.js').AnalysisSpec;
  /** Beside the rollback, when this check fails a rollout: the feature flags to switch off (docs/flags.md). */
  onFailure?: { flagOff: string[] };
}
