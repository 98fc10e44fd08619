import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a project's state lives: everything under `<project>/.slipway/`. */
export interface ProjectPaths {
  root: string;
  stateDb: string;
  artifacts: string;
  releases: string;
  builds: string;
  driver: string;
  /** The podman driver's instances.json and container logs (services with `image:`). */
  podmanDriver: string;
  router: string;
  /** HAProxy's config, admin socket and state, when slipway.yaml has `loadBalancer: { haproxy }` (ADR 0021). */
  haproxy: string;
  controllerFile: string;
  /** The local user's admin API token (mode 0600; src/access/local-token.ts), read by the CLI by default. */
  tokenFile: string;
  controllerLog: string;
  /** Online copies of state.db taken after every finished rollout (see store/backup.ts). */
  backups: string;
  /** A tiny SQLite file whose exclusive lock is held by the project's one controller (ADR 0008). */
  lockFile: string;
  /** Who holds the lock: pid and process start time, written once the lock is taken. */
  lockOwnerFile: string;
}

export function projectPaths(projectDir: string): ProjectPaths {
  const root = join(projectDir, '.slipway');
  return {
    root,
    stateDb: join(root, 'state.db'),
    artifacts: join(root, 'artifacts'),
    releases: join(root, 'releases'),
    builds: join(root, 'builds'),
    driver: join(root, 'local'),
    podmanDriver: join(root, 'podman'),
    router: join(root, 'router'),
    haproxy: join(root, 'haproxy'),
    controllerFile: join(root, 'controller.json'),
    tokenFile: join(root, 'token'),
    controllerLog: join(root, 'controller.log'),
    backups: join(root, 'backups'),
    lockFile: join(root, 'controller.lock'),
    lockOwnerFile: join(root, 'controller.lock.json'),
  };
}

/** What a running controller writes so that CLIs can find it (mode 0600: it holds the API token). */
export interface ControllerFile {
  version: 1;
  pid: number;
  port: number;
  token: string;
  startedAt: number;
  projectDir: string;
  /** The extra listener `--listen` asked for, if any (the loopback one above always runs). */
  listen?: { address: string; port: number; tls: boolean };
}

/** The running controller's file, or undefined when there is none or it is unreadable. Light: CLIs read it at start-up. */
export function readControllerFile(path: string): ControllerFile | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ControllerFile;
  } catch {
    return undefined;
  }
}
