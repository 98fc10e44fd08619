/**
 * Router benchmark: requests/s and latency of one tiny upstream reached directly, through Slipway's
 * router, through HAProxy driven by Slipway (the `loadBalancer: { haproxy }` adapter, ADR 0021),
 * through nginx (upstream keepalive) and through Caddy (reverse_proxy), measured with wrk
 * on loopback. Each target is measured RUNS times, interleaved, and the medians are reported with
 * the ratio to nginx. Every process started here is stopped at the end, even on error.
 *
 * Run: `npm run build && node dist/bench/router.js` (or through bench/main.ts).
 */
import { freePort } from '../src/core/free-port.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalRouter } from '../src/router/local-router.js';
import { HaproxyRouter } from '../src/loadbalancer/haproxy/haproxy-router.js';
import { defaultWorkerCount } from '../src/router/supervisor.js';

const RUNS = 3;
const DURATION_S = 8;
const CONNECTIONS = 50;

const UPSTREAM_JS = `
const http = require('node:http');
const s = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' }); res.end('hello'); });
s.keepAliveTimeout = 65000;
s.listen(0, '127.0.0.1', () => console.log('port ' + s.address().port));
`;

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  cpuUs?: number;
  gc?: Scavenges;
}
/** The proxy workers' young-generation collections during one run (from `--trace-gc-nvp` lines). */
interface Scavenges {
  count: number;
  pauseMedianMs: number;
  pauseMaxMs: number;
  /** Bytes copied within the young generation plus bytes promoted, per scavenge (what a pause costs grows with it). */
  survivedKB: number;
}
/**
 * `pids`: processes whose CPU time per request is worth printing (the router's proxy workers).
 * `gcLog`: the log their `--trace-gc-nvp` lines go to.
 */
interface Target {
  name: string;
  port: number;
  pids?: number[];
  gcLog?: string;
}

/** Router worker counts measured side by side (ADR 0014); `slipway` alone is the default count. */
const WORKER_COUNTS = [1, 2];

export async function run(): Promise<void> {
  for (const tool of ['wrk', 'nginx', 'caddy', 'haproxy']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is not installed: run scripts/install-system-deps.sh`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-router-'));
  const children: ChildProcess[] = [];
  const routers: { shutdown(): Promise<void> }[] = [];
  try {
    progress('starting upstream');
    const upstream = spawn(process.execPath, ['-e', UPSTREAM_JS], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(upstream);
    const upPort = await portOf(upstream, 'upstream');

    progress('starting the upstream-client shells (undici Pool.dispatch, Slipway UpstreamPool)');
    const shells: Target[] = [];
    for (const mode of ['undici', 'llhttp']) {
      const child = spawn(
        process.execPath,
        [join(HERE, 'support', 'upstream-client-proxy.js'), mode === 'llhttp' ? 'slipway' : mode, String(upPort)],
        { stdio: ['ignore', 'pipe', 'inherit'], detached: true }, // its own session, as every proxy here (see nginx below)
      );
      children.push(child);
      shells.push({ name: mode, port: await portOf(child, `${mode} shell`) });
    }

    const others = WORKER_COUNTS.filter((n) => n !== defaultWorkerCount());
    progress(`starting slipway routers (the default ${defaultWorkerCount()} worker(s), and ${others.join(', ')})`);
    const routerTargets: Target[] = [];
    for (const workers of [undefined, ...others]) {
      const stateDir = join(dir, `router-${workers ?? 'default'}`);
      const r = new LocalRouter({
        stateDir,
        args: workers === undefined ? [] : ['--workers', String(workers)],
        // One line per scavenge in router.log (a few a second): how often the workers pause and for how long.
        nodeArgs: ['--trace-gc-nvp'],
      });
      routers.push(r);
      await r.ensureRunning();
      const routed = await r.applyRoute({
        service: 'bench',
        listen: { host: '127.0.0.1', port: 0 },
        pools: [{ release: 1, weight: 1, backends: [{ id: 'u1', host: '127.0.0.1', port: upPort }] }],
      });
      routerTargets.push({
        name: workers === undefined ? 'slipway' : `slipway-${workers}w`,
        port: routed.listen.port,
        pids: (await r.health()).workerPids,
        gcLog: join(stateDir, 'router.log'),
      });
    }

    progress('starting HAProxy through Slipway (HaproxyRouter)');
    const haproxy = new HaproxyRouter({ stateDir: join(dir, 'haproxy') });
    routers.push(haproxy);
    await haproxy.ensureRunning();
    await haproxy.setRoute({
      service: 'bench',
      listen: { host: '127.0.0.1', port: 0 },
      pools: [{ release: 1, weight: 1, backends: [{ id: 'u1', host: '127.0.0.1', port: upPort }] }],
    });
    const haproxyTarget: Target = { name: 'haproxy', port: (await haproxy.routes())[0]!.listen.port, pids: [haproxy.pid!] };

    progress('starting nginx');
    const nginxPort = await freePort();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;
worker_processes auto;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream app { server 127.0.0.1:${upPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
    );
    // Each proxy runs in its own session, as the router does (LocalRouter starts it detached): with
    // the kernel's autogroup scheduling (sched_autogroup_enabled=1 here) a session shares the CPU as
    // one group, so a proxy left in this process's session would share wrk's and the upstream's
    // group while the router competes as a group of its own. On a busy machine that alone moved
    // the ratio from 0.3 to 0.5 (ADR 0014).
    children.push(spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'], detached: true }));

    progress('starting caddy');
    const caddyPort = await freePort();
    writeFileSync(
      join(dir, 'Caddyfile'),
      `{
  admin off
  auto_https off
}
http://127.0.0.1:${caddyPort} {
  reverse_proxy 127.0.0.1:${upPort}
}
`,
    );
    children.push(
      spawn('caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
        stdio: ['ignore', 'ignore', 'ignore'],
        env: { ...process.env, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOME: dir },
        detached: true,
      }),
    );

    const targets: Target[] = [
      { name: 'direct', port: upPort },
      ...routerTargets,
      haproxyTarget,
      { name: 'nginx', port: nginxPort },
      { name: 'caddy', port: caddyPort },
      ...shells,
    ];
    for (const t of targets) await waitHealthy(t);

    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    for (const t of targets) wrk(t, 1); // warm-up: JIT, connection pools
    for (let r = 1; r <= RUNS; r++) {
      for (const t of targets) {
        const s = wrk(t, DURATION_S);
        samples.get(t.name)!.push(s);
        progress(
          `run ${r}/${RUNS} ${t.name.padEnd(8)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(2)}ms  p99 ${s.p99.toFixed(2)}ms${s.cpuUs === undefined ? '' : `  ${s.cpuUs.toFixed(1)} µs CPU/request`}${s.gc === undefined ? '' : `  ${s.gc.count} scavenges (pause median ${s.gc.pauseMedianMs} ms, max ${s.gc.pauseMaxMs} ms, ${s.gc.survivedKB.toFixed(0)} KB survived each)`}`,
        );
      }
    }
    printTable(targets, samples);
    for (const t of routerTargets) {
      const cpu = samples.get(t.name)!.flatMap((s) => (s.cpuUs === undefined ? [] : [s.cpuUs]));
      if (cpu.length)
        console.log(
          `${t.name}: proxy workers' CPU per proxied request: median ${median(cpu).toFixed(1)} µs (less sensitive to a busy machine than req/s)`,
        );
      const gc = samples.get(t.name)!.flatMap((s) => (s.gc === undefined ? [] : [s.gc]));
      if (gc.length)
        console.log(
          `${t.name}: scavenges per run median ${median(gc.map((g) => g.count))}, pause median ${median(gc.map((g) => g.pauseMedianMs))} ms (longest ${Math.max(...gc.map((g) => g.pauseMaxMs))} ms), ${median(gc.map((g) => g.survivedKB)).toFixed(0)} KB survived per scavenge`,
        );
    }
    const nginx = samples.get('nginx')!;
    const slip = samples.get('slipway')!;
    const rpsRatio = median(slip.map((s) => s.rps)) / median(nginx.map((s) => s.rps));
    const p99Ratio = median(slip.map((s) => s.p99)) / median(nginx.map((s) => s.p99));
    console.log(
      `\nslipway (default ${defaultWorkerCount()} worker(s)) / nginx: ${rpsRatio.toFixed(2)}× the requests/s (goal ≥ 0.60), ${p99Ratio.toFixed(2)}× the p99 (goal ≤ 2.00); load average ${loadAverage()}`,
    );
    const hap = samples.get('haproxy')!;
    console.log(
      `haproxy (driven by Slipway) / nginx: ${(median(hap.map((s) => s.rps)) / median(nginx.map((s) => s.rps))).toFixed(2)}× the requests/s, ${(median(hap.map((s) => s.p99)) / median(nginx.map((s) => s.p99))).toFixed(2)}× the p99`,
    );
    const ratio = median(samples.get('undici')!.map((s) => s.rps)) / median(samples.get('llhttp')!.map((s) => s.rps));
    console.log(
      `\nupstream client alone (same proxy shell): undici Pool.dispatch / Slipway UpstreamPool = ${ratio.toFixed(2)} (docs/router.md: undici is adopted when it is within 10%, i.e. ≥ 0.90)`,
    );
  } finally {
    progress('stopping processes');
    for (const r of routers) await r.shutdown().catch((err: unknown) => console.error(`router shutdown: ${String(err)}`));
    for (const c of children) await stop(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The port a child prints as "port N" on its stdout. */
function portOf(child: ChildProcess, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`${what} exited`)));
  });
}

function wrk(t: Target, seconds: number): Sample {
  const cpuBefore = t.pids === undefined ? undefined : cpuMs(t.pids);
  const logBefore = t.gcLog === undefined ? 0 : statSync(t.gcLog).size;
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${t.port}/`], {
    encoding: 'utf8',
    timeout: (seconds + 20) * 1000,
  });
  if (r.status !== 0) throw new Error(`wrk against ${t.name} failed: ${r.stderr || r.error?.message}`);
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors && seconds > 1) progress(`warning: ${t.name}: ${errors[0]}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const cpuUs = cpuBefore === undefined ? undefined : ((cpuMs(t.pids!) - cpuBefore) * 1000) / requests;
  const gc = t.gcLog === undefined ? undefined : scavenges(t.gcLog, logBefore, t.pids ?? []);
  return { rps, p50: latency(out, '50%'), p99: latency(out, '99%'), requests, cpuUs, gc };
}

/** The scavenges of `pids` logged since byte `from` of `log` (`--trace-gc-nvp`: `[PID:0x…] N ms: pause=… gc=s …`). */
function scavenges(log: string, from: number, pids: number[]): Scavenges {
  const text = readFileSync(log).subarray(from).toString('utf8');
  const pauses: number[] = [];
  let survived = 0;
  for (const line of text.split('\n')) {
    const pid = /^\[(\d+):/.exec(line)?.[1];
    if (pid === undefined || !pids.includes(Number(pid)) || !line.includes(' gc=s ')) continue;
    const field = (name: string) => Number(new RegExp(` ${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
    pauses.push(field('pause'));
    survived += field('new_space_survived') + field('promoted');
  }
  const n = pauses.length;
  return {
    count: n,
    pauseMedianMs: n ? median(pauses) : 0,
    pauseMaxMs: n ? Math.max(...pauses) : 0,
    survivedKB: n ? survived / n / 1024 : 0,
  };
}

/** User + system CPU time of processes so far, in ms (from /proc; clock ticks of 10 ms). */
function cpuMs(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ms += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return ms;
}

/** Parses a wrk latency percentile line ("  99%    1.23ms") into milliseconds. */
function latency(out: string, pct: string): number {
  const m = new RegExp(`^\\s+${pct}\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function printTable(targets: Target[], samples: Map<string, Sample[]>): void {
  const nginx = median(samples.get('nginx')!.map((s) => s.rps));
  console.log(
    `\nrouter benchmark: wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, ${RUNS} runs each, medians (one node upstream answering "hello")`,
  );
  console.log('| target     |   req/s | p50 ms | p99 ms | vs nginx |');
  console.log('|------------|--------:|-------:|-------:|---------:|');
  for (const t of targets) {
    const s = samples.get(t.name)!;
    const rps = median(s.map((x) => x.rps));
    console.log(
      `| ${t.name.padEnd(10)} | ${rps.toFixed(0).padStart(7)} | ${median(s.map((x) => x.p50))
        .toFixed(2)
        .padStart(6)} | ${median(s.map((x) => x.p99))
        .toFixed(2)
        .padStart(6)} | ${(rps / nginx).toFixed(2).padStart(8)} |`,
    );
  }
}

function progress(msg: string): void {
  console.log(`[bench router] ${msg}`);
}

async function waitHealthy(t: Target): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = get({ host: '127.0.0.1', port: t.port, path: '/', agent: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${t.name} on port ${t.port} did not answer 200 within 15s`);
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
