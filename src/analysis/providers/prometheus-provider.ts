/**
 * An instant query against Prometheus' HTTP API (`GET {url}/api/v1/query?query=…`). A scalar or a
 * single-sample vector is the value; an empty vector (or NaN) is no data (inconclusive, not an
 * error: the series may simply not exist yet); anything Prometheus rejects is a ProviderError that
 * quotes Prometheus' own error text.
 */
import { excerpt, ProviderError, withTimeout, type MeasureTarget, type MetricProvider, type ProviderFactory } from '../provider.js';
import type { MetricData } from '../evaluate.js';

/** Prometheus' answer to /api/v1/query (https://prometheus.io/docs/prometheus/latest/querying/api/). */
interface QueryResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: 'scalar' | 'vector' | 'matrix' | 'string'; result: unknown };
}

type Sample = [number, string];

export const prometheusProvider: ProviderFactory<'prometheus'> = (source, target, context): MetricProvider => ({
  windowed: false,
  async start() {},
  async measure(signal) {
    const query = substitute(source.query, target);
    const url = `${source.url.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
    const what = `prometheus query ${JSON.stringify(query)}`;
    const body = await withTimeout(context.clock, source.timeoutMs, signal, 'prometheus', what, async (s) => {
      let res: Response;
      try {
        res = await fetch(url, { signal: s, headers: { accept: 'application/json' } });
      } catch (err) {
        if (s.aborted) throw s.reason;
        const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
        throw new ProviderError('prometheus', `${what}: cannot reach ${source.url}${cause}`, { cause: err });
      }
      const text = await res.text();
      try {
        return { status: res.status, json: JSON.parse(text) as QueryResponse };
      } catch {
        throw new ProviderError('prometheus', `${what}: ${source.url} answered HTTP ${res.status} without JSON: ${excerpt(text)}`);
      }
    });
    return toMetricData(what, body.status, body.json);
  },
});

/** The query with `{{service}}`, `{{release}}` and `{{baseline}}` filled in. */
export function substitute(query: string, target: Pick<MeasureTarget, 'service' | 'release' | 'baseline'>): string {
  return query.replace(/\{\{\s*(service|release|baseline)\s*\}\}/g, (_, name: string) => {
    if (name === 'service') return target.service;
    if (name === 'release') return String(target.release);
    if (target.baseline === null)
      throw new ProviderError('prometheus', `the query uses {{baseline}}, but the run has no baseline release: ${query}`);
    return String(target.baseline);
  });
}

function toMetricData(what: string, httpStatus: number, r: QueryResponse): MetricData {
  if (r.status !== 'success' || r.data === undefined) {
    const type = r.errorType === undefined ? '' : `${r.errorType}: `;
    throw new ProviderError('prometheus', `${what} failed (HTTP ${httpStatus}): ${type}${r.error ?? 'no error text'}`);
  }
  const { resultType, result } = r.data;
  if (resultType === 'scalar') return valueOf(what, result as Sample, 'scalar');
  if (resultType !== 'vector')
    throw new ProviderError('prometheus', `${what} returned a ${resultType}; use an instant vector or scalar expression`);
  const series = result as { metric: Record<string, string>; value: Sample }[];
  if (series.length === 0) return { kind: 'no-data', reason: `${what} returned no series (no data yet?)` };
  if (series.length > 1) {
    const labels = series
      .slice(0, 3)
      .map((s) => JSON.stringify(s.metric))
      .join(', ');
    throw new ProviderError(
      'prometheus',
      `${what} returned ${series.length} series (${labels}${series.length > 3 ? ', …' : ''}); aggregate them to one, e.g. with sum()`,
    );
  }
  return valueOf(what, series[0]!.value, 'vector');
}

function valueOf(what: string, sample: Sample, type: string): MetricData {
  const value = Number(sample[1]);
  if (Number.isNaN(value)) return { kind: 'no-data', reason: `${what} returned NaN (${type}; a rate over no requests?)` };
  return { kind: 'value', value, detail: what };
}
