/**
 * The host agent's process (ADR 0026): `node agent-main.js --root /var/lib/slipway`, started by
 * the controller or `slipway hosts setup` detached (plain hosts) or by a systemd unit. It exits on
 * SIGTERM/SIGINT without stopping instances or the router (they outlive it, as they outlive a
 * controller); `shutdown` with stopAll is how `slipway down` stops everything on a host.
 */
import { parseArgs } from 'node:util';
import { HostAgent } from './agent.js';

const { values } = parseArgs({ options: { root: { type: 'string' } }, strict: true });
if (!values.root) {
  process.stderr.write('usage: agent-main.js --root DIR\n');
  process.exit(2);
}
const agent = new HostAgent({ root: values.root });
try {
  await agent.start();
} catch (err) {
  process.stderr.write(`slipway agent: ${(err as Error).message}\n`);
  process.exit(1);
}
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void agent.close());
await agent.done;
process.exit(0);
