/** Where a host agent keeps its state, below the host layout's root (docs/servers.md). */
import { posix } from 'node:path';

export function agentPaths(root: string) {
  const dir = posix.join(root, 'agent');
  return {
    dir,
    /** The agent's Unix socket, mode 0600: only the SSH user (the agent's own) may connect. */
    socket: posix.join(dir, 'agent.sock'),
    /** The LocalDriver's state (instances.json, logs/). */
    driver: posix.join(dir, 'driver'),
    /** What `hosts setup` (or an upgrade) installed: the agent's version, Node, systemd unit or not (agent-install.ts). */
    install: posix.join(dir, 'install.json'),
    /** The router daemon's state (router.json, routes.json, router.log). */
    router: posix.join(dir, 'router'),
    /** The agent's pid file (remote-process.ts: pid and start time) and its log. */
    run: posix.join(root, 'run'),
    log: posix.join(root, 'logs', 'agent.log'),
  };
}
