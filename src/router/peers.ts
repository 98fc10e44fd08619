import type { PeerOp, PeerResult, ToSupervisor, ToWorker } from './supervisor-protocol.js';
import type { DrainResult, RouterStats, ServiceRoute } from './types.js';

/**
 * The admin worker's view of the other proxy workers (ADR 0014): a change it made is applied by
 * every other worker before the admin API answers, drains run in every worker, counters are
 * summed. Without other workers (a router run in-process, in unit tests) every call is a no-op.
 */
export interface Peers {
  /** Every other worker installs exactly `routes`; resolves once all did (or died). */
  table(routes: ServiceRoute[]): Promise<void>;
  /** Every other worker drains `backendIds`; their results. */
  drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult[]>;
  /** The counters of every worker (`own` for this one), summed and kept monotonic by the supervisor. */
  stats(own: RouterStats): Promise<RouterStats>;
}

/** Peers reached through the supervisor, over the admin worker's IPC channel. */
export class SupervisorPeers implements Peers {
  private seq = 0;
  private readonly fanouts = new Map<number, (results: PeerResult[]) => void>();
  private readonly sums = new Map<number, { own: RouterStats; resolve: (s: RouterStats) => void }>();

  /** `send` returns false when the supervisor is gone (nothing will answer). */
  constructor(private readonly send: (m: ToSupervisor) => boolean) {}

  /** Feed every message from the supervisor here. */
  onMessage(m: ToWorker): void {
    if (m.t === 'fanout-done') {
      this.fanouts.get(m.id)?.(m.results);
      this.fanouts.delete(m.id);
    } else if (m.t === 'stats-sum') {
      this.sums.get(m.id)?.resolve(m.stats);
      this.sums.delete(m.id);
    }
  }

  /**
   * The supervisor is gone, and the other workers are on their own (they serve the table they
   * have): nothing will answer, so what waits gets what this worker knows.
   */
  abandon(): void {
    for (const done of this.fanouts.values()) done([]);
    this.fanouts.clear();
    for (const s of this.sums.values()) s.resolve(s.own);
    this.sums.clear();
  }

  async table(routes: ServiceRoute[]): Promise<void> {
    await this.fanout({ t: 'table', routes });
  }

  async drain(service: string, backendIds: string[], timeoutMs: number): Promise<DrainResult[]> {
    return (await this.fanout({ t: 'drain', service, backendIds, timeoutMs })) as DrainResult[];
  }

  stats(own: RouterStats): Promise<RouterStats> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.sums.set(id, { own, resolve });
      if (!this.send({ t: 'stats', id, own })) {
        this.sums.delete(id);
        resolve(own);
      }
    });
  }

  private fanout(op: PeerOp): Promise<PeerResult[]> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.fanouts.set(id, resolve);
      if (!this.send({ t: 'fanout', id, op })) {
        this.fanouts.delete(id);
        resolve([]);
      }
    });
  }
}
