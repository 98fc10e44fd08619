/**
 * An HTTP probe of every instance of the release under test: GET `path` on each, in parallel,
 * each with the source's timeout. Value 1 when every answer's status is in `expect`, else 0 with
 * which instances failed and how (status and body excerpt, or the connection error) as detail.
 * Instances this process cannot reach (a fleet's, on each host's loopback) are probed where they
 * run, by the context's `probeInstances` (each host's agent), and judged the same way.
 */
import { request } from 'node:http';
import {
  excerpt,
  ProviderError,
  withTimeout,
  type Endpoint,
  type InstanceProbeResult,
  type MetricProvider,
  type ProviderFactory,
} from '../provider.js';

/** Bytes of a body kept for the reason. */
const BODY_EXCERPT_BYTES = 512;
/** What asking the instances' hosts may add to the probes' own timeout (an SSH round trip per host). */
const REMOTE_MARGIN_MS = 5000;

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
    const req = { path: source.path, expect: [...source.expect], timeoutMs: source.timeoutMs };
    const remote = context.probeInstances?.(target.service, target.release, req);
    remote?.catch(() => {}); // observed through withTimeout below; never unhandled when that times out first
    const results: InstanceProbeResult[] = remote
      ? await withTimeout(
          context.clock,
          source.timeoutMs + REMOTE_MARGIN_MS,
          signal,
          'http',
          `GET ${source.path} on every host`,
          () => remote,
        )
      : await probeEndpoints(await context.endpoints(target.service, target.release));
    if (results.length === 0) {
      throw new ProviderError('http', `no instances of ${target.service} release ${target.release} to probe`);
    }
    const failed = results.filter((r) => !r.ok);
    const expect = source.expect.join('/');
    if (failed.length === 0)
      return {
        kind: 'value',
        value: 1,
        detail: `${results.length} of ${results.length} instances answered GET ${source.path} with ${expect}`,
      };
    const which = failed.map((r) => `${r.where} ${r.outcome}`).join('; ');
    return {
      kind: 'value',
      value: 0,
      detail: `${failed.length} of ${results.length} instances failed GET ${source.path} (expected ${expect}): ${which}`,
    };

    function probeEndpoints(endpoints: Endpoint[]): Promise<InstanceProbeResult[]> {
      return Promise.all(
        endpoints.map((endpoint) =>
          withTimeout(context.clock, source.timeoutMs, signal, 'http', `GET ${source.path}`, (s) =>
            probeHttp(endpoint, source.path, source.expect, s),
          ).then(
            (r) => ({ where: hostPort(endpoint), ok: r.ok, outcome: r.outcome }),
            (err: unknown): InstanceProbeResult => {
              if (signal.aborted) throw err;
              return { where: hostPort(endpoint), ok: false, outcome: err instanceof Error ? err.message : String(err) };
            },
          ),
        ),
      );
    }
  },
});

/** One GET of `path` on one instance; rejects on a connection error (the host agent's `probe` uses it too). */
export function probeHttp(endpoint: Endpoint, path: string, expect: readonly number[], signal: AbortSignal): Promise<ProbeResult> {
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
