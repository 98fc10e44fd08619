import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection } from './client-connection.js';
import type { FrontRequest } from './front-request.js';

/** What a listener hands its requests to (ServiceProxy). */
export interface FrontHandler {
  onRequest(conn: ClientConnection, req: FrontRequest, preview: boolean): void;
  /** A WebSocket handshake: `socket` is the client's, `head` what it sent after the request head. */
  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer, preview: boolean): void;
}

/**
 * One listening socket of a service (main or preview) and its client connections, on a plain
 * `net` server: the HTTP is ClientConnection's. Closing it stops accepting, ends idle connections
 * at once and busy ones after their current answer.
 */
export class FrontListener {
  readonly server: Server;
  /** Closing: no new connections; every connection ends after its current answer. */
  closing = false;
  private readonly conns = new Set<ClientConnection>();

  constructor(
    private readonly handler: FrontHandler,
    readonly preview: boolean,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.conns.add(new ClientConnection(socket, this));
    });
  }

  onRequest(conn: ClientConnection, req: FrontRequest): void {
    this.handler.onRequest(conn, req, this.preview);
  }

  onUpgrade(req: FrontRequest, socket: Socket, head: Buffer): void {
    this.handler.onUpgrade(req, socket, head, this.preview);
  }

  forget(conn: ClientConnection): void {
    this.conns.delete(conn);
  }

  /** Stops listening; `done` once every connection (tunnels included) has closed. */
  close(done: () => void): void {
    this.closing = true;
    this.server.close(() => done());
    for (const c of [...this.conns]) c.closeIfIdle();
  }

  /** Ends every connection now (the very end of a shutdown). */
  closeAllConnections(): void {
    for (const c of [...this.conns]) c.destroy();
  }

  /** Keep-alive and headers timeouts (once a second, with the exchanges' sweep). */
  sweep(now: number): void {
    for (const c of this.conns) c.sweep(now);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }
}
