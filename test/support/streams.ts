/**
 * Long-lived connections for zero-downtime tests: a server-sent-events reader and a minimal
 * WebSocket client (RFC 6455 text frames under 126 bytes), each recording how its connection
 * ended: `clean` (the server finished the stream or closed the TCP connection in order), or
 * `error` with the reason (reset, truncated chunked body, …).
 */
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface Ending {
  how: 'clean' | 'error';
  detail: string;
  at: number;
}

export interface EventStream {
  /** Event data received so far, in order. */
  events: string[];
  /** Set once the stream ended. */
  ended: Ending | undefined;
  close(): void;
}

/** Opens an SSE stream at `url` and collects its events until it ends. */
export function openEventStream(url: string): Promise<EventStream> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, agent: false, headers: { accept: 'text/event-stream' } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          reject(new Error(`expected 200, got ${res.statusCode}`));
          res.resume();
          return;
        }
        const s: EventStream = { events: [], ended: undefined, close: () => req.destroy() };
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            for (const line of block.split('\n')) if (line.startsWith('data: ')) s.events.push(line.slice(6));
          }
        });
        // 'end' only comes after the chunked body's last chunk: the stream was finished, not cut.
        res.on('end', () => {
          s.ended ??= {
            how: buf === '' ? 'clean' : 'error',
            detail: buf === '' ? 'end of stream' : `ended inside an event: ${JSON.stringify(buf)}`,
            at: Date.now(),
          };
        });
        res.on('error', (err) => {
          s.ended ??= { how: 'error', detail: err.message, at: Date.now() };
        });
        res.on('close', () => {
          s.ended ??= { how: 'error', detail: 'closed before the end of the stream', at: Date.now() };
        });
        resolve(s);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export interface WebSocketClient {
  /** Sends a text message and resolves with the next text message received. */
  send(text: string): Promise<string>;
  /** Close frames received (code), in order. */
  closeCodes: number[];
  ended: Ending | undefined;
  close(): void;
}

/** Opens a WebSocket at `url` (ws path on an http URL). */
export function openWebSocket(url: string): Promise<WebSocketClient> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
      },
    });
    req.on('upgrade', (_res: IncomingMessage, socket: Socket, head: Buffer) => {
      let waiting: ((s: string) => void) | undefined;
      let buf = head;
      const ws: WebSocketClient = {
        closeCodes: [],
        ended: undefined,
        send: (text) =>
          new Promise((done) => {
            waiting = done;
            const payload = Buffer.from(text);
            const mask = Buffer.from([1, 2, 3, 4]);
            socket.write(
              Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]),
            );
          }),
        close: () => socket.destroy(),
      };
      const parse = () => {
        while (buf.length >= 2 && buf.length >= 2 + (buf[1]! & 0x7f)) {
          const opcode = buf[0]! & 0x0f;
          const payload = buf.subarray(2, 2 + (buf[1]! & 0x7f));
          buf = buf.subarray(2 + (buf[1]! & 0x7f));
          if (opcode === 8) ws.closeCodes.push(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
          else if (opcode === 1) {
            const w = waiting;
            waiting = undefined;
            w?.(payload.toString('utf8'));
          }
        }
      };
      parse();
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        parse();
      });
      // An orderly TCP close (FIN) arrives as 'end'; a reset as 'error'.
      socket.on('end', () => {
        ws.ended ??= { how: 'clean', detail: 'connection closed in order', at: Date.now() };
        socket.end();
      });
      socket.on('error', (err) => {
        ws.ended ??= { how: 'error', detail: err.message, at: Date.now() };
      });
      socket.on('close', () => {
        ws.ended ??= { how: 'error', detail: 'closed without an orderly end', at: Date.now() };
      });
      resolve(ws);
    });
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      reject(new Error(`expected 101, got ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}
