import { Agent, request } from 'node:http';
import { isErrorBody, SlipwayError } from '../core/errors.js';

/** Where the admin API listens and the bearer token it wants (`DIR/token`). */
export interface AdminTarget {
  port: number;
  token: string;
}

/**
 * One pool of keep-alive connections for every call (the controller's `status` asks for routes and
 * stats each time: a new connection each was most of their cost under load). Idle sockets are
 * closed after 2 s, before the admin server's own keep-alive timeout (5 s), so a reused socket is
 * not one the server is closing.
 */
const agent = new Agent({ keepAlive: true, timeout: 2_000 });

/**
 * A JSON call to the router's admin API on 127.0.0.1. Uses node:http rather than fetch so a long
 * drain is never cut by a client-side headers timeout. Error bodies come back as SlipwayErrors.
 */
export async function adminCall<T>(target: AdminTarget, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
  try {
    return await once<T>(target, method, path, body, timeoutMs);
  } catch (err) {
    // A kept socket the router closed (it restarted) as we reused it: a read is safe to send again.
    if (method === 'GET' && (err as { reused?: boolean }).reused) return once<T>(target, method, path, body, timeoutMs);
    throw err;
  }
}

function once<T>(target: AdminTarget, method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  const { port, token } = target;
  // Every call that changes something carries a JSON body (the admin API refuses any other kind).
  const text = body === undefined ? (method === 'GET' ? undefined : '{}') : JSON.stringify(body);
  const headers: Record<string, string | number> = { Authorization: `Bearer ${token}` };
  if (text !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = raw === '' ? undefined : JSON.parse(raw);
          } catch {
            reject(SlipwayError.of('ROUTER_BAD_ANSWER', `router answered ${method} ${path} with ${res.statusCode}: ${raw.slice(0, 200)}`));
            return;
          }
          if ((res.statusCode ?? 500) >= 400)
            reject(
              isErrorBody(parsed)
                ? SlipwayError.fromBody(parsed)
                : SlipwayError.of('ROUTER_BAD_ANSWER', `router answered ${method} ${path} with ${res.statusCode}`),
            );
          else resolve(parsed as T);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (req.reusedSocket && err.code === 'ECONNRESET') return reject(Object.assign(err, { reused: true }));
      reject(
        SlipwayError.of(
          'ROUTER_UNREACHABLE',
          `router admin API on 127.0.0.1:${port} did not answer ${method} ${path}: ${err.code ?? err.message}`,
          {
            hint: 'Is the router running? ensureRunning() starts or adopts it.',
            cause: err,
          },
        ),
      );
    });
    req.end(text);
  });
}
