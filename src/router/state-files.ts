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
  /** Random per supervisor process. RouterStats.bootId is the worker's: counters restart with each worker. */
  bootId: string;
  /** ISO timestamp. */
  startedAt: string;
  /**
   * The serving worker's pid (rewritten when it is replaced). If the supervisor dies, this worker
   * goes on serving until the next router takes the ports over (ADR 0006).
   */
  workerPid?: number;
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
 * The worker of a router whose supervisor died, still serving (ADR 0006): router.json's
 * `workerPid`, if that process lives and its command line is a router worker for this directory.
 */
export function orphanWorker(stateDir: string, info: RouterInfoFile): number | null {
  const pid = info.workerPid;
  if (pid === undefined || pidAlive(info.pid) || !pidAlive(pid)) return null;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.some((a) => a.endsWith('/worker.js')) && args.includes(stateDir) ? pid : null;
  } catch {
    return null;
  }
}
