/**
 * A RuntimeDriver over a fleet's host agents (ADR 0026): each host's instances are supervised by
 * the agent on that host (its LocalDriver), so they keep running, restarting and logging with no
 * controller connected; this driver only asks and listens. Every status names its host
 * (`host` is the host's name from slipway.yaml), and ids of instances a fleet rollout starts end
 * in `-on-<host>`.
 *
 * `list()` is synchronous, as the controller's loop wants it: each host's instances are cached
 * here and kept current by the agent's `watch` stream (every change, in order, numbered). A
 * `start` or `stop` returns only once the stream has delivered the changes the call made, so a
 * listener sees them before the caller does, as with the local driver. A host whose stream is
 * lost keeps its last known instances (marked by `hostState`) and is followed again every second.
 */
import { posix } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { AgentClient } from '../../fleet/agent/agent-client.js';
import type { InstanceSpec, InstanceStatus, LogRecord, RuntimeDriver } from '../driver.js';

export interface SshDriverHost {
  /** The host's name in slipway.yaml (`10.0.0.11`, or `10.0.0.11:2222`). */
  name: string;
  agent: AgentClient;
}

/** Where to start an instance: `host` names one of the driver's hosts (else the one with the fewest instances). */
export type PlacedSpec = InstanceSpec & { host?: string };

interface HostFollow {
  host: SshDriverHost;
  instances: Map<string, InstanceStatus>;
  seq: number;
  following: boolean;
  lastError: string | null;
  stop?: () => void;
  retry?: NodeJS.Timeout;
  seqWaiters: { seq: number; resolve: () => void }[];
}

export class SshDriver implements RuntimeDriver {
  private readonly hosts: HostFollow[];
  private readonly listeners: ((s: InstanceStatus) => void)[] = [];
  private readonly log: Logger;
  private detached = false;

  constructor(hosts: SshDriverHost[], opts: { log?: Logger } = {}) {
    this.hosts = hosts.map((host) => ({ host, instances: new Map(), seq: 0, following: false, lastError: null, seqWaiters: [] }));
    this.log = opts.log ?? createLogger('driver');
  }

  /** Follows every host; resolves once each has given its list or failed to (an unreachable host is followed again later). */
  async init(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.follow(h)));
  }

  private follow(h: HostFollow): Promise<void> {
    return new Promise<void>((resolve) => {
      let first = true;
      const settle = () => {
        if (first) {
          first = false;
          resolve();
        }
      };
      h.stop = h.host.agent.watch(
        (list, seq) => {
          h.following = true;
          h.lastError = null;
          const seen = new Set<string>();
          for (const s of list) {
            seen.add(s.id);
            this.apply(h, s);
          }
          for (const id of [...h.instances.keys()])
            if (!seen.has(id)) this.apply(h, { ...h.instances.get(id)!, state: 'stopped', pid: null });
          this.advance(h, seq);
          settle();
        },
        (line) => {
          this.apply(h, line.status);
          this.advance(h, line.seq);
        },
        (err) => {
          h.following = false;
          h.lastError = SlipwayError.from(err).message;
          this.advance(h, Number.MAX_SAFE_INTEGER);
          h.seq = 0;
          settle();
          if (this.detached) return;
          clearTimeout(h.retry);
          h.retry = setTimeout(() => void this.follow(h), 1000);
          h.retry.unref();
        },
      );
    });
  }

  private apply(h: HostFollow, raw: InstanceStatus): void {
    const s: InstanceStatus = { ...raw, host: h.host.name };
    if (s.state === 'stopped') {
      if (!h.instances.delete(s.id)) return;
    } else h.instances.set(s.id, s);
    this.emit(s);
  }

  private advance(h: HostFollow, seq: number): void {
    h.seq = Math.max(h.seq, seq);
    h.seqWaiters = h.seqWaiters.filter((w) => (w.seq <= h.seq ? (w.resolve(), false) : true));
  }

  /** Waits (2 s at most) until the host's stream has delivered change `seq`. */
  private seen(h: HostFollow, seq: number): Promise<void> {
    if (!h.following || h.seq >= seq) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      h.seqWaiters.push({
        seq,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  private emit(s: InstanceStatus): void {
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log.warn(`ssh driver: an onChange listener failed: ${(err as Error).message}`);
      }
    }
  }

  private hostFor(spec: PlacedSpec): HostFollow {
    if (spec.host !== undefined) {
      const h = this.hosts.find((x) => x.host.name === spec.host);
      if (!h)
        throw SlipwayError.of('DRIVER_START_FAILED', `no host "${spec.host}" in this fleet`, {
          hint: `Hosts: ${this.hosts.map((x) => x.host.name).join(', ')}`,
        });
      return h;
    }
    const owner = this.owner(spec.id);
    if (owner) return owner;
    return [...this.hosts].sort((a, b) => a.instances.size - b.instances.size)[0]!;
  }

  private owner(id: string): HostFollow | undefined {
    return this.hosts.find((h) => h.instances.has(id));
  }

  async start(spec: PlacedSpec): Promise<InstanceStatus> {
    if (this.detached) throw SlipwayError.of('DRIVER_DETACHED', 'this SshDriver was detached; create a new one to manage instances');
    const h = this.hostFor(spec);
    const { host: _host, ...plain } = spec;
    const { status, seq } = await h.host.agent.call({ op: 'start', spec: plain });
    await this.seen(h, seq);
    const s = { ...status, host: h.host.name };
    if (status.state !== 'stopped') h.instances.set(s.id, h.instances.get(s.id) ?? s);
    return s;
  }

  async stop(id: string, opts: { timeoutMs: number }): Promise<void> {
    const h = this.owner(id);
    if (!h) return;
    const { seq } = await h.host.agent.call({ op: 'stop', id, timeoutMs: opts.timeoutMs }, opts.timeoutMs + 30_000);
    await this.seen(h, seq);
    const last = h.instances.get(id);
    if (last) this.apply(h, { ...last, state: 'stopped', pid: null });
  }

  list(): InstanceStatus[] {
    return this.hosts.flatMap((h) => [...h.instances.values()]);
  }

  /** Whether the host's agent is followed now, and the last error if not. */
  hostState(name: string): { reachable: boolean; error: string | null } | undefined {
    const h = this.hosts.find((x) => x.host.name === name);
    return h && { reachable: h.following, error: h.lastError };
  }

  /** Logs live on the host; a stopped instance's too (asked of every host until one has them). */
  private async ask<T>(id: string, fn: (h: HostFollow) => Promise<T>, empty: T, isEmpty: (v: T) => boolean): Promise<T> {
    const owner = this.owner(id);
    if (owner) return fn(owner);
    for (const h of this.hosts) {
      const v = await fn(h).catch(() => empty);
      if (!isEmpty(v)) return v;
    }
    return empty;
  }

  logTail(id: string, lines: number): Promise<string[]> {
    return this.ask(
      id,
      (h) => h.host.agent.call({ op: 'logTail', id, lines }),
      [],
      (v) => v.length === 0,
    );
  }

  readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]> {
    return this.ask(
      id,
      (h) => h.host.agent.call({ op: 'readLogs', id, ...q }),
      [],
      (v) => v.length === 0,
    );
  }

  /** Paths on the instance's host (the agent's LocalDriver names them so: `<root>/agent/driver/logs/<id>.out.log`). */
  logFiles(id: string): { stdout: string; stderr: string } | undefined {
    const h = this.owner(id);
    if (!h) return undefined;
    const dir = posix.join(h.host.agent.paths.driver, 'logs');
    return { stdout: posix.join(dir, `${id}.out.log`), stderr: posix.join(dir, `${id}.err.log`) };
  }

  onChange(listener: (status: InstanceStatus) => void): void {
    this.listeners.push(listener);
  }

  async detach(): Promise<void> {
    this.detached = true;
    for (const h of this.hosts) {
      clearTimeout(h.retry);
      h.stop?.();
      this.advance(h, Number.MAX_SAFE_INTEGER);
    }
  }
}
