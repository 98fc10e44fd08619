import { join } from 'node:path';
import type { ServiceRoute } from './types.js';

/**
 * The files the router daemon keeps in its state directory. The daemon writes them, the client
 * (local-router.ts) reads router.json to find and adopt a running daemon.
 */

/** `DIR/router.json`: written atomically once the daemon's admin API is listening. */
export interface RouterInfoFile {
  version: 1;
  pid: number;
  /** Port of the admin API on 127.0.0.1. */
  adminPort: number;
  /** Random per process; the same value as RouterStats.bootId. */
  bootId: string;
  /** ISO timestamp. */
  startedAt: string;
}

/** `DIR/routes.json`: the route table, rewritten atomically before every change is acknowledged. */
export interface RoutesFile {
  version: 1;
  routes: ServiceRoute[];
}

export const ROUTES_FILE_VERSION = 1;

export function routerInfoPath(stateDir: string): string { return join(stateDir, 'router.json'); }
export function routesPath(stateDir: string): string { return join(stateDir, 'routes.json'); }
export function routerLogPath(stateDir: string): string { return join(stateDir, 'router.log'); }
