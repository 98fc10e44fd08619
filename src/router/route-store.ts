import { readJsonIfExists, writeJsonAtomic } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { parseServiceRoute } from './route-schema.js';
import { ROUTES_FILE_VERSION, routesPath, type RoutesFile } from './state-files.js';
import type { ServiceRoute } from './types.js';

/**
 * The durable copy of the route table (`DIR/routes.json`). The daemon saves before it acknowledges
 * a change, and loads on start, so a restarted router serves the same routes.
 */
export class RouteStore {
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = routesPath(stateDir);
  }

  /** The saved table, or an empty one when there is no file yet. Throws on a corrupt or newer file. */
  load(): ServiceRoute[] {
    let file: RoutesFile | undefined;
    try {
      file = readJsonIfExists<RoutesFile>(this.path);
    } catch (err) {
      throw SlipwayError.of('ROUTER_STATE_CORRUPT', `cannot read ${this.path}: ${(err as Error).message}`, {
        hint: 'Move the file aside and re-apply the routes from the controller.',
        cause: err,
      });
    }
    if (file === undefined) return [];
    if (file.version !== ROUTES_FILE_VERSION) {
      throw SlipwayError.of(
        'ROUTER_STATE_VERSION',
        `${this.path} has version ${String(file.version)}; this router reads version ${ROUTES_FILE_VERSION}`,
        {
          hint: 'Run the Slipway version that wrote it, or move the file aside.',
        },
      );
    }
    return file.routes.map((r) => parseServiceRoute(r));
  }

  /** Replaces the saved table atomically (temp file, fsync, rename). Errors propagate. */
  save(routes: ServiceRoute[]): void {
    const file: RoutesFile = { version: ROUTES_FILE_VERSION, routes };
    writeJsonAtomic(this.path, file);
  }
}
