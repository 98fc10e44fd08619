/**
 * The `analysis:` section of slipway.yaml: checks defined once, by name, and referenced from
 * strategies (canary steps, blue-green pre/post-promotion). Each parses into a `CheckDefinition`
 * (src/analysis/source.ts): where the numbers come from, and the resolved `AnalysisSpec`.
 */
import { z } from 'zod';
import { analysisSpecProblems, resolveAnalysisSpec, type AnalysisSpecInput } from '../analysis/spec.js';
import type { AnalysisSource, CheckDefinition } from '../analysis/source.js';
import { parseDuration } from '../core/duration.js';

const DURATION = /^(0|(\d+(\.\d+)?(ms|s|m|h))+)$/;
const duration = () =>
  z
    .string()
    .regex(DURATION, 'expected a duration like "250ms", "5s", "2m" or "1h30m"')
    .transform((s) => parseDuration(s) ?? Number.NaN);

/** 0.2 or "20%". */
const fraction = () =>
  z
    .union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?%$/, 'expected a fraction like 0.2 or a percentage like "20%"')])
    .transform((v) => (typeof v === 'number' ? v : Number(v.slice(0, -1)) / 100));

const ROUTER_METRICS = {
  error_rate: { metric: 'error-rate', quantile: undefined },
  latency_p50: { metric: 'latency', quantile: 0.5 },
  latency_p95: { metric: 'latency', quantile: 0.95 },
  latency_p99: { metric: 'latency', quantile: 0.99 },
} as const;

/** Spec keys as written in YAML → AnalysisSpec field names, for error paths. */
const SPEC_KEY_NAMES: Record<string, string> = { intervalMs: 'interval', inconclusiveAction: 'inconclusive' };

export const analysisCheckSchema = z
  .strictObject({
    metric: z
      .enum(Object.keys(ROUTER_METRICS) as [keyof typeof ROUTER_METRICS])
      .optional()
      .meta({ description: 'A metric of the built-in router, per release: error_rate (share of 5xx), latency_p50/p95/p99 (ms).' }),
    http: z
      .strictObject({
        path: z.string().startsWith('/', 'expected an HTTP path starting with "/"'),
        expect: z
          .union([z.number().int(), z.array(z.number().int()).min(1)])
          .prefault(200)
          .transform((e) => (Array.isArray(e) ? e : [e])),
        timeout: duration().prefault('2s'),
      })
      .optional()
      .meta({ description: 'GET this path on every instance of the release under test; passes when each status is expected.' }),
    prometheus: z
      .strictObject({
        url: z.url({ message: 'expected the URL of a Prometheus server, e.g. http://127.0.0.1:9090' }),
        query: z.string().min(1).meta({ description: 'Instant PromQL query; {{service}}, {{release}} and {{baseline}} are substituted.' }),
        timeout: duration().prefault('5s'),
      })
      .optional()
      .meta({ description: 'A Prometheus instant query whose value is judged against max/min.' }),
    command: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Shell command: exit 0 passes; with max/min, the last number it prints is judged.' }),
    timeout: duration().prefault('10s').meta({ description: 'How long a command check may run.' }),
    max: z.number().optional().meta({ description: 'Highest acceptable value (error rate as a fraction, latency in ms).' }),
    min: z.number().optional().meta({ description: 'Lowest acceptable value.' }),
    compare: z
      .literal('baseline')
      .optional()
      .meta({ description: 'Compare the canary with the stable release (Mann–Whitney U) instead of fixed limits.' }),
    tolerance: fraction().optional().meta({ description: 'With compare: how much worse than the baseline the canary may be, e.g. "20%".' }),
    minDifference: z.number().min(0).optional().meta({
      description: 'With compare: the smallest absolute worsening that fails (ms for latency). Default 5 for latency, 0 otherwise.',
    }),
    confidence: z.number().gt(0).lt(1).optional().meta({ description: 'Confidence of statistical verdicts. Default 0.95.' }),
    interval: duration()
      .optional()
      .meta({ description: 'Time between measurements. Default 10s for router metrics, 1s for http and command checks.' }),
    minRequests: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Fewer requests (samples) make a measurement inconclusive. Default 50.' }),
    count: z.number().int().min(1).optional().meta({
      description:
        'Conclusive measurements after which the check is done (default: in a step, until the first pass; in the background, the whole rollout).',
    }),
    failureLimit: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'The check fails when more measurements than this failed. Default 1 (0 for http and command checks).' }),
    consecutiveErrorLimit: z.number().int().min(0).optional(),
    inconclusiveLimit: z.number().int().min(0).optional(),
    inconclusive: z
      .enum(['wait', 'fail', 'pass'])
      .optional()
      .meta({ description: 'What too many inconclusive measurements mean: wait (pause for a person), fail or pass.' }),
    hardFailure: z
      .union([
        z.literal(false),
        z.strictObject({
          minRequests: z.number().int().min(1).optional(),
          errorRate: z.number().gt(0).max(1).optional(),
          window: duration().optional(),
        }),
      ])
      .optional()
      .meta({
        description:
          'Fast path for a canary answering mostly 5xx (default: fail at ≥50% errors over ≥10 requests in 2s); false turns it off.',
      }),
    onFailure: z
      .strictObject({
        flagOff: z
          .array(z.string().min(1))
          .min(1, 'name at least one flag, e.g. flagOff: [new-checkout]')
          .meta({ description: 'Feature flags (declared under flags:) switched off (kill switch) when this check fails a rollout.' }),
      })
      .optional()
      .meta({ description: 'What else a failure of this check does, beside rolling the release back.' }),
  })
  .superRefine((c, ctx) => {
    const sources = ['metric', 'http', 'prometheus', 'command'].filter((k) => c[k as keyof typeof c] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: sources.length
          ? `choose one source, not ${sources.join(' and ')}`
          : 'choose a source: metric, http, prometheus or command',
      });
      return;
    }
    for (const problem of analysisSpecProblems(resolveAnalysisSpec(specInput('check', c)), '')) {
      const [key, ...rest] = problem.slice(1).split(':');
      const field = key!.split('.')[0]!;
      ctx.addIssue({ code: 'custom', path: [SPEC_KEY_NAMES[field] ?? field], message: rest.join(':').trim() });
    }
  })
  .meta({ description: 'One analysis check: a source (metric, http, prometheus or command) and how to judge it.' });

type CheckInput = z.output<typeof analysisCheckSchema>;

function sourceOf(c: CheckInput): AnalysisSource {
  if (c.metric) return { kind: 'router', metric: ROUTER_METRICS[c.metric].metric };
  if (c.http) return { kind: 'http', path: c.http.path, expect: c.http.expect, timeoutMs: c.http.timeout };
  if (c.prometheus) return { kind: 'prometheus', url: c.prometheus.url, query: c.prometheus.query, timeoutMs: c.prometheus.timeout };
  return { kind: 'command', command: c.command!, timeoutMs: c.timeout };
}

function specInput(name: string, c: CheckInput): AnalysisSpecInput {
  const router = c.metric !== undefined;
  const noLimits = c.max === undefined && c.min === undefined && c.compare === undefined;
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    name,
    ...drop({
      metric: router ? ROUTER_METRICS[c.metric!].metric : ('value' as const),
      quantile: router ? ROUTER_METRICS[c.metric!].quantile : undefined,
      max: c.max,
      // An http or command check passes at value 1 (every answer expected, exit 0).
      min: c.min ?? (!router && noLimits ? 1 : undefined),
      compare: c.compare,
      tolerance: c.tolerance,
      minDifference: c.minDifference,
      confidence: c.confidence,
      intervalMs: c.interval ?? (router ? undefined : 1000),
      minRequests: c.minRequests,
      count: c.count,
      // A run of `count` measurements must be able to fail: with count 1 the one measurement decides.
      failureLimit: c.failureLimit ?? (!router ? 0 : c.count !== undefined ? Math.min(1, c.count - 1) : undefined),
      consecutiveErrorLimit: c.consecutiveErrorLimit,
      inconclusiveLimit: c.inconclusiveLimit,
      inconclusiveAction: c.inconclusive,
    }),
    hardFailure:
      !router || c.metric !== 'error_rate' || c.hardFailure === false
        ? false
        : c.hardFailure
          ? drop({ minRequests: c.hardFailure.minRequests, errorRate: c.hardFailure.errorRate, windowMs: c.hardFailure.window })
          : undefined,
  };
}

/** The whole section: a record of checks, each resolved to a CheckDefinition named by its key. */
export const analysisSectionSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'expected a check name of lowercase letters, digits, _ and -'), analysisCheckSchema)
  .prefault({})
  .transform((rec): Record<string, CheckDefinition> =>
    Object.fromEntries(
      Object.entries(rec).map(([name, c]) => [
        name,
        {
          name,
          source: sourceOf(c),
          spec: resolveAnalysisSpec(specInput(name, c)),
          ...(c.onFailure ? { onFailure: { flagOff: c.onFailure.flagOff } } : {}),
        },
      ]),
    ),
  )
  .meta({ description: 'Analysis checks, defined once by name and referenced from strategies.' });
