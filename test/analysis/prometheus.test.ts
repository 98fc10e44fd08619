/**
 * The prometheus provider against a real Prometheus scraping a real target: the queries, the
 * substitution, and Prometheus' own answers (values, empty results, errors) as they really are.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { evaluateCheck, type MetricData } from '../../src/analysis/evaluate.js';
import { ProviderError } from '../../src/analysis/provider.js';
import { prometheusProvider } from '../../src/analysis/providers/prometheus-provider.js';
import { resolveAnalysisSpec } from '../../src/analysis/spec.js';
import { startPrometheus, type PrometheusServer } from './prometheus-server.js';

const ERRORS_PER_SECOND = 20;
const RATE_QUERY = 'sum(rate(http_errors_total{release="{{release}}"}[5s]))';

/** Release 3 counts 20 errors a second, release 4 none. */
async function startTarget(): Promise<Server> {
  const started = Date.now();
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return res.writeHead(404).end();
    const errors = Math.floor(((Date.now() - started) / 1000) * ERRORS_PER_SECOND);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      [
        '# HELP http_errors_total Requests answered 5xx.',
        '# TYPE http_errors_total counter',
        `http_errors_total{release="3"} ${errors}`,
        'http_errors_total{release="4"} 0',
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function measure(url: string, query: string, release: number, baseline: number | null = 2): Promise<MetricData> {
  const spec = resolveAnalysisSpec({ name: 'errors', metric: 'value', max: 1 });
  const p = prometheusProvider(
    { kind: 'prometheus', url, query, timeoutMs: 10_000 },
    { service: 'web', release, baseline, spec },
    { stats: () => Promise.reject(new Error('unused')), endpoints: () => [], clock: systemClock },
  );
  return p.measure(new AbortController().signal);
}

const spec = resolveAnalysisSpec({ name: 'errors', metric: 'value', max: 1 });
const isProviderError = (pattern: RegExp) => (e: unknown) =>
  e instanceof ProviderError && e.provider === 'prometheus' && pattern.test(e.message);

describe('prometheus provider against a real Prometheus', () => {
  let target: Server | undefined;
  let prometheus: PrometheusServer | undefined;

  before(async () => {
    target = await startTarget();
    prometheus = await startPrometheus([`127.0.0.1:${(target.address() as AddressInfo).port}`]);
    // Scraped at least twice (rate needs two samples in its window) and the rate above the max, with a deadline.
    const deadline = Date.now() + 60_000;
    let last: MetricData | string;
    while (true) {
      try {
        last = await measure(prometheus.url, RATE_QUERY, 3);
        if (last.kind === 'value' && last.value > 1) break;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline)
        throw new Error(`the target was not scraped within 60 s (last: ${JSON.stringify(last)}); prometheus log:\n${prometheus.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  after(async () => {
    await prometheus?.stop();
    await new Promise((r) => (target === undefined ? r(undefined) : target.close(r)));
  });

  test('a rate above max fails, one within max passes ({{release}} substituted)', async () => {
    const failing = await measure(prometheus!.url, RATE_QUERY, 3);
    assert.equal(failing.kind, 'value');
    const rate = failing.kind === 'value' ? failing.value : NaN;
    // Early on rate() extrapolates over a partial window, so only the order of magnitude is certain.
    assert.ok(rate > 1 && rate < ERRORS_PER_SECOND * 2, `rate ${rate}: expected about ${ERRORS_PER_SECOND}/s`);
    const fail = evaluateCheck(spec, failing);
    assert.equal(fail.verdict, 'fail');
    assert.match(
      fail.reason,
      /^errors [\d.]+ is above the max 1 \(1 samples\): prometheus query "sum\(rate\(http_errors_total\{release=\\"3\\"\}\[5s\]\)\)"$/,
    );

    const passing = await measure(prometheus!.url, RATE_QUERY, 4);
    assert.deepEqual([passing.kind, passing.kind === 'value' && passing.value], ['value', 0]);
    assert.equal(evaluateCheck(spec, passing).verdict, 'pass');
  });

  test('a scalar result is a value too', async () => {
    const data = await measure(prometheus!.url, 'scalar(sum(http_errors_total{release="{{baseline}}"})) + 1', 3, 4);
    assert.deepEqual([data.kind, data.kind === 'value' && data.value], ['value', 1]);
  });

  test('an empty result is no data: inconclusive, with the query in the reason', async () => {
    const data = await measure(prometheus!.url, RATE_QUERY, 99);
    assert.equal(data.kind, 'no-data');
    const j = evaluateCheck(spec, data);
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.reason, /release=\\"99\\".* returned no series/);
  });

  test('bad PromQL, several series and an unreachable server are provider errors, quoting Prometheus', async () => {
    await assert.rejects(
      measure(prometheus!.url, 'sum(rate(http_errors_total[5s]', 3),
      isProviderError(/failed \(HTTP 400\): bad_data: .*parse error/),
    );
    await assert.rejects(measure(prometheus!.url, 'http_errors_total', 3), isProviderError(/returned 2 series .*aggregate them to one/));
    await assert.rejects(
      measure(prometheus!.url, '{{baseline}}', 3, null),
      isProviderError(/uses \{\{baseline\}\}, but the run has no baseline release/),
    );
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(
      measure(`http://127.0.0.1:${port}`, 'up', 3),
      isProviderError(/cannot reach http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/),
    );
  });
});
