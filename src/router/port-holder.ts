import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Who listens on a TCP port, from /proc (Linux): the LISTEN sockets of /proc/net/tcp{,6} give the
 * socket inode and owner uid, and /proc/PID/fd links (`socket:[INODE]`) give the process. Only the
 * processes of our own user (or all, as root) can be seen through their fds; for the others the
 * uid is still known. Used only to explain an EADDRINUSE, never on a hot path.
 */
export interface PortHolder {
  pid: number | null;
  /** The command line, shortened; null when the process could not be seen. */
  command: string | null;
  uid: number;
}

const LISTEN = '0A';

export function findPortHolders(port: number): PortHolder[] {
  const sockets = new Map<string, number>(); // inode → uid
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const local = f[1]!;
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) !== port) continue;
      sockets.set(f[9]!, Number(f[7]));
    }
  }
  if (sockets.size === 0) return [];
  const found = new Map<string, PortHolder>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    /* no /proc */
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    } // another user's process, or gone
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m === null || !sockets.has(m[1]!) || found.has(`${m[1]}/${pid}`)) continue;
      found.set(`${m[1]}/${pid}`, { pid: Number(pid), command: commandOf(pid), uid: sockets.get(m[1]!)! });
    }
  }
  const seen = new Set([...found.keys()].map((k) => k.split('/')[0]));
  for (const [inode, uid] of sockets) if (!seen.has(inode)) found.set(inode, { pid: null, command: null, uid });
  return [...found.values()];
}

/** "pid 1234 (python3 -m http.server 8080)", or "a process of uid 65534" when it cannot be seen. */
export function describePortHolders(holders: PortHolder[]): string | undefined {
  if (holders.length === 0) return undefined;
  const parts = holders.map((h) =>
    h.pid === null ? `a process of uid ${h.uid} (not visible to this user)` : `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`,
  );
  return [...new Set(parts)].join(', ');
}

function commandOf(pid: string): string | null {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((x) => x !== '')
      .join(' ');
    return cmd.length > 120 ? `${cmd.slice(0, 117)}...` : cmd || null;
  } catch {
    return null;
  }
}
