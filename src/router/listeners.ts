import type { Server } from 'node:net';
import { SlipwayError } from '../core/errors.js';
import { describePortHolders, findPortHolders } from './port-holder.js';
import { listenerKey, type ToSupervisor, type ToWorker } from './supervisor-protocol.js';

/**
 * How a service's listener gets its socket. `what` names it in errors (`service "web"`). Resolves
 * once `server` listens; rejects with ROUTER_PORT_IN_USE / ROUTER_LISTEN_DENIED / ROUTER_LISTEN_FAILED.
 */
export type ListenFn = (server: Server, host: string, port: number, what: string) => Promise<void>;

/** Listens in this process (a router without supervisor, e.g. in a unit test). */
export const listenDirectly: ListenFn = (server, host, port, what) =>
  new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(what, host, port, err.code ?? err.message)));
    server.listen({ port, host }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });

type Handle = object;
interface Pending {
  resolve: (v: { handle: Handle; port: number }) => void;
  reject: (e: Error) => void;
  host: string;
  port: number;
  what: string;
}

/**
 * The worker's side of the listening sockets: asks the supervisor (which owns them, so they
 * outlive this process) for a socket and listens on the handle it sends. `sync()` tells the
 * supervisor which sockets are still in use, so one the worker closed (a port change, a removed
 * route) is closed for good and refuses connections again.
 */
export class SupervisedListeners {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly servers = new Map<Server, string>();
  private readonly syncs = new Map<number, () => void>();

  /** `send` returns false when the supervisor is gone (nothing will answer). */
  constructor(private readonly send: (m: ToSupervisor) => boolean) {}

  /** Feed every message from the supervisor (with its handle) here. */
  onMessage(m: ToWorker, handle: unknown): void {
    if (m.t === 'retained') {
      this.syncs.get(m.id)?.();
      this.syncs.delete(m.id);
      return;
    }
    if (m.t !== 'listened' && m.t !== 'listen-failed') return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.t === 'listened' && handle != null) p.resolve({ handle: handle as Handle, port: m.port });
    else p.reject(listenError(p.what, p.host, p.port, m.t === 'listen-failed' ? m.code : 'no socket received'));
  }

  readonly listen: ListenFn = async (server, host, port, what) => {
    const id = ++this.seq;
    const got = await new Promise<{ handle: Handle; port: number }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, host, port, what });
      if (!this.send({ t: 'listen', id, host, port })) {
        this.pending.delete(id);
        reject(SlipwayError.of('ROUTER_STOPPING', 'the router is shutting down (its supervisor is gone)'));
      }
    });
    const key = listenerKey(host, got.port);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(what, host, got.port, err.code ?? err.message)));
        // A handle that already listens (handed over again to a new worker) is fine: listen(2) on it again just re-arms it.
        server.listen(got.handle, () => {
          server.removeAllListeners('error');
          const at = (server.address() as { port: number } | null)?.port;
          if (at === got.port) resolve();
          else {
            // Never serve on a port nobody asked for (a socket that was not bound is auto-bound by listen).
            server.close();
            reject(listenError(what, host, got.port, `the socket handed over listens on port ${at ?? 'none'}`));
          }
        });
      });
    } catch (err) {
      await this.sync();
      throw err;
    }
    this.servers.set(server, key);
  };

  /** The supervisor is gone: nothing will answer what was asked of it. */
  abandon(): void {
    for (const p of this.pending.values())
      p.reject(SlipwayError.of('ROUTER_STOPPING', 'the router supervisor is gone; no new listener can be opened'));
    this.pending.clear();
    for (const done of this.syncs.values()) done();
    this.syncs.clear();
  }

  /**
   * Tells the supervisor which sockets are in use and resolves once it closed the rest (so a port
   * the worker stopped listening on refuses connections when a route change is acknowledged).
   * Call after every table change.
   */
  sync(): Promise<void> {
    for (const s of this.servers.keys()) if (!s.listening) this.servers.delete(s);
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.syncs.set(id, resolve);
      if (!this.send({ t: 'retain', id, keys: [...new Set(this.servers.values())] })) {
        this.syncs.delete(id);
        resolve();
      }
    });
  }
}

/** A listen failure as the admin API reports it; EADDRINUSE names the process holding the port when it can. */
export function listenError(what: string, host: string, port: number, code: string): SlipwayError {
  if (code === 'EADDRINUSE') {
    const holder = port > 0 ? describePortHolders(findPortHolders(port)) : undefined;
    return SlipwayError.of(
      'ROUTER_PORT_IN_USE',
      `${what}: cannot listen on ${host}:${port}: port ${port} is already in use${holder ? ` by ${holder}` : ''}`,
      {
        hint: holder
          ? 'Stop that process or give the service another port.'
          : `Stop whatever listens on port ${port} (\`ss -ltnp 'sport = :${port}'\`) or give the service another port.`,
        details: { port, host, holder: holder ?? null },
      },
    );
  }
  if (code === 'EACCES') {
    return SlipwayError.of('ROUTER_LISTEN_DENIED', `${what}: not allowed to listen on ${host}:${port}`, {
      hint: 'Ports below 1024 need privileges; use a higher port.',
    });
  }
  return SlipwayError.of('ROUTER_LISTEN_FAILED', `${what}: cannot listen on ${host}:${port}: ${code}`, {
    hint: 'Check that the listen host is an address of this machine.',
  });
}
