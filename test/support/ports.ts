/**
 * Ports for the `port:` of services in tests' slipway.yaml files. A port that was free a moment ago
 * (bind port 0, release it) is taken from the kernel's ephemeral range, and so can be handed again
 * to the next port-0 bind of any process: the controller's API, a router's admin port, an instance.
 * If that happens before the router listens on it, the deploy fails with ROUTER_PORT_IN_USE (seen
 * in CI: the controller's own API port). These ports come from below the ephemeral range, where no
 * port-0 bind goes, each test process starting from its own stretch (test files run in parallel).
 * Two processes whose stretches meet could still pick one port at the same moment, so each port is
 * also claimed with a file created exclusively (`<tmp>/slipway-test-ports/<port>`, holding the pid;
 * a dead pid's claim is taken over) and released when the process exits.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../src/core/process.js';

const SPAN = 200;
const [lowest, ephemeralStart] = range();
let next = lowest + ((process.pid * SPAN) % (ephemeralStart - lowest - SPAN));

/** The kernel's first ephemeral port (Linux default 32768), and the stretch below it that tests use. */
function range(): [number, number] {
  let start = 32768;
  try {
    start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || start;
  } catch {
    /* not Linux: the usual default */
  }
  return [Math.max(1024, start - 12_000), start];
}

const CLAIMS = join(tmpdir(), 'slipway-test-ports');
const claimed: string[] = [];
process.on('exit', () => {
  for (const f of claimed) {
    try {
      unlinkSync(f);
    } catch {
      /* already gone */
    }
  }
});

/** Claims `port` for this process; false when a live process claimed it first. */
function claim(port: number): boolean {
  mkdirSync(CLAIMS, { recursive: true, mode: 0o1777 });
  const file = join(CLAIMS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    let owner: number;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      return false; // being written or removed this instant: try another port
    }
    if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && pidAlive(owner))) return false;
    writeFileSync(file, String(process.pid)); // a dead process's claim
  }
  claimed.push(file);
  return true;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port free now, outside the ephemeral range (tries at most 1,000 ports). */
export async function servicePort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = next;
    next = next + 1 >= ephemeralStart ? lowest : next + 1;
    if (claim(port) && (await canBind(port))) return port;
  }
  throw new Error(`no free port between ${lowest} and ${ephemeralStart - 1}`);
}
