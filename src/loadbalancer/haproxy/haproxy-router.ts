/**
 * A TrafficRouter backed by HAProxy (ADR 0021). Slipway owns the whole haproxy.cfg (rendered from
 * routes.json), starts HAProxy as its own long-lived process (detached, so it outlives the
 * controller, as the built-in router does: ADR 0001), and afterwards drives it over the Runtime
 * API: weights, ready/drain/maint states, servers added and deleted at run time. It reloads
 * HAProxy (a new process taking the listening sockets over with -x, the old one finishing with
 * -sf) only when the set of listeners changes. After every change it reads the state back and
 * fails with HAPROXY_STATE_MISMATCH when HAProxy holds something else.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonIfExists, writeFileAtomic, writeJsonAtomic, PRIVATE_DIR_MODE } from '../../core/atomic-file.js';
import { SlipwayError } from '../../core/errors.js';
import { freePort } from '../../core/free-port.js';
import { pidAlive, waitForExit } from '../../core/process.js';
import type { RouterStart, TrafficRouter } from '../../router/router.js';
import {
  LATENCY_BUCKETS_MS,
  type DrainResult,
  type PoolStats,
  type RouterHealth,
  type RouterStats,
  type ServiceRoute,
  type ServiceStats,
} from '../../router/types.js';
import {
  backendName,
  checkArgs,
  listenerKey,
  mainServers,
  parseServerName,
  previewBackendName,
  previewServers,
  renderConfig,
  safeName,
  type DesiredServer,
  type HaproxyOptions,
} from './config-file.js';
import { RuntimeApi, type ServerState, type StatRow } from './runtime-api.js';

export interface HaproxyRouterProps extends HaproxyOptions {
  /** Directory of haproxy.cfg, routes.json, haproxy.json, admin.sock and haproxy.log. */
  stateDir: string;
  /** The haproxy binary. @default the first of /usr/sbin/haproxy, /usr/local/sbin/haproxy, haproxy on PATH */
  binary?: string;
  /** How long a start or reload waits for the new process to answer. @default 10000 */
  startTimeoutMs?: number;
}

/** `DIR/haproxy.json`: the HAProxy process serving now. */
interface ProcessFile {
  version: 1;
  pid: number;
  startedAt: string;
}

interface RoutesFile {
  version: 1;
  routes: ServiceRoute[];
}

type Counts = Pick<PoolStats, 'requests' | 'byClass'>;

/** `DIR/retired.json`: counts of servers deleted from this HAProxy process, so per-release counts never go back. */
interface RetiredFile {
  bootId: string;
  /** service → "main"|"preview" → release → counts */
  counts: Record<string, Record<'main' | 'preview', Record<string, Counts>>>;
}

export class HaproxyRouter implements TrafficRouter {
  readonly stateDir: string;
  readonly api: RuntimeApi;
  private readonly opts: HaproxyOptions;
  private readonly binary: string;
  private readonly startTimeoutMs: number;
  private starting: Promise<RouterStart> | null = null;
  /** Every change runs alone: HAProxy's state is read, changed and read back without interleaving. */
  private queue: Promise<unknown> = Promise.resolve();
  private bootCache: { pid: number; bootId: string } | undefined;

  constructor(props: HaproxyRouterProps) {
    this.stateDir = props.stateDir;
    this.opts = { healthPath: props.healthPath, checkIntervalMs: props.checkIntervalMs };
    this.binary = props.binary ?? findHaproxy();
    this.startTimeoutMs = props.startTimeoutMs ?? 10_000;
    this.api = new RuntimeApi(this.socketPath);
  }

  get socketPath(): string {
    return join(this.stateDir, 'admin.sock');
  }
  get configPath(): string {
    return join(this.stateDir, 'haproxy.cfg');
  }
  private get logPath(): string {
    return join(this.stateDir, 'haproxy.log');
  }

  /** The pid of the HAProxy process serving now (haproxy.json), if any. */
  get pid(): number | undefined {
    return this.readProcess()?.pid;
  }

  ensureRunning(): Promise<RouterStart> {
    this.starting ??= this.locked(() => this.adoptOrStart()).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  alive(): boolean {
    const p = this.readProcess();
    return p !== undefined && pidAlive(p.pid);
  }

  async health(): Promise<RouterHealth> {
    const p = this.readProcess();
    if (p === undefined)
      throw SlipwayError.of('ROUTER_NOT_RUNNING', `no HAProxy is running for ${this.stateDir}`, { hint: 'Call ensureRunning() first.' });
    const info = await this.api.info();
    const routes = this.loadRoutes();
    const problems: string[] = [];
    // Under the lock: a change half applied (a server added, not yet ready) is not a difference.
    await this.locked(async () => {
      for (const r of routes) {
        try {
          await this.verify(r);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
    });
    const pid = Number(info.Pid);
    return {
      ok: pid === p.pid && problems.length === 0,
      pid,
      workerPid: pid,
      workerPids: [pid],
      bootId: await this.bootId(),
      startedAt: p.startedAt,
      workerStartedAt: p.startedAt,
      routes: routes.length,
      problems,
      workerRestarts: 0,
      lastProblem: problems[0] ?? null,
    };
  }

  setRoute(route: ServiceRoute): Promise<void> {
    return this.locked(() => this.apply(route));
  }

  removeRoute(service: string): Promise<void> {
    return this.locked(async () => {
      const routes = this.loadRoutes();
      if (!routes.some((r) => r.service === service)) return;
      await this.reloadWith(
        routes.filter((r) => r.service !== service),
        routes,
      );
    });
  }

  async routes(): Promise<ServiceRoute[]> {
    return this.loadRoutes();
  }

  /**
   * Waits until the servers of these instances (in `drain` state since setRoute left them out)
   * have no request in flight, then deletes them. At the deadline, what is still running is cut
   * (`shutdown sessions`): HAProxy closes those connections instead of answering 504.
   */
  async drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    const ids = new Set(backendIds);
    const backends = [backendName(service), previewBackendName(service)];
    // Only servers out of the route: one still in it (the caller did not setRoute first) is never cut.
    const inRoute = this.desiredNames(service);
    const mine = (row: StatRow) =>
      backends.includes(row.proxy) && !inRoute.has(`${row.proxy}/${row.name}`) && ids.has(parseServerName(row.name)?.id ?? '');
    const deadline = Date.now() + timeoutMs;
    const first = (await this.api.stat()).filter(mine);
    const initial = sum(first.map((r) => r.current));
    let aborted = 0;
    for (;;) {
      const rows = (await this.api.stat()).filter(mine);
      const inFlight = sum(rows.map((r) => r.current));
      if (inFlight === 0) break;
      if (Date.now() >= deadline) {
        aborted = inFlight;
        for (const r of rows) if (r.current > 0) await this.api.shutdownSessions(r.proxy, r.name);
        break;
      }
      await delay(20);
    }
    await this.locked(async () => {
      await this.bootId(); // retire() files the counts under it
      const desired = this.desiredNames(service);
      const rows = (await this.api.stat()).filter(mine);
      for (const row of rows) {
        if (desired.has(`${row.proxy}/${row.name}`)) continue; // put back in the route meanwhile: keep it
        this.retire(service, row);
        await this.api.setState(row.proxy, row.name, 'maint');
        await this.api.delServer(row.proxy, row.name);
      }
    });
    return { completed: Math.max(0, initial - aborted), aborted };
  }

  /** `backend/server` of every server the service's route wants (main and preview backends). */
  private desiredNames(service: string): Set<string> {
    return new Set(
      this.loadRoutes().flatMap((r) =>
        r.service === service
          ? [
              ...mainServers(r).map((s) => `${backendName(service)}/${s.name}`),
              ...previewServers(r).map((s) => `${previewBackendName(service)}/${s.name}`),
            ]
          : [],
      ),
    );
  }

  async stats(): Promise<RouterStats> {
    const bootId = await this.bootId();
    const rows = await this.api.stat();
    const retired = this.readRetired(bootId);
    const services: ServiceStats[] = this.loadRoutes().map((route) => {
      const inFlightByBackend: Record<string, number> = {};
      const pools = (proxy: string, kind: 'main' | 'preview', releases: number[]): PoolStats[] => {
        const byRelease = new Map<number, PoolStats>();
        const get = (release: number) => {
          let p = byRelease.get(release);
          if (!p) byRelease.set(release, (p = emptyPool(release)));
          return p;
        };
        for (const r of releases) get(r);
        for (const [release, c] of Object.entries(retired?.counts[route.service]?.[kind] ?? {})) addCounts(get(Number(release)), c);
        for (const row of rows) {
          const s = row.proxy === proxy ? parseServerName(row.name) : undefined;
          if (!s) continue;
          const p = get(s.release);
          addCounts(p, rowCounts(row));
          p.inFlight += row.current;
          inFlightByBackend[s.id] = (inFlightByBackend[s.id] ?? 0) + row.current;
        }
        return [...byRelease.values()].sort((a, b) => a.release - b.release);
      };
      const stats: ServiceStats = {
        service: route.service,
        pools: pools(
          backendName(route.service),
          'main',
          route.pools.map((p) => p.release),
        ),
        inFlightByBackend,
      };
      if (route.preview) stats.preview = pools(previewBackendName(route.service), 'preview', [route.preview.release]);
      return stats;
    });
    return { bootId, services };
  }

  /** Stops HAProxy: a soft stop (SIGUSR1: stop listening, finish what is in flight), then waits for it. */
  async shutdown(): Promise<void> {
    const p = this.readProcess();
    if (p === undefined) return;
    if (pidAlive(p.pid)) {
      process.kill(p.pid, 'SIGUSR1');
      if (!(await waitForExit(p.pid, 30_000))) {
        process.kill(p.pid, 'SIGKILL');
        throw SlipwayError.of('ROUTER_STOP_TIMEOUT', `HAProxy pid ${p.pid} did not stop within 30s; killed it`, {
          hint: `See ${this.logPath}.`,
        });
      }
    }
    rmSync(join(this.stateDir, 'haproxy.json'), { force: true });
  }

  /**
   * Reads the service's servers back from HAProxy and throws HAPROXY_STATE_MISMATCH listing every
   * difference from the route: a server missing, at another address, with another weight or not
   * ready; a server Slipway removed still taking new requests.
   */
  async verify(route: ServiceRoute): Promise<void> {
    const diffs: string[] = [];
    const check = (backend: string, desired: DesiredServer[], actual: ServerState[]) => {
      const byName = new Map(actual.map((a) => [a.name, a]));
      for (const d of desired) {
        const a = byName.get(d.name);
        if (!a) {
          diffs.push(`${backend}/${d.name} is missing (expected ${d.host}:${d.port} weight ${d.weight})`);
          continue;
        }
        if (a.port !== d.port || (isIp(d.host) && a.addr !== d.host))
          diffs.push(`${backend}/${d.name} is at ${a.addr}:${a.port}, expected ${d.host}:${d.port}`);
        if (a.weight !== d.weight) diffs.push(`${backend}/${d.name} has weight ${a.weight}, expected ${d.weight}`);
        if (a.admin !== 'ready') diffs.push(`${backend}/${d.name} is in ${a.admin} state, expected ready`);
      }
      const wanted = new Set(desired.map((d) => d.name));
      for (const a of actual)
        if (!wanted.has(a.name) && a.admin === 'ready' && a.weight > 0)
          diffs.push(`${backend}/${a.name} takes new requests (ready, weight ${a.weight}) but is no longer in the route`);
    };
    const main = backendName(route.service);
    check(main, mainServers(route), await this.api.serverStates(main));
    if (route.preview) {
      const preview = previewBackendName(route.service);
      check(preview, previewServers(route), await this.api.serverStates(preview));
    }
    if (diffs.length > 0) {
      throw SlipwayError.of(
        'HAPROXY_STATE_MISMATCH',
        `HAProxy's state for ${route.service} differs from what Slipway set: ${diffs.join('; ')}`,
        {
          hint: 'Something changed HAProxy behind Slipway (the admin socket, another tool): the next deploy or `slipway up` sets it again.',
          details: { service: route.service, differences: diffs },
        },
      );
    }
  }

  private async apply(input: ServiceRoute): Promise<void> {
    if (input.rules && input.rules.length > 0) {
      throw SlipwayError.of(
        'HAPROXY_UNSUPPORTED',
        `service ${input.service}: header rules (canary match:) are not supported with the HAProxy load balancer yet`,
        {
          hint: 'Remove match: from the canary strategy, or use the built-in router (remove loadBalancer: from slipway.yaml).',
        },
      );
    }
    if (input.stickiness === 'cookie') {
      throw SlipwayError.of(
        'HAPROXY_UNSUPPORTED',
        `service ${input.service}: sticky cookies are not supported with the HAProxy load balancer yet`,
        {
          hint: 'Remove stickiness: from the strategy, or use the built-in router (remove loadBalancer: from slipway.yaml).',
        },
      );
    }
    safeName(input.service, 'service');
    const routes = this.loadRoutes();
    const prev = routes.find((r) => r.service === input.service);
    const route: ServiceRoute = { ...input, listen: { ...input.listen, port: await portFor(input.listen, prev?.listen) } };
    if (input.preview) route.preview = { ...input.preview, port: await portFor(input.preview, prev?.preview) };
    const next = [...routes.filter((r) => r.service !== route.service), route];
    if (listenerKey(next) !== listenerKey(routes)) {
      // A new listener: frontends cannot be added at run time, so HAProxy is reloaded from the new config.
      await this.reloadWith(next, routes);
    } else {
      await this.sync(backendName(route.service), mainServers(route));
      if (route.preview) await this.sync(previewBackendName(route.service), previewServers(route));
      this.saveRoutes(next);
    }
    await this.verify(route);
  }

  /** Makes the backend's servers the desired ones through the Runtime API; servers left out go to `drain`. */
  private async sync(backend: string, desired: DesiredServer[]): Promise<void> {
    const actual = new Map((await this.api.serverStates(backend)).map((a) => [a.name, a]));
    for (const d of desired) {
      const a = actual.get(d.name);
      if (!a) {
        // Servers added at run time start in maintenance with checks off.
        await this.api.addServer(backend, d.name, d.host, d.port, d.weight, checkArgs(this.opts));
        await this.api.enableHealth(backend, d.name);
        await this.api.setState(backend, d.name, 'ready');
        continue;
      }
      if (a.port !== d.port || (isIp(d.host) && a.addr !== d.host))
        await this.api.run(
          `set server ${backend}/${d.name} addr ${d.host} port ${d.port}`,
          /^(IP changed|no need to change|port changed)/i,
        );
      if (a.weight !== d.weight) await this.api.setWeight(backend, d.name, d.weight);
      if (a.admin !== 'ready') await this.api.setState(backend, d.name, 'ready');
    }
    const wanted = new Set(desired.map((d) => d.name));
    for (const a of actual.values()) if (!wanted.has(a.name) && a.admin === 'ready') await this.api.setState(backend, a.name, 'drain');
  }

  /**
   * Saves `next` and starts a HAProxy from it that takes the listeners over from the running one
   * (if any). If the new process does not start (a port taken), the running one keeps serving and
   * `prev` is saved back, so the state on disk stays what HAProxy serves.
   */
  private async reloadWith(next: ServiceRoute[], prev: ServiceRoute[]): Promise<void> {
    const old = this.readProcess();
    const running = old !== undefined && pidAlive(old.pid) ? old.pid : undefined;
    this.saveRoutes(next);
    try {
      await this.startProcess(running);
    } catch (err) {
      this.saveRoutes(prev);
      throw err;
    }
  }

  private async adoptOrStart(): Promise<RouterStart> {
    const existing = this.readProcess();
    if (existing !== undefined && pidAlive(existing.pid)) {
      const info = await this.api.info().catch(() => undefined);
      if (info && Number(info.Pid) === existing.pid) return { started: false, pid: existing.pid, replaced: null };
    }
    const pid = await this.startProcess(undefined);
    return { started: true, pid, replaced: existing?.pid ?? null };
  }

  private async startProcess(previous: number | undefined): Promise<number> {
    mkdirSync(this.stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    writeFileAtomic(this.configPath, renderConfig(this.loadRoutes(), this.socketPath, this.opts));
    const args = ['-f', this.configPath];
    // -x: take the listening sockets from the running process (no connection refused); -sf: it finishes its requests and exits.
    if (previous !== undefined && existsSync(this.socketPath)) args.push('-x', this.socketPath, '-sf', String(previous));
    const logFd = openSync(this.logPath, 'a', 0o600);
    let exited: string | undefined;
    let pid: number | undefined;
    try {
      const child = spawn(this.binary, args, { detached: true, stdio: ['ignore', logFd, logFd] });
      pid = child.pid;
      child.on('exit', (code, signal) => (exited = signal ?? `code ${code}`));
      child.on('error', (err) => (exited = err.message));
      child.unref();
    } finally {
      closeSync(logFd);
    }
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline && exited === undefined && pid !== undefined) {
      const info = await this.api.info().catch(() => undefined);
      if (info && Number(info.Pid) === pid) {
        writeJsonAtomic(join(this.stateDir, 'haproxy.json'), {
          version: 1,
          pid,
          startedAt: new Date().toISOString(),
        } satisfies ProcessFile);
        return pid;
      }
      await delay(20);
    }
    if (pid !== undefined && exited === undefined) process.kill(pid, 'SIGKILL');
    throw SlipwayError.of(
      'HAPROXY_START_FAILED',
      `HAProxy (${this.binary}) did not start within ${this.startTimeoutMs}ms${exited ? ` (it exited: ${exited})` : ''}; last lines of ${this.logPath}:\n${tail(this.logPath)}`,
      {
        hint: `The log says why; a port already in use is the usual cause. The config is ${this.configPath} (\`haproxy -c -f\` checks it).`,
      },
    );
  }

  /** Keeps the counts of a server about to be deleted (HAProxy forgets them with the server). */
  private retire(service: string, row: StatRow): void {
    const s = parseServerName(row.name);
    if (!s || this.bootCache === undefined) return;
    const file = this.readRetired(this.bootCache.bootId) ?? { bootId: this.bootCache.bootId, counts: {} };
    const kind = row.proxy === previewBackendName(service) ? 'preview' : 'main';
    const svc = (file.counts[service] ??= { main: {}, preview: {} });
    const c = (svc[kind][String(s.release)] ??= { requests: 0, byClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } });
    const add = rowCounts(row);
    c.requests += add.requests;
    for (const k of Object.keys(c.byClass) as (keyof Counts['byClass'])[]) c.byClass[k] += add.byClass[k];
    writeJsonAtomic(join(this.stateDir, 'retired.json'), file);
  }

  private readRetired(bootId: string): RetiredFile | undefined {
    const f = readJsonIfExists<RetiredFile>(join(this.stateDir, 'retired.json'));
    return f?.bootId === bootId ? f : undefined;
  }

  /** Counters restart with each HAProxy process (a reload too): its pid and start time. */
  private async bootId(): Promise<string> {
    const p = this.readProcess();
    if (p === undefined)
      throw SlipwayError.of('ROUTER_NOT_RUNNING', `no HAProxy is running for ${this.stateDir}`, { hint: 'Call ensureRunning() first.' });
    if (this.bootCache?.pid !== p.pid) this.bootCache = { pid: p.pid, bootId: `haproxy-${p.pid}-${Date.parse(p.startedAt)}` };
    return this.bootCache.bootId;
  }

  private loadRoutes(): ServiceRoute[] {
    const f = readJsonIfExists<RoutesFile>(join(this.stateDir, 'routes.json'));
    return f?.routes ?? [];
  }

  private saveRoutes(routes: ServiceRoute[]): void {
    mkdirSync(this.stateDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    writeJsonAtomic(join(this.stateDir, 'routes.json'), { version: 1, routes } satisfies RoutesFile);
    // Kept in step without a reload, so a HAProxy started from it (after a crash) serves what was set.
    writeFileAtomic(this.configPath, renderConfig(routes, this.socketPath, this.opts));
  }

  private readProcess(): ProcessFile | undefined {
    try {
      return readJsonIfExists<ProcessFile>(join(this.stateDir, 'haproxy.json'));
    } catch {
      return undefined;
    }
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function findHaproxy(): string {
  for (const p of ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(p)) return p;
  return 'haproxy';
}

/** The port to listen on: the one asked for, else the one already installed (same host), else a free one. */
async function portFor(want: { host: string; port: number }, prev: { host: string; port: number } | undefined): Promise<number> {
  if (want.port !== 0) return want.port;
  if (prev !== undefined && prev.host === want.host) return prev.port;
  return freePort(want.host);
}

function emptyPool(release: number): PoolStats {
  return {
    release,
    requests: 0,
    byClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    // HAProxy's stats have no latency histogram (only averages): latency analysis has no data behind HAProxy.
    latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
    latencySumMs: 0,
    inFlight: 0,
  };
}

/** A server's counts: requests are its sessions (one per request in HTTP mode), responses by class as HAProxy counted them. */
function rowCounts(row: StatRow): Counts {
  return { requests: row.total, byClass: { ...row.byClass } };
}

function addCounts(p: Counts, c: Counts): void {
  p.requests += c.requests;
  for (const k of Object.keys(p.byClass) as (keyof Counts['byClass'])[]) p.byClass[k] += c.byClass[k];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const isIp = (h: string) => /^[\d.]+$|:/.test(h);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
