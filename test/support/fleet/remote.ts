/**
 * Reaching a fleet host's processes, loopback ports and files from a test, over the pooled SSH
 * connection: what driver-contract.ts needs of a driver whose instances run on a host.
 */
import type { Duplex } from 'node:stream';
import type { RemoteHost } from '../../../src/ssh/transport.js';

/** An HTTP/1.0 GET over a stream the host opens to its own `127.0.0.1:port`. */
export async function getOnHost(host: RemoteHost, port: number, path = '/'): Promise<{ status: number; body: string }> {
  const stream: Duplex = await host.openStream({ host: '127.0.0.1', port });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error('timeout'));
    }, 2000);
    stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return reject(new Error(`no HTTP answer from 127.0.0.1:${port} on ${host.name}: ${JSON.stringify(text.slice(0, 100))}`));
      const sep = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), body: sep < 0 ? '' : text.slice(sep + 4) });
    });
    stream.end(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

export function remoteHooks(host: () => Promise<RemoteHost>, tempRoot: () => string) {
  return {
    tempRoot,
    alive: async (pid: number) => (await (await host()).run(['kill', '-0', String(pid)], { check: false })).code === 0,
    killGroup: async (pid: number) => {
      await (await host()).run(['kill', '-KILL', '--', `-${pid}`], { check: false });
    },
    get: async (_host: string, port: number, path?: string) => getOnHost(await host(), port, path),
    exists: async (path: string) => (await (await host()).run(['test', '-e', path], { check: false })).code === 0,
  };
}
