import { createServer, type AddressInfo } from 'node:net';

/**
 * Asks the OS for a free TCP port on `host` by binding port 0 and releasing it. Another process
 * could take the port before the instance binds it; the window is tiny, and if it happens the
 * instance fails to listen, exits and is restarted on the same port (then marked failed if it keeps
 * failing), which the caller sees.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
