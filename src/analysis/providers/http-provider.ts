/**
 * An HTTP probe of every instance of the release under test: GET `path` on each, in parallel,
 * each with the source's timeout. Value 1 when every answer's status is in `expect`, else 0 with
 * which instances failed and how (status and body excerpt, or the connection error) as detail.
 */
import { request } from 'node:http';
import { excerpt, ProviderError, withTimeout, type Endpoint, type MetricProvider, type ProviderFactory } from '../provider.js';

/** Bytes of a body kept for the reason. */
const BODY_EXCERPT_BYTES = 512;

interface ProbeResult {
  endpoint: Endpoint;
  ok: boolean;
  /** "503 'upstream down'", or the error. */
  outcome: string;
}

export const httpProvider: ProviderFactory<'http'> = (source, target, context): MetricProvider => ({
  windowed: false,
  async start() {},
  async measure(signal) {
    const endpoints = await context.endpoints(target.service, target.release);
    if (endpoints.length === 0) {
      throw new ProviderError('http', `no instances of ${target.service} release ${target.release} to probe`);
    }
    const results = await Promise.all(
      endpoints.map((endpoint) =>
        withTimeout(context.clock, source.timeoutMs, signal, 'http', `GET ${source.path}`, (s) =>
          probe(endpoint, source.path, source.expect, s),
        ).catch((err: unknown): ProbeResult => {
          if (signal.aborted) throw err;
          return { endpoint, ok: false, outcome: err instanceof Error ? err.message : String(err) };
        }),
      ),
    );
    const failed = results.filter((r) => !r.ok);
    const expect = source.expect.join('/');
    if (failed.length === 0)
      return {
        kind: 'value',
        value: 1,
        detail: `${results.length} of ${results.length} instances answered GET ${source.path} with ${expect}`,
      };
    const which = failed.map((r) => `${hostPort(r.endpoint)} ${r.outcome}`).join('; ');
    return {
      kind: 'value',
      value: 0,
      detail: `${failed.length} of ${results.length} instances failed GET ${source.path} (expected ${expect}): ${which}`,
    };
  },
});

function probe(endpoint: Endpoint, path: string, expect: readonly number[], signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        path,
        method: 'GET',
        signal,
        agent: false,
        headers: { 'user-agent': 'slipway-analysis' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < BODY_EXCERPT_BYTES) chunks.push(c);
          size += c.length;
          // Enough to explain a failure: do not wait for a large or endless body.
          if (size >= BODY_EXCERPT_BYTES) res.destroy();
        });
        const done = () => {
          const body = excerpt(Buffer.concat(chunks).subarray(0, BODY_EXCERPT_BYTES).toString('utf8'), 120);
          resolve({ endpoint, ok: expect.includes(status), outcome: body === '' ? `answered ${status}` : `answered ${status} '${body}'` });
        };
        res.on('end', done);
        res.on('close', done); // destroyed after the excerpt; resolve is idempotent
        res.on('error', () => {});
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function hostPort(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}
