/**
 * The router's counters in the Prometheus text exposition format 0.0.4 (`GET /metrics` on the
 * admin API). User traffic and preview-listener traffic are separate metric families (the latter
 * prefixed `slipway_router_preview_`), so queries over user traffic never see preview requests.
 */
import type { PoolCounters, ServiceCounters } from './metrics.js';
import { LATENCY_BUCKETS_MS } from './types.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Bucket bounds in seconds, as `le` label values. */
const LE = [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf'];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

export interface ServiceMetrics {
  service: string;
  counters: ServiceCounters;
}

/** Renders every service's counters. Families always carry HELP and TYPE, even with no samples. */
export function renderPrometheus(services: ServiceMetrics[]): string {
  const out: string[] = [];
  for (const preview of [false, true]) {
    const p = preview ? 'slipway_router_preview_' : 'slipway_router_';
    const what = preview ? 'Preview-listener requests' : 'Requests (user traffic, excluding the preview listener)';
    const pools = (s: ServiceMetrics): PoolCounters[] => (preview ? s.counters.previewReleases() : s.counters.releases());

    family(
      out,
      `${p}requests_total`,
      'counter',
      `${what} answered, by service, release and status class (counted when the response head is sent).`,
    );
    for (const s of services) {
      for (const c of pools(s)) {
        const counts = [c.c1, c.c2, c.c3, c.c4, c.c5];
        CLASSES.forEach((code, i) =>
          out.push(`${p}requests_total{service="${esc(s.service)}",release="${c.release}",code="${code}"} ${counts[i]!}`),
        );
      }
    }

    family(out, `${p}request_duration_seconds`, 'histogram', `${what}: time from arrival to the response head, in seconds.`);
    for (const s of services) {
      for (const c of pools(s)) {
        const labels = `service="${esc(s.service)}",release="${c.release}"`;
        let cumulative = 0;
        c.buckets.forEach((n, i) => {
          cumulative += n;
          out.push(`${p}request_duration_seconds_bucket{${labels},le="${LE[i]!}"} ${cumulative}`);
        });
        out.push(`${p}request_duration_seconds_sum{${labels}} ${num(c.latencySumMs / 1000)}`);
        out.push(`${p}request_duration_seconds_count{${labels}} ${cumulative}`);
      }
    }

    family(out, `${p}in_flight`, 'gauge', `${what} in flight (including open WebSocket tunnels), by service and release.`);
    for (const s of services) {
      for (const c of pools(s)) out.push(`${p}in_flight{service="${esc(s.service)}",release="${c.release}"} ${c.inFlight}`);
    }

    family(out, `${p}unrouted_total`, 'counter', `${what} answered 503 because no backend could take them.`);
    for (const s of services) {
      out.push(`${p}unrouted_total{service="${esc(s.service)}"} ${preview ? s.counters.previewUnrouted : s.counters.unrouted}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
}

/** A label value escaped as the format requires (backslash, double quote, line feed). */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e9) / 1e9) : '0';
}
