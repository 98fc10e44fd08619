/**
 * Measures an outage as a user opening new connections sees it: one fresh connection per request,
 * back to back (5 ms pause after a failure), on loopback, bounded in time.
 */
import { request } from 'node:http';

/** One fresh connection per request, back to back: the longest span without an answer is the outage. */
export function probeOutage(
  port: number,
  maxMs: number,
): { stop(): Promise<{ longestMs: number; failed: number; refused: number; sent: number }> } {
  let stopped = false;
  let longestMs = 0;
  let failed = 0;
  let refused = 0;
  let sent = 0;
  const deadline = Date.now() + maxMs;
  const one = () =>
    new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') refused++;
        resolve(false);
      });
      req.end();
    });
  const loop = (async () => {
    let lastOk = performance.now();
    while (!stopped && Date.now() < deadline) {
      sent++;
      if (await one()) {
        longestMs = Math.max(longestMs, performance.now() - lastOk);
        lastOk = performance.now();
      } else {
        failed++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { longestMs, failed, refused, sent };
    },
  };
}
