/**
 * The agent's `probe` (protocol.ts ProbeRequest): an analysis `http:` check of one release's
 * instances on this host, run here because they listen on the host's loopback (ADR 0026, "HTTP
 * checks of a canary"). Every running instance of the release gets the same GET the controller's
 * HTTP provider sends a local instance (analysis/providers/http-provider.ts), in parallel, each
 * with the check's timeout; the answers go back as they are, and the controller judges them.
 */
import type { InstanceStatus } from '../../drivers/driver.js';
import { probeHttp } from '../../analysis/providers/http-provider.js';
import type { ProbeAnswer, ProbeRequest } from './protocol.js';

export function probeRelease(instances: InstanceStatus[], p: ProbeRequest): Promise<ProbeAnswer[]> {
  const mine = instances.filter((i) => i.service === p.service && i.release === p.release && i.state === 'running');
  return Promise.all(
    mine.map((i) => {
      const signal = AbortSignal.timeout(p.timeoutMs);
      return probeHttp({ host: i.host, port: i.port }, p.path, p.expect, signal).then(
        (r) => ({ id: i.id, ok: r.ok, outcome: r.outcome }),
        (err: unknown) => ({
          id: i.id,
          ok: false,
          outcome: signal.aborted ? `GET ${p.path} timed out after ${p.timeoutMs} ms` : err instanceof Error ? err.message : String(err),
        }),
      );
    }),
  );
}
