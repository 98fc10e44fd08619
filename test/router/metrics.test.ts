import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { test } from 'node:test';
import { get, route, startRouter, startUpstream } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A strict reader of the Prometheus text format 0.0.4: every family has HELP and TYPE before its
 * samples, samples of a family are contiguous, names and labels are valid, values are numbers.
 */
function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const families = new Map<string, Family>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      assert.match(name, NAME);
      const f = families.get(name) ?? { type: '', help: '', samples: [] };
      if (kind === 'HELP') {
        assert.equal(f.help, '', `one HELP for ${name}`);
        assert.ok(rest.length > 0);
        f.help = rest;
      } else {
        assert.equal(f.type, '', `one TYPE for ${name}`);
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest), `type ${rest}`);
        assert.equal(f.samples.length, 0, `TYPE of ${name} before its samples`);
        f.type = rest;
      }
      families.set(name, f);
      current = name;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m !== null, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const base =
      current !== undefined &&
      (name === current ||
        (families.get(current)!.type === 'histogram' &&
          /_(bucket|sum|count)$/.test(name) &&
          name.replace(/_(bucket|sum|count)$/, '') === current))
        ? current
        : undefined;
    assert.ok(base !== undefined, `sample ${name} outside its family (current ${current})`);
    const labels: Record<string, string> = {};
    for (const pair of (labelText ?? '').match(/[^,]+="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      const key = pair.slice(0, eq);
      assert.match(key, LABEL);
      assert.ok(!key.startsWith('__'), 'reserved label');
      labels[key] = pair.slice(eq + 2, -1);
    }
    const value = valueText === '+Inf' ? Infinity : Number(valueText);
    assert.ok(!Number.isNaN(value), `value of ${line}`);
    families.get(base)!.samples.push({ name, labels, value });
  }
  return families;
}

function scrape(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

test('GET /metrics exposes requests, latency, in-flight and unrouted counts in the Prometheus format', async () => {
  const fx = await startRouter();
  const up = await startUpstream('ok', (req, res) => {
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end('x');
  });
  try {
    // Given traffic on two releases, a 404, an unrouted request and a preview request...
    const r = await fx.router.applyRoute({
      ...route('m', [
        { release: 1, weight: 1, backends: [up.backend('u1')] },
        { release: 2, weight: 0, backends: [up.backend('u2')] },
      ]),
      preview: { host: '127.0.0.1', port: 0, release: 2 },
    });
    for (let i = 0; i < 5; i++) assert.equal((await get(r.listen.port, '/')).status, 200);
    assert.equal((await get(r.listen.port, '/missing')).status, 404);
    assert.equal((await get(r.preview!.port, '/')).status, 200);
    await fx.router.applyRoute(route('empty', []));
    assert.equal((await get((await fx.router.routes()).find((x) => x.service === 'empty')!.listen.port, '/')).status, 503);

    // ...when Prometheus scrapes the admin API...
    const res = await scrape(fx.router.metricsUrl!);
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; version=0\.0\.4/);
    const fams = parseExposition(res.body);

    // ...then the families are typed, and the values match the JSON stats.
    assert.equal(fams.get('slipway_router_requests_total')?.type, 'counter');
    assert.equal(fams.get('slipway_router_request_duration_seconds')?.type, 'histogram');
    assert.equal(fams.get('slipway_router_in_flight')?.type, 'gauge');
    assert.equal(fams.get('slipway_router_unrouted_total')?.type, 'counter');
    const value = (family: string, name: string, labels: Record<string, string>) => {
      const s = fams.get(family)!.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      return s?.value;
    };
    assert.equal(value('slipway_router_requests_total', 'slipway_router_requests_total', { service: 'm', release: '1', code: '2xx' }), 5);
    assert.equal(value('slipway_router_requests_total', 'slipway_router_requests_total', { service: 'm', release: '1', code: '4xx' }), 1);
    assert.equal(
      value('slipway_router_requests_total', 'slipway_router_requests_total', { service: 'm', release: '2', code: '2xx' }),
      0,
      'preview traffic is not user traffic',
    );
    assert.equal(
      value('slipway_router_preview_requests_total', 'slipway_router_preview_requests_total', { service: 'm', release: '2', code: '2xx' }),
      1,
    );
    assert.equal(value('slipway_router_unrouted_total', 'slipway_router_unrouted_total', { service: 'empty' }), 1);
    assert.equal(value('slipway_router_in_flight', 'slipway_router_in_flight', { service: 'm', release: '1' }), 0);

    // Histogram buckets are cumulative, in seconds, end with +Inf equal to _count.
    const h = fams
      .get('slipway_router_request_duration_seconds')!
      .samples.filter((s) => s.labels.service === 'm' && s.labels.release === '1');
    const buckets = h.filter((s) => s.name.endsWith('_bucket'));
    assert.equal(buckets.at(-1)!.labels.le, '+Inf');
    assert.deepEqual(
      buckets.map((b) => b.value),
      [...buckets.map((b) => b.value)].sort((x, y) => x - y),
      'cumulative',
    );
    assert.deepEqual(
      buckets.map((b) => Number(b.labels.le)),
      [...buckets.map((b) => Number(b.labels.le))].sort((x, y) => x - y),
    );
    assert.equal(buckets[0]!.labels.le, '0.001');
    assert.equal(h.find((s) => s.name.endsWith('_count'))!.value, 6);
    assert.equal(buckets.at(-1)!.value, 6);
    const stats = (await fx.router.stats()).services.find((s) => s.service === 'm')!;
    assert.ok(
      Math.abs(h.find((s) => s.name.endsWith('_sum'))!.value - stats.pools.find((p) => p.release === 1)!.latencySumMs / 1000) < 1e-6,
    );

    // Prometheus' own linter accepts it, where it is installed.
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
    if (promtool.error === undefined) assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
  } finally {
    await up.close();
    await fx.close();
  }
});
