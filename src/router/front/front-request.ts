/** Receives a request body as the client sends it (Exchange). */
export interface BodySink {
  onRequestData(chunk: Buffer): void;
  onRequestEnd(): void;
}

/**
 * One parsed client request: what node:http's IncomingMessage carried that the router uses, and
 * its body held back until an exchange reads it (a connection still being set up upstream).
 */
export class FrontRequest {
  /** The message (head and body) has been parsed whole. */
  complete = false;
  /** Who receives the body, once an exchange reads it. */
  sink: BodySink | null = null;
  /** The answer ended before the body did: the rest is read and dropped. */
  discard = false;
  /** The connection ends after this request's answer (an upgrade that is not a WebSocket). */
  closeAfter = false;
  /** The Upgrade header's value when this is a WebSocket handshake. */
  upgrade: string | undefined = undefined;
  private chunks: Buffer[] | null = null;
  private buffered = 0;

  constructor(
    readonly method: string,
    readonly url: string,
    /** Flat `[name, value, ...]` as received. */
    readonly rawHeaders: string[],
    /** HTTP/1.1 (or a later 1.x), not 1.0. */
    readonly http11: boolean,
    /** llhttp's keep-alive verdict (HTTP/1.1 without `close`, HTTP/1.0 with `keep-alive`). */
    readonly keepAlive: boolean,
  ) {}

  /** The first value of header `name` (lower case), or undefined. */
  header(name: string): string | undefined {
    const h = this.rawHeaders;
    for (let i = 0; i < h.length; i += 2) {
      const n = h[i]!;
      if (n.length === name.length && n.toLowerCase() === name) return h[i + 1];
    }
    return undefined;
  }

  /** Keeps a body chunk until an exchange reads it (the parser hands out copies); returns the bytes held. */
  buffer(chunk: Buffer): number {
    (this.chunks ??= []).push(chunk);
    return (this.buffered += chunk.length);
  }

  takeBuffered(): Buffer[] | null {
    const c = this.chunks;
    this.chunks = null;
    this.buffered = 0;
    return c;
  }

  dropBody(): void {
    this.discard = true;
    this.sink = null;
    this.chunks = null;
    this.buffered = 0;
  }
}

/** The Upgrade value when `headers` ask for a WebSocket (the only protocol the router tunnels), else undefined. */
export function isWebSocket(headers: string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === 7 && n.toLowerCase() === 'upgrade') {
      const v = headers[i + 1]!;
      return v.trim().toLowerCase() === 'websocket' ? v : undefined;
    }
  }
  return undefined;
}
