import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readJsonIfExists } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { adminCall, type AdminTarget } from './admin-client.js';
import { pidAlive, waitForExit } from '../core/process.js';
import type { RouterStart, TrafficRouter } from './router.js';
import { orphanWorkers, readToken, routerInfoPath, routerLogPath, secureStateDir, type RouterInfoFile } from './state-files.js';
import type { DrainResult, RouterHealth, RouterStats, ServiceRoute } from './types.js';

export interface LocalRouterProps {
  /** Directory of router.json, routes.json and router.log. */
  stateDir: string;
  /** Script the daemon runs. @default the compiled main.js beside this module */
  entry?: string;
  /** Extra arguments for the daemon (e.g. `['--grace-ms', '2000']`). @default [] */
  args?: string[];
  /**
   * Options for Node.js itself, given to the supervisor and inherited by every worker it forks
   * (e.g. `['--trace-gc-nvp']`: bench/router.ts reads the workers' scavenges from router.log). @default []
   */
  nodeArgs?: string[];
  /** How long ensureRunning() waits for a new daemon to answer. @default 10000 */
  startTimeoutMs?: number;
}

const DEFAULT_ENTRY = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * The built-in TrafficRouter: a client for the router of one state directory. The router (its
 * supervisor, which forks the proxy worker) is a detached process in its own process group, so it
 * outlives the controller that started it (even a SIGKILLed one); a later controller adopts it
 * through router.json. Every admin call carries the token of `DIR/token`.
 */
export class LocalRouter implements TrafficRouter {
  private readonly stateDir: string;
  private readonly entry: string;
  private readonly args: string[];
  private readonly nodeArgs: string[];
  private readonly startTimeoutMs: number;
  private info: RouterInfoFile | undefined;
  private starting: Promise<RouterStart> | null = null;

  constructor(props: LocalRouterProps) {
    this.stateDir = props.stateDir;
    this.entry = props.entry ?? DEFAULT_ENTRY;
    this.args = props.args ?? [];
    this.nodeArgs = props.nodeArgs ?? [];
    this.startTimeoutMs = props.startTimeoutMs ?? 10_000;
  }

  /** Adopts the running router if router.json names a live one that answers; otherwise starts one. */
  ensureRunning(): Promise<RouterStart> {
    // Concurrent callers share one attempt, so one client never starts two daemons.
    this.starting ??= this.adoptOrStart().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /** The pid of the router (its supervisor) this client talks to (after ensureRunning). */
  get pid(): number | undefined {
    return this.info?.pid;
  }

  /**
   * Whether the router process named by router.json is alive: a pid check, no request (the
   * controller asks every tick). False when router.json is gone (the router stopped).
   */
  alive(): boolean {
    const info = this.readInfo();
    return info !== undefined && pidAlive(info.pid);
  }

  /** The router's processes and its last problem (`GET /v1/health`). */
  health(): Promise<RouterHealth> {
    return this.call<RouterHealth>('GET', '/v1/health', undefined, 2000);
  }

  /**
   * Where Prometheus scrapes the daemon (`GET /metrics`, text format 0.0.4), after ensureRunning.
   * The admin port is chosen by the OS, so it changes when the daemon restarts.
   */
  get metricsUrl(): string | undefined {
    return this.info === undefined ? undefined : `http://127.0.0.1:${this.info.adminPort}/metrics`;
  }

  async setRoute(route: ServiceRoute): Promise<void> {
    await this.applyRoute(route);
  }

  /** setRoute, resolving with the route as installed (a listen port of 0 replaced by the real one). */
  applyRoute(route: ServiceRoute): Promise<ServiceRoute> {
    return this.call<ServiceRoute>('PUT', `/v1/routes/${encodeURIComponent(route.service)}`, route);
  }

  async removeRoute(service: string): Promise<void> {
    await this.call('DELETE', `/v1/routes/${encodeURIComponent(service)}`);
  }

  routes(): Promise<ServiceRoute[]> {
    return this.call<ServiceRoute[]>('GET', '/v1/routes');
  }

  drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult> {
    // The daemon enforces the deadline itself; we only wait a little longer than it.
    return this.call<DrainResult>('POST', `/v1/routes/${encodeURIComponent(service)}/drain`, { backendIds, timeoutMs }, timeoutMs + 15_000);
  }

  stats(): Promise<RouterStats> {
    return this.call<RouterStats>('GET', '/v1/stats');
  }

  /** Asks the daemon to stop (it finishes in-flight requests first) and waits until its process is gone. */
  async shutdown(): Promise<void> {
    const info = this.readInfo() ?? this.info;
    if (info === undefined) return;
    if (!pidAlive(info.pid)) {
      // The supervisor died and no router took over: its workers still serve. Stop them too.
      const orphans = orphanWorkers(this.stateDir, info);
      for (const pid of orphans) process.kill(pid, 'SIGTERM');
      for (const pid of orphans) await waitForExit(pid, 30_000);
      return;
    }
    try {
      await adminCall(this.target(info), 'POST', '/v1/shutdown');
    } catch {
      process.kill(info.pid, 'SIGTERM'); // admin API gone: the signal does the same
    }
    const deadline = Date.now() + 30_000;
    while (pidAlive(info.pid)) {
      if (Date.now() > deadline) {
        process.kill(info.pid, 'SIGKILL');
        throw SlipwayError.of('ROUTER_STOP_TIMEOUT', `router pid ${info.pid} did not stop within 30s; killed it`, {
          hint: `See ${routerLogPath(this.stateDir)}.`,
        });
      }
      await delay(25);
    }
    this.info = undefined;
  }

  private async call<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const info = this.info ?? this.readInfo();
    if (info === undefined) {
      throw SlipwayError.of('ROUTER_NOT_RUNNING', `no router is running for ${this.stateDir}`, { hint: 'Call ensureRunning() first.' });
    }
    return adminCall<T>(this.target(info), method, path, body, timeoutMs);
  }

  private target(info: RouterInfoFile): AdminTarget {
    const token = readToken(this.stateDir);
    if (token === undefined) {
      throw SlipwayError.of('ROUTER_NOT_RUNNING', `no router token in ${this.stateDir} (the router creates it when it starts)`, {
        hint: 'Call ensureRunning() first.',
      });
    }
    return { port: info.adminPort, token };
  }

  private async adoptOrStart(): Promise<RouterStart> {
    const existing = this.readInfo();
    if (existing !== undefined && (await this.healthy(existing))) {
      this.info = existing;
      return { started: false, pid: existing.pid, replaced: null };
    }
    secureStateDir(this.stateDir);
    const logFd = openSync(routerLogPath(this.stateDir), 'a', 0o600);
    let exited: string | undefined;
    try {
      fchmodSync(logFd, 0o600);
      const child = spawn(process.execPath, [...this.nodeArgs, this.entry, '--state-dir', this.stateDir, ...this.args], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
      child.on('exit', (code, signal) => {
        exited = signal ?? `code ${code}`;
      });
      child.on('error', (err) => {
        exited = err.message;
      });
      child.unref();
    } finally {
      closeSync(logFd);
    }
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      const info = this.readInfo();
      // Our child, or a daemon someone else started meanwhile (then ours exits, refusing to double up).
      if (info !== undefined && info.pid !== existing?.pid && (await this.healthy(info))) {
        this.info = info;
        return { started: true, pid: info.pid, replaced: existing?.pid ?? null };
      }
      if (exited !== undefined && info?.pid === existing?.pid) break;
      await delay(25);
    }
    throw SlipwayError.of(
      'ROUTER_START_FAILED',
      `the router did not start within ${this.startTimeoutMs}ms${exited ? ` (it exited: ${exited})` : ''}; last lines of ${routerLogPath(this.stateDir)}:\n${this.logTail()}`,
      {
        hint: 'The log says why; a port already in use is the usual cause.',
      },
    );
  }

  private readInfo(): RouterInfoFile | undefined {
    try {
      return readJsonIfExists<RouterInfoFile>(routerInfoPath(this.stateDir));
    } catch {
      return undefined; // a torn file cannot happen (atomic writes); a garbled one means no router
    }
  }

  private async healthy(info: RouterInfoFile): Promise<boolean> {
    if (!pidAlive(info.pid)) return false;
    try {
      const h = await adminCall<{ ok: boolean; pid: number }>(this.target(info), 'GET', '/v1/health', undefined, 2000);
      return h.ok && h.pid === info.pid;
    } catch {
      return false;
    }
  }

  private logTail(lines = 20): string {
    try {
      return readFileSync(routerLogPath(this.stateDir), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
