/**
 * The controller's API under a steady read load (issue 9's goal: 200 reads per second for 10 s
 * with no error and a p99 under 50 ms): a paced open-loop client (a request is sent on schedule
 * whether or not earlier ones answered, so a slow API cannot lower the load it gets) against a
 * real controller with one service of 2 instances, mixing what the CLI and a dashboard read:
 * project status, one service's status, its history and the event list.
 *
 * Then `status` alone, one call after another (its own latency, without the queueing of the load).
 *
 * Run: `npm run bench -- api` (the machine's load average is printed: quote it with the numbers).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ControllerClient } from '../src/client/client.js';
import { SlipwayProject } from './support/slipway-project.js';
import { ROOT } from './support/proc.js';
import { formatTable, median } from './support/stats.js';

const APP = join(ROOT, 'bench/fixtures/app/server.cjs');
const RATE = 200;
const SECONDS = 10;
const ROUNDS = 3;
const STATUS_ALONE = 300;

export async function run(): Promise<void> {
  const p = await SlipwayProject.create([APP], 'slipway-bench-api-');
  try {
    p.writeConfig({ instances: 2, start: 'node server.cjs' });
    await p.mustCli(['up']);
    const client = ControllerClient.connect(p.dir);
    const reads: [string, () => Promise<unknown>][] = [
      ['status', () => client.status()],
      ['service status', () => client.serviceStatus('web')],
      ['history', () => client.history('web')],
      ['events', () => client.events({ service: 'web' })],
    ];
    for (const [, read] of reads) await read(); // warm-up: JIT, connections
    const rows = [['round', 'requests', 'errors', 'p50 ms', 'p99 ms', 'max ms', 'load average']];
    const p99s: number[] = [];
    let errors = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const r = await paced(RATE, SECONDS, (i) => reads[i % reads.length]![1]());
      errors += r.errors;
      p99s.push(r.p99);
      rows.push([
        String(round),
        String(r.latencies.length),
        String(r.errors),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        r.max.toFixed(2),
        loadavg()[0]!.toFixed(2),
      ]);
    }
    console.log(formatTable(rows));
    // `status` alone, one call at a time: what a dashboard or `slipway status` waits for, without queueing.
    const alone: number[] = [];
    for (let i = 0; i < STATUS_ALONE; i++) {
      const t0 = performance.now();
      await client.status();
      alone.push(performance.now() - t0);
    }
    alone.sort((a, b) => a - b);
    const q = (x: number) => alone[Math.min(alone.length - 1, Math.floor(x * alone.length))]!;
    console.log(
      `\nstatus alone, ${STATUS_ALONE} calls one after another: p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms (load average ${loadavg()[0]!.toFixed(2)})`,
    );
    const p99 = median(p99s);
    console.log(
      `\ncontroller API at ${RATE} reads/s for ${SECONDS} s (${reads.map(([n]) => n).join(', ')} in turn): median p99 ${p99.toFixed(2)} ms (goal < 50), ${errors} error(s) (goal 0)`,
    );
  } finally {
    await p.dispose();
  }
}

interface Paced {
  latencies: number[];
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

/** Sends `send(i)` `rate` times a second for `seconds`, on schedule; waits for the last answer. */
async function paced(rate: number, seconds: number, send: (i: number) => Promise<unknown>): Promise<Paced> {
  const latencies: number[] = [];
  let errors = 0;
  const total = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    pending.push(
      send(i).then(
        () => {
          latencies.push(performance.now() - t0);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { latencies, errors, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN };
}
