/**
 * The backend of the HTTP conformance suite: a raw TCP server with its own small, strict request
 * parser (independent of Node's, so the suite is a second opinion on what the proxy sends). It
 * records every request it receives, with its exact body, and flags anything a lenient backend
 * could read differently from a strict one (both Content-Length and Transfer-Encoding, several
 * Content-Length, a transfer-coding other than chunked, malformed lines). Each request is answered
 * by `respond`: raw bytes, so the suite can script broken backends too.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface ReceivedRequest {
  connection: number;
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** How a scripted backend answers one request: raw bytes (or a function writing to the socket). */
export type Respond = (req: ReceivedRequest, socket: Socket) => string | Buffer | null;

/** The default answer: 200 echoing the request target, so a client can tell whose answer it got. */
export const echo: Respond = (req) => {
  const body = `echo ${req.method} ${req.target} ${req.body.length}\n`;
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${req.method === 'HEAD' ? '' : body}`;
};

export class RecordingBackend {
  readonly requests: ReceivedRequest[] = [];
  /** Framing or syntax a lenient backend might read differently: each one is a conformance failure. */
  readonly violations: string[] = [];
  respond: Respond = echo;
  port = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  constructor() {
    this.server = createServer((socket) => this.accept(socket));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Forgets what was received and closes kept-alive connections (a new case starts clean). */
  reset(respond: Respond = echo): void {
    this.requests.length = 0;
    this.violations.length = 0;
    this.respond = respond;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseRequest(buf);
        if (r === 'incomplete') return;
        if (typeof r === 'string') {
          this.violations.push(`connection ${connection}: ${r} in ${JSON.stringify(buf.subarray(0, 200).toString('latin1'))}`);
          socket.destroy();
          return;
        }
        buf = buf.subarray(r.consumed);
        const req: ReceivedRequest = { connection, ...r.request };
        this.requests.push(req);
        const answer = this.respond(req, socket);
        if (answer !== null && !socket.destroyed) socket.write(answer);
      }
    });
  }
}

type Parsed = { request: Omit<ReceivedRequest, 'connection'>; consumed: number };

/** One request from the start of `buf`: 'incomplete', a violation (string), or the request. */
export function parseRequest(buf: Buffer): Parsed | 'incomplete' | string {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > 65536 ? 'head larger than 64 KiB' : 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0]!);
  if (m === null) return `malformed request line ${JSON.stringify(lines[0])}`;
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    const h = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (h === null) return `malformed header line ${JSON.stringify(line)}`;
    if ([...h[2]!].some((c) => (c < ' ' && c !== '\t') || c === '\x7f')) return `control character in header ${h[1]}`;
    headers.push([h[1]!, h[2]!]);
  }
  const named = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  const cl = named('content-length');
  const te = named('transfer-encoding');
  if (cl.length > 1) return 'several Content-Length headers';
  if (cl.length > 0 && te.length > 0) return 'Content-Length and Transfer-Encoding together';
  if (te.length > 1 || (te.length === 1 && te[0]!.toLowerCase() !== 'chunked')) return `Transfer-Encoding ${JSON.stringify(te.join(', '))}`;
  if (named('host').length !== 1 && m[3] === 'HTTP/1.1') return `${named('host').length} Host headers`;
  const head = { method: m[1]!, target: m[2]!, version: m[3]!, headers };
  let pos = end + 4;
  if (te.length === 1) {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return 'incomplete';
      const sizeText = buf.subarray(pos, lineEnd).toString('latin1');
      const sizeMatch = /^([0-9a-fA-F]{1,8})(?:;[\x21-\x7e \t]*)?$/.exec(sizeText);
      if (sizeMatch === null) return `bad chunk size ${JSON.stringify(sizeText)}`;
      const size = parseInt(sizeMatch[1]!, 16);
      pos = lineEnd + 2;
      if (size === 0) {
        // No trailers are expected from a proxy that drops them.
        if (buf.length < pos + 2) return 'incomplete';
        if (buf.subarray(pos, pos + 2).toString('latin1') !== '\r\n') return 'trailer fields or garbage after the last chunk';
        return { request: { ...head, body: Buffer.concat(parts) }, consumed: pos + 2 };
      }
      if (buf.length < pos + size + 2) return 'incomplete';
      parts.push(buf.subarray(pos, pos + size));
      if (buf.subarray(pos + size, pos + size + 2).toString('latin1') !== '\r\n') return 'chunk not followed by CRLF';
      pos += size + 2;
    }
  }
  const length = cl.length === 1 ? Number(cl[0]) : 0;
  if (!Number.isSafeInteger(length) || !/^\d+$/.test(cl[0] ?? '0')) return `bad Content-Length ${JSON.stringify(cl[0])}`;
  if (buf.length < pos + length) return 'incomplete';
  return { request: { ...head, body: buf.subarray(pos, pos + length) }, consumed: pos + length };
}
