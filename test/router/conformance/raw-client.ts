/**
 * A raw-socket HTTP/1.1 client for the conformance suite: sends exact bytes and reads responses
 * with its own parser, until it has the responses it waits for, the peer closes, or a deadline.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  /** Every byte of this response as received (head and body). */
  raw: string;
}

export interface RawResult {
  responses: RawResponse[];
  /** The connection was closed by the peer (or reset). */
  closed: boolean;
  /** Bytes after the last complete response (a truncated one, or garbage). */
  rest: string;
}

export interface RawStep {
  /** Bytes to send. */
  send: string | Buffer;
  /** Before sending, wait until this many responses (interim 1xx included) have been read. */
  afterResponses?: number;
}

/**
 * Sends `steps` on one connection and reads until `wantResponses` final responses arrived (then
 * `linger` more ms for unexpected extra bytes), the peer closed, or `deadlineMs` passed.
 * `headMethods[i]` is the method of the i-th request (HEAD answers have no body).
 */
export function exchangeRaw(
  port: number,
  steps: RawStep[],
  opts: { wantResponses: number; deadlineMs?: number; headMethods?: string[]; readDelayMs?: number },
): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const responses: RawResponse[] = [];
    let interim = 0;
    let closed = false;
    let stepIndex = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ responses, closed, rest: buf.toString('latin1') });
    };
    const deadline = setTimeout(finish, opts.deadlineMs ?? 5000);
    const sendReady = () => {
      while (stepIndex < steps.length && (steps[stepIndex]!.afterResponses ?? 0) <= responses.length + interim) {
        socket.write(steps[stepIndex]!.send);
        stepIndex++;
      }
    };
    const parse = () => {
      for (;;) {
        const method = opts.headMethods?.[responses.length] ?? 'GET';
        const r = parseResponse(buf, method, closed);
        if (r === null) break;
        buf = buf.subarray(r.consumed);
        if (r.response.status < 200) interim++;
        else responses.push(r.response);
        sendReady();
      }
      if (responses.length >= opts.wantResponses && stepIndex >= steps.length) {
        // A last short look for bytes that must not be there (an extra response).
        setTimeout(finish, 50);
      }
    };
    socket.on('connect', () => {
      if (opts.readDelayMs) {
        socket.pause();
        setTimeout(() => socket.resume(), opts.readDelayMs);
      }
      sendReady();
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      parse();
    });
    socket.on('error', () => {
      /* a reset counts as closed */
    });
    socket.on('close', () => {
      closed = true;
      parse();
      finish();
    });
  });
}

/** One response from the start of `buf`, or null when more bytes are needed. */
export function parseResponse(buf: Buffer, method: string, closed: boolean): { response: RawResponse; consumed: number } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? NaN);
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
  });
  const get = (n: string) => headers.find(([k]) => k.toLowerCase() === n)?.[1];
  let pos = end + 4;
  const done = (body: Buffer, consumed: number) => ({
    response: { status, headers, body, raw: buf.subarray(0, consumed).toString('latin1') },
    consumed,
  });
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD') return done(Buffer.alloc(0), pos);
  if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      pos = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', pos);
        if (trailerEnd < 0) return null;
        if (trailerEnd === pos) return done(Buffer.concat(parts), pos + 2);
        const fullEnd = buf.indexOf('\r\n\r\n', pos);
        return fullEnd < 0 ? null : done(Buffer.concat(parts), fullEnd + 4);
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  const cl = get('content-length');
  if (cl !== undefined) {
    const n = Number(cl);
    return buf.length < pos + n ? null : done(buf.subarray(pos, pos + n), pos + n);
  }
  // Delimited by the close.
  return closed ? done(buf.subarray(pos), buf.length) : null;
}
