/**
 * The load generator's child process (see load.ts, which forks it): `concurrency` keep-alive
 * loops of GET requests against one loopback URL, each waiting for its answer before the next.
 * Bounded: it stops on the parent's "stop" message, after `maxMs`, after `maxRequests`, or when the
 * parent goes away. A failure is a non-2xx answer or any socket error (refused, reset, timeout).
 * Optional: `ratePerSec` paces the loops to that total rate; `recordLimit` keeps one record
 * (sent, answered, status, classify match) per request for the report.
 *
 * IPC: receives LoadConfig as its first message; sends {type:'progress'} every 250 ms and one
 * {type:'report'} when done, then exits.
 */
import { Agent, request } from 'node:http';
import type { LoadConfig, LoadReport } from './load.js';

function main(cfg: LoadConfig): void {
  const u = new URL(cfg.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`load only goes to loopback, not ${u.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets: cfg.concurrency });
  const startedAt = Date.now();
  const deadline = startedAt + cfg.maxMs;
  const r: LoadReport = { sent: 0, ok: 0, failed: 0, reasons: {}, failures: [], bodies: {}, startedAt, finishedAt: 0 };
  const classify = cfg.classify ? new RegExp(cfg.classify) : null;
  const recordLimit = cfg.recordLimit ?? 0;
  if (recordLimit > 0) {
    r.records = [];
    r.recordsDropped = 0;
  }
  const record = (sentAt: number, status: number, body: string) => {
    if (!r.records) return;
    if (r.records.length >= recordLimit) {
      r.recordsDropped = (r.recordsDropped ?? 0) + 1;
      return;
    }
    r.records.push({ sentAt, at: Date.now(), status, key: (classify && body ? classify.exec(body)?.[0] : undefined) ?? '' });
  };
  // Pacing: the start time of the next free slot, shared by all loops.
  const slotMs = cfg.ratePerSec && cfg.ratePerSec > 0 ? 1000 / cfg.ratePerSec : 0;
  let nextSlot = startedAt;
  const pace = async () => {
    if (!slotMs) return;
    const now = Date.now();
    const at = Math.max(nextSlot, now);
    nextSlot = at + slotMs;
    if (at > now) await new Promise((res) => setTimeout(res, at - now));
  };
  let stopped = false;

  const fail = (reason: string) => {
    r.failed++;
    r.reasons[reason] = (r.reasons[reason] ?? 0) + 1;
    if (r.failures.length < 200) r.failures.push({ at: Date.now(), reason });
  };

  const one = () =>
    new Promise<void>((done) => {
      r.sent++;
      const sentAt = Date.now();
      const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent, timeout: cfg.timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          const s = res.statusCode ?? 0;
          record(sentAt, s, body);
          if (s >= 200 && s < 300) {
            r.ok++;
            const k = classify ? (classify.exec(body)?.[0] ?? '?') : '';
            if (k) r.bodies[k] = (r.bodies[k] ?? 0) + 1;
          } else {
            fail(`HTTP ${s}`);
          }
          done();
        });
        res.on('error', (err: NodeJS.ErrnoException) => {
          record(sentAt, 0, '');
          fail(`response ${err.code ?? err.message}`);
          done();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        record(sentAt, 0, '');
        fail(err.code ?? err.message);
        done();
      });
      req.end();
    });

  const loops = Array.from({ length: cfg.concurrency }, async () => {
    while (!stopped && Date.now() < deadline && r.sent < cfg.maxRequests) {
      await pace();
      if (stopped || Date.now() >= deadline) break;
      await one();
    }
  });
  const progress = setInterval(() => process.send?.({ type: 'progress', sent: r.sent, failed: r.failed }), 250);

  const finish = async () => {
    stopped = true;
    await Promise.all(loops);
    clearInterval(progress);
    agent.destroy();
    r.finishedAt = Date.now();
    process.send?.({ type: 'report', report: r }, () => process.exit(0));
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stop') void finish();
  });
  process.on('disconnect', () => process.exit(0));
  void Promise.all(loops).then(() => {
    if (!stopped) void finish();
  });
}

process.once('message', (cfg: LoadConfig) => main(cfg));
