/**
 * Steady HTTP load for zero-downtime tests: `concurrency` keep-alive loops against a loopback URL,
 * bounded in time and count, recording every failure (connection error or non-2xx) with its reason.
 */
import { Agent, request } from 'node:http';

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** The first 200 failures' reasons. */
  failures: string[];
  /** When each of those happened (performance.now()). */
  failureTimes: number[];
  /** Response bodies seen, counted (e.g. which release answered). */
  bodies: Map<string, number>;
}

export interface Load {
  /** Stops the loops and returns the totals. */
  stop(): Promise<LoadResult>;
  /** Totals so far. */
  snapshot(): LoadResult;
}

export interface LoadOptions {
  concurrency?: number;
  maxMs?: number;
  maxRequests?: number;
  classify?: (body: string) => string;
  /** @default 'GET' */
  method?: string;
  /** Request body of the `seq`-th request (0-based), e.g. a unique job id for POSTs. */
  body?: (seq: number) => string;
}

export function startLoad(url: string, opts: LoadOptions = {}): Load {
  const concurrency = opts.concurrency ?? 4;
  const deadline = Date.now() + (opts.maxMs ?? 120_000);
  const maxRequests = opts.maxRequests ?? 200_000;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: [], failureTimes: [], bodies: new Map() };
  let stopped = false;
  const classify =
    opts.classify ??
    ((b: string) =>
      b
        .trim()
        .replace(/\(instance [^)]*\)/, '')
        .trim());
  const u = new URL(url);
  const fail = (reason: string) => {
    result.failed++;
    if (result.failures.length >= 200) return;
    result.failures.push(reason);
    result.failureTimes.push(performance.now());
  };

  const one = () =>
    new Promise<void>((resolve) => {
      const seq = result.sent++;
      const body = opts.body?.(seq);
      const headers = body === undefined ? {} : { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) };
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: opts.method ?? 'GET', headers, agent, timeout: 30_000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
              result.ok++;
              const k = classify(body);
              result.bodies.set(k, (result.bodies.get(k) ?? 0) + 1);
            } else fail(`HTTP ${res.statusCode}: ${body.slice(0, 120)}`);
            resolve();
          });
          res.on('error', (err) => {
            fail(`response error: ${err.message}`);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => {
        fail(`request error: ${err.message}`);
        resolve();
      });
      req.end(body);
    });

  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped && Date.now() < deadline && result.sent < maxRequests) await one();
  });
  return {
    snapshot: () => ({ ...result, failures: [...result.failures], failureTimes: [...result.failureTimes], bodies: new Map(result.bodies) }),
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
