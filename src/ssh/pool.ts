/**
 * One connection per host, shared by everything that talks to it (ADR 0020). A connection that
 * was lost (keepalive timeout, reset) is replaced on the next `get`; two callers asking at once
 * share one connect.
 */
import { targetName, type RemoteHost, type SshTarget, type Transport } from './transport.js';

export class SshPool {
  private readonly hosts = new Map<string, Promise<RemoteHost>>();

  constructor(private readonly transport: Transport) {}

  async get(target: SshTarget): Promise<RemoteHost> {
    const key = targetName(target);
    const pending = this.hosts.get(key);
    if (pending) {
      const h = await pending.catch(() => undefined);
      if (h?.alive) return h;
      if (this.hosts.get(key) === pending) this.hosts.delete(key);
      else return this.get(target);
    }
    const connecting = this.transport.connect(target);
    this.hosts.set(key, connecting);
    connecting.catch(() => {
      if (this.hosts.get(key) === connecting) this.hosts.delete(key);
    });
    return connecting;
  }

  /** Closes every connection (end of a command, controller shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.hosts.values()];
    this.hosts.clear();
    for (const p of all) (await p.catch(() => undefined))?.close();
  }
}
