import { randomBytes } from 'node:crypto';
import { pidAlive } from '../core/process.js';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceRoute } from './types.js';

/**
 * The files the router keeps in its state directory (mode 0700; every file 0600: the token is a
 * secret and the rest is nobody else's business). The supervisor writes router.json and the
 * token, the worker routes.json; the client (local-router.ts) reads router.json and the token.
 */

/** `DIR/router.json`: written atomically by the supervisor once its first worker serves. */
export interface RouterInfoFile {
  version: 1;
  /** The supervisor's pid: the process that owns the listening sockets and lives as long as the router. */
  pid: number;
  /** Port of the admin API on 127.0.0.1 (the supervisor holds it across worker restarts). */
  adminPort: number;
  /** Random per supervisor process, = RouterStats.bootId: counters restart when the supervisor does (ADR 0014). */
  bootId: string;
  /** ISO timestamp. */
  startedAt: string;
  /** The admin worker's pid (rewritten when it is replaced). */
  workerPid?: number;
  /**
   * Every serving worker's pid, the admin worker first (rewritten when one is replaced). If the
   * supervisor dies, these workers go on serving until the next router takes the ports over (ADR 0006).
   */
  workerPids?: number[];
}

/** `DIR/routes.json`: the route table, rewritten atomically before every change is acknowledged. */
export interface RoutesFile {
  version: 1;
  routes: ServiceRoute[];
}

export const ROUTES_FILE_VERSION = 1;

export function routerInfoPath(stateDir: string): string {
  return join(stateDir, 'router.json');
}
export function routesPath(stateDir: string): string {
  return join(stateDir, 'routes.json');
}
export function routerLogPath(stateDir: string): string {
  return join(stateDir, 'router.log');
}
/** `DIR/token`: the admin API's bearer token (random, 0600), kept across restarts. */
export function routerTokenPath(stateDir: string): string {
  return join(stateDir, 'token');
}

/** Creates the state directory 0700 and tightens an existing one (and its files) left more open by an older Slipway. */
export function secureStateDir(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  for (const name of readdirSync(stateDir)) {
    try {
      chmodSync(join(stateDir, name), 0o600);
    } catch {
      /* gone meanwhile */
    }
  }
}

/** The token, created (random, 0600) when there is none yet. */
export function ensureToken(stateDir: string): string {
  const path = routerTokenPath(stateDir);
  const existing = readToken(stateDir);
  if (existing !== undefined) return existing;
  const token = randomBytes(32).toString('base64url');
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    return token;
  } catch (err) {
    // Two starting routers raced: the other one's token wins.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readToken(stateDir) ?? token;
    throw err;
  }
}

/** The token, or undefined when the file does not exist (or is empty). */
export function readToken(stateDir: string): string | undefined {
  try {
    const t = readFileSync(routerTokenPath(stateDir), 'utf8').trim();
    return t === '' ? undefined : t;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The workers of a router whose supervisor died, still serving (ADR 0006): router.json's
 * `workerPids` (or `workerPid`, from a router with one worker) that live and whose command line
 * is a router worker for this directory.
 */
export function orphanWorkers(stateDir: string, info: RouterInfoFile): number[] {
  if (pidAlive(info.pid)) return [];
  const pids = info.workerPids ?? (info.workerPid === undefined ? [] : [info.workerPid]);
  return pids.filter((pid) => {
    if (!pidAlive(pid)) return false;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return args.some((a) => a.endsWith('/worker.js')) && args.includes(stateDir);
    } catch {
      return false;
    }
  });
}
