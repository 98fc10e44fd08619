/**
 * What Slipway needs of a connection to one host (ADR 0020): run a command given as argv, send a
 * stream or a file, know when the host is gone. The ssh2 implementation is `ssh2-host.ts`; the
 * conformance suite in test/ssh runs against real sshd hosts, so another implementation (the
 * OpenSSH client, say) only has to pass it.
 */
import type { Duplex, Readable } from 'node:stream';

/** Where a host is and how to trust it. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** A private key file (OpenSSH or PEM, unencrypted). Either this or `agent`, or both. */
  identityFile?: string;
  /** The SSH agent's socket (usually $SSH_AUTH_SOCK). */
  agent?: string;
  /** The known_hosts file host keys are checked against. */
  knownHosts: string;
  /** Pin the key of a host the file does not know (first use). Never on unless asked for. */
  trustNewHosts?: boolean;
  /** Keepalive probe interval and how many may go unanswered before the host counts as gone. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** TCP connect plus SSH handshake. */
  connectTimeoutMs?: number;
}

export interface RunOptions {
  /** Sent to the command's stdin (then closed). */
  input?: string | Buffer | Readable;
  /** The command is abandoned (its channel closed) after this; default 60 s. */
  timeoutMs?: number;
  /** Throw SSH_COMMAND_FAILED on a non-zero exit (default true). */
  check?: boolean;
}

export interface RunResult {
  code: number;
  /** Set when a signal ended the command. */
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RemoteHost {
  /** `user@host:port`, as logs and errors name it. */
  readonly name: string;
  /** Whether the connection is up (false after a keepalive timeout, a reset or close()). */
  readonly alive: boolean;
  /** Bytes this connection has written to the network (SSH framing and encryption included). */
  readonly bytesSent: number;
  /** Runs exactly argv (quoted by commandLine); resolves with its exit code and output. */
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Writes `data` to `remotePath` over SFTP (via a temporary name, then renamed). */
  upload(remotePath: string, data: Buffer | Readable, mode?: number): Promise<void>;
  /**
   * A byte stream to a Unix socket (`{ path }`) or a TCP address (`{ host, port }`, as the host
   * sees it: its loopback included) on the host, through the connection (sshd's stream-local and
   * TCP forwarding). The host agent is reached this way (ADR 0026).
   */
  openStream(to: { path: string } | { host: string; port: number }): Promise<Duplex>;
  close(): void;
}

export interface Transport {
  connect(target: SshTarget): Promise<RemoteHost>;
}

export function targetName(t: Pick<SshTarget, 'user' | 'host' | 'port'>): string {
  return `${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
