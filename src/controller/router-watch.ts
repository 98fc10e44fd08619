import { SlipwayError } from '../core/errors.js';
import type { RouterView } from '../api/types.js';
import type { RouterStart, TrafficRouter } from '../router/router.js';
import type { ProblemLog } from './problem-log.js';
import type { Logger } from '../core/logger.js';

const SUBJECT = 'router';

/**
 * The controller's eye on the router process. Every tick `check()` does a pid check (no request);
 * a router that is gone is started again at once (it restores its routes from routes.json), and
 * the loop re-pushes every route. A failure to start it is kept (`lastError`) so deploys fail with
 * it at once instead of waiting for their deadline. (A dead proxy *worker* is the router's own
 * business: its supervisor replaces it; the counts show in `view()`.)
 */
export class RouterWatch {
  /** Times this controller started the router again after it died. */
  restarts = 0;
  lastProblem: string | null = null;
  /** Why the router could not be started, while that lasts. */
  lastError: SlipwayError | null = null;
  private repairs: string[] = [];
  /** Failed starts in a row, and when the next one may be tried (a router that cannot start is not respawned every tick). */
  private failures = 0;
  private nextAttemptAt = 0;

  constructor(
    private readonly router: TrafficRouter,
    private readonly problems: ProblemLog,
    private readonly log: Logger,
  ) {}

  /** Adopts or starts the router (controller start). Throws when it cannot be started. */
  async start(): Promise<RouterStart> {
    const how = await this.router.ensureRunning();
    if (how.replaced !== null) this.repaired(how, 'found dead when the controller started');
    return how;
  }

  /**
   * Restarts the router if its process is gone. Resolves true when it was restarted (its routes
   * must be pushed again), false when it was alive; records (and logs once) a failure to start it.
   */
  async check(): Promise<boolean> {
    if (this.router.alive()) {
      this.lastError = null;
      return false;
    }
    if (this.lastError !== null && Date.now() < this.nextAttemptAt) return false;
    try {
      const began = Date.now();
      const how = await this.router.ensureRunning();
      this.lastError = null;
      this.failures = 0;
      this.problems.clear(SUBJECT);
      if (how.started) this.repaired(how, 'was gone', Date.now() - began);
      return how.started;
    } catch (err) {
      this.lastError = SlipwayError.from(err);
      this.failures++;
      this.nextAttemptAt = Date.now() + Math.min(30_000, 500 * 2 ** (this.failures - 1));
      this.lastProblem = `${new Date().toISOString()}: ${this.problems.note(SUBJECT, err)}`;
      return false;
    }
  }

  /**
   * For deploys: the router runs (restarted now if need be), or a ROUTER_* error says why not
   * (at once while a failed start waits for its next attempt).
   */
  async ensure(): Promise<void> {
    await this.check();
    if (this.lastError !== null) throw this.lastError;
  }

  /** Repairs made since the last call (for `slipway up` to say what it fixed). */
  takeRepairs(): string[] {
    const r = this.repairs;
    this.repairs = [];
    return r;
  }

  /** For status: the router's processes, restarts and last problem. Never throws. */
  async view(): Promise<RouterView> {
    const h = await this.router.health().catch((err: unknown) => SlipwayError.from(err));
    if (h instanceof SlipwayError) {
      return {
        up: false,
        pid: null,
        workerPid: null,
        restarts: this.restarts,
        workerRestarts: 0,
        lastProblem: this.lastProblem ?? `${h.code}: ${h.message}`,
        routeProblems: [],
      };
    }
    // The most recent of the controller's problem (router restarted) and the supervisor's (worker replaced).
    const problems = [this.lastProblem, h.lastProblem].filter((p): p is string => p !== null).sort();
    return {
      // A dead supervisor's orphaned worker may still answer on a kept-alive socket: the pid decides.
      up: h.ok && this.router.alive(),
      pid: h.pid,
      workerPid: h.workerPid,
      restarts: this.restarts,
      workerRestarts: h.workerRestarts,
      lastProblem: problems.at(-1) ?? null,
      routeProblems: h.problems,
    };
  }

  private repaired(how: RouterStart, why: string, tookMs?: number): void {
    this.restarts++;
    const text = `${how.replaced !== null ? `the router (pid ${how.replaced}) ${why}` : 'the router was not running'}; started it again (pid ${how.pid}${tookMs === undefined ? '' : `, serving ${tookMs} ms later`}) with its saved routes`;
    this.lastProblem = `${new Date().toISOString()}: ${text}`;
    this.repairs.push(text);
    this.log.warn(text);
  }
}
