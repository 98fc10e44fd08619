/**
 * Router failover (ADR 0006): what a client sees when the proxying process is SIGKILLed.
 *
 * 1. Slipway: the supervisor holds the listening socket; the proxy worker is killed TRIALS times;
 *    each time a fresh connection is opened right after the kill, and we record whether it was
 *    refused and how long it took to be answered (it waits in the kernel's accept queue for the
 *    replacement worker).
 * 2. For comparison, Node's `cluster` with one worker (the primary owning the listener, both
 *    scheduling policies): the same kill, the same fresh connection.
 *
 * Run: `npm run build && node dist/bench/router-failover.js`. Loopback only; every process started
 * here is stopped at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../src/core/process.js';
import { LocalRouter } from '../src/router/local-router.js';

const TRIALS = 10;

/** `error`: the connection failed (ECONNREFUSED, ECONNRESET, timeout); `ms`: time to the answer. */
interface Outcome {
  error: string | null;
  ms: number;
}

/** One fresh connection; resolves when answered (or refused). */
function probe(port: number): Promise<Outcome> {
  const began = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ error: null, ms: performance.now() - began }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, ms: performance.now() - began }));
    req.end();
  });
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function summary(name: string, xs: Outcome[]): string {
  const ms = xs
    .filter((x) => x.error === null)
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  const med = ms.length ? ms[Math.floor(ms.length / 2)]!.toFixed(0) : '-';
  const max = ms.length ? ms.at(-1)!.toFixed(0) : '-';
  const errors = new Map<string, number>();
  for (const x of xs) if (x.error !== null) errors.set(x.error, (errors.get(x.error) ?? 0) + 1);
  const failed = [...errors].map(([e, n]) => `${n} ${e}`).join(', ') || 'none';
  return `${name.padEnd(28)} failed: ${failed.padEnd(30)} answered: median ${med} ms, max ${max} ms after the kill`;
}

async function slipway(dir: string): Promise<Outcome[]> {
  const upstream = createServer((_q, s) => s.end('ok'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const router = new LocalRouter({ stateDir: join(dir, 'router') });
  const out: Outcome[] = [];
  try {
    await router.ensureRunning();
    const route = await router.applyRoute({
      service: 'web',
      listen: { host: '127.0.0.1', port: 0 },
      pools: [{ release: 1, weight: 1, backends: [{ id: 'u', host: '127.0.0.1', port: (upstream.address() as { port: number }).port }] }],
    });
    for (let i = 0; i < TRIALS; i++) {
      const { workerPid } = await router.health();
      process.kill(workerPid, 'SIGKILL');
      out.push(await probe(route.listen.port));
      await until(async () => (await router.health().catch(() => undefined))?.workerPid !== workerPid);
      await new Promise((r) => setTimeout(r, 2500)); // a worker that lived 2 s is not a crash loop: replaced with no pause
    }
  } finally {
    await router.shutdown();
    upstream.close();
  }
  return out;
}

const CLUSTER_JS = `
const cluster = require('node:cluster');
const http = require('node:http');
cluster.schedulingPolicy = process.argv[2] === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
if (cluster.isPrimary) {
  const spawn = () => { const w = cluster.fork(); w.on('listening', (a) => process.send({ pid: w.process.pid, port: a.port })); };
  cluster.on('exit', () => spawn()); // replace a dead worker at once
  spawn();
} else {
  http.createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
}
`;

async function clusterRun(dir: string, policy: 'rr' | 'none'): Promise<Outcome[]> {
  const script = join(dir, 'cluster.cjs');
  writeFileSync(script, CLUSTER_JS);
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const primary: ChildProcess = fork(script, [policy], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  let worker = 0;
  primary.on('message', (m: { pid: number }) => {
    worker = m.pid;
  });
  const out: Outcome[] = [];
  try {
    await until(() => worker !== 0);
    for (let i = 0; i < TRIALS; i++) {
      const old = worker;
      process.kill(old, 'SIGKILL');
      out.push(await probe(port));
      await until(() => worker !== old && !pidAlive(old));
      await new Promise((r) => setTimeout(r, 2500));
    }
  } finally {
    primary.kill('SIGKILL');
  }
  return out;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-failover-'));
  try {
    const lines = [
      summary('slipway supervisor+worker', await slipway(dir)),
      summary('node cluster (SCHED_RR)', await clusterRun(dir, 'rr')),
      summary('node cluster (SCHED_NONE)', await clusterRun(dir, 'none')),
    ];
    console.log(`worker SIGKILLed ${TRIALS} times each, one fresh connection right after each kill:`);
    for (const l of lines) console.log(`  ${l}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
