/**
 * Steady HTTP load from a separate process, so the generator never shares an event loop (or a
 * CPU-time slice) with the code being measured. See load-child.ts for what it does.
 *
 *   const load = await startLoad({ url: 'http://127.0.0.1:8080/' });
 *   ... do the thing under load ...
 *   const report = await load.stop();   // sent, ok, failed, reasons, failure timestamps
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadConfig {
  /** Loopback URL only. */
  url: string;
  /** Concurrent keep-alive request loops (default 8). */
  concurrency: number;
  /** Hard bounds: the child stops by itself after this long / this many requests. */
  maxMs: number;
  maxRequests: number;
  /** Per-request timeout, counted as a failure (default 10 s). */
  timeoutMs: number;
  /** Optional regex source: successful bodies are counted by their first match (e.g. "release=\\S+"). */
  classify?: string;
  /**
   * Optional pacing: requests per second over all loops together (each request starts at the next
   * free slot, 1/ratePerSec apart; a slot missed because every loop was busy is not made up later,
   * so there are no catch-up bursts). Default: none, every loop sends its next request at once.
   */
  ratePerSec?: number;
  /** Optional: keep one `LoadRecord` per answer or error in `LoadReport.records`, up to this many. */
  recordLimit?: number;
}

/** One request, with `recordLimit` set. Times are epoch ms (Date.now() in the load process). */
export interface LoadRecord {
  sentAt: number;
  /** When the answer ended (or the error came). */
  at: number;
  /** HTTP status; 0 for a socket error or timeout. */
  status: number;
  /** First match of `classify` in the body, whatever the status ('' when none, or no body). */
  key: string;
}

export interface LoadReport {
  sent: number;
  ok: number;
  /** Non-2xx answers plus socket errors. */
  failed: number;
  /** Failures by reason: "HTTP 502", "ECONNRESET", "ECONNREFUSED", "TIMEOUT", ... */
  reasons: Record<string, number>;
  /** The first 200 failures with their epoch-ms time, to line up with other events. */
  failures: { at: number; reason: string }[];
  /** Successful answers counted by `classify`. */
  bodies: Record<string, number>;
  startedAt: number;
  finishedAt: number;
  /** With `recordLimit`: every request in the order the answers came, up to the limit. */
  records?: LoadRecord[];
  /** With `recordLimit`: requests not recorded because the limit was reached. */
  recordsDropped?: number;
}

export interface Load {
  /** Latest progress from the child (updated every 250 ms). */
  readonly progress: { sent: number; failed: number };
  /** Stops the loops, waits for in-flight requests and returns the totals. */
  stop(): Promise<LoadReport>;
  /** Kills the child if it is still running (for cleanup paths). */
  kill(): void;
}

const CHILD = fileURLToPath(new URL('./load-child.js', import.meta.url));

export async function startLoad(opts: Partial<LoadConfig> & { url: string }): Promise<Load> {
  const cfg: LoadConfig = { concurrency: 8, maxMs: 120_000, maxRequests: 2_000_000, timeoutMs: 10_000, ...opts };
  const child: ChildProcess = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const progress = { sent: 0, failed: 0 };
  let report: Promise<LoadReport> | null = null;
  const reported = new Promise<LoadReport>((res, rej) => {
    child.on('message', (m: { type: string; sent?: number; failed?: number; report?: LoadReport }) => {
      if (m.type === 'progress') {
        progress.sent = m.sent!;
        progress.failed = m.failed!;
      }
      if (m.type === 'report') res(m.report!);
    });
    child.on('exit', (code) => rej(new Error(`load generator exited (${code}) without a report`)));
    child.on('error', rej);
  });
  reported.catch(() => undefined);
  await new Promise<void>((res, rej) => {
    child.once('spawn', res);
    child.once('error', rej);
  });
  child.send(cfg);
  return {
    progress,
    stop: () => {
      if (!report) {
        try {
          child.send({ type: 'stop' });
        } catch {
          /* already finished on its own bounds: its report is on the way */
        }
        report = reported;
      }
      return report;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
