/**
 * A RemoteHost over one ssh2 connection (ADR 0020). The TCP socket is ours (so its bytes are
 * counted and its connect has a deadline); keepalives every second, three unanswered and the host
 * is gone: every command in flight fails at once with SSH_CONNECTION_LOST, naming the host.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { SlipwayError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { algorithmsFor, fingerprint, keyType, lookupHost, pinHost } from './known-hosts.js';
import { commandLine } from './quote.js';
import { targetName, type RemoteHost, type RunOptions, type RunResult, type SshTarget, type Transport } from './transport.js';

/** sshd allows 10 sessions per connection by default (MaxSessions); stay below. */
const MAX_CHANNELS = 8;
const MAX_OUTPUT = 64 * 1024 * 1024;

export class Ssh2Transport implements Transport {
  constructor(private readonly log: Logger = silentLogger) {}

  async connect(target: SshTarget): Promise<RemoteHost> {
    const name = targetName(target);
    const started = Date.now();
    const timeout = target.connectTimeoutMs ?? 5000;
    const sock = await openSocket(target, name, timeout);
    const client = new Client();
    const known = lookupHost(target.knownHosts, target.host, target.port);
    let refusal: SlipwayError | undefined;
    const config: ConnectConfig = {
      sock,
      username: target.user,
      readyTimeout: Math.max(1000, timeout - (Date.now() - started)),
      // ssh2 counts a host dead when its pings go unanswered, but a ping queues behind whatever
      // the socket is sending: a busy upload to a loaded host looked dead. ssh2 only pings here;
      // the host is judged by Ssh2Host's watchdog: nothing at all received for the whole window.
      keepaliveInterval: target.keepaliveIntervalMs ?? 1000,
      keepaliveCountMax: Number.MAX_SAFE_INTEGER,
      hostVerifier: (key: Buffer) => {
        refusal = checkHostKey(target, name, key, known);
        return refusal === undefined;
      },
      ...(known.keys.length ? { algorithms: { serverHostKey: algorithmsFor(known.keys.map((k) => k.type)) as never } } : {}),
    };
    if (target.identityFile) config.privateKey = readKey(target.identityFile);
    if (target.agent) config.agent = target.agent;
    if (!config.privateKey && !config.agent)
      throw SlipwayError.of('SSH_KEY_UNREADABLE', `no SSH key for ${name}: neither identityFile nor an SSH agent`, {
        hint: 'Set identityFile under target.ssh, or start an ssh-agent (SSH_AUTH_SOCK) holding the key.',
      });
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err: Error & { level?: string }) => {
        sock.destroy();
        if (refusal) return reject(refusal);
        if (err.level === 'client-authentication')
          return reject(
            SlipwayError.of('SSH_AUTH_FAILED', `${name} refused the key for ${target.user}`, {
              hint: `Check that the public key is in ~${target.user}/.ssh/authorized_keys on ${target.host}, and that identityFile (or the agent) holds its private key.`,
              details: { host: name },
            }),
          );
        reject(connectFailed(name, err));
      });
      client.connect(config);
    });
    this.log.info(`ssh ${name} connected in ${Date.now() - started}ms`);
    return new Ssh2Host(name, client, sock, this.log, (target.keepaliveIntervalMs ?? 1000) * (target.keepaliveCountMax ?? 3));
  }
}

function openSocket(target: SshTarget, name: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        SlipwayError.of('SSH_UNREACHABLE', `${name} did not accept a TCP connection within ${timeoutMs}ms`, {
          hint: 'Check that the host is up, its address and port, and the network between (firewall, link).',
          details: { host: name },
        }),
      );
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(connectFailed(name, err));
    });
  });
}

function connectFailed(name: string, err: Error & { code?: string }): SlipwayError {
  const reason = err.code === 'ECONNREFUSED' ? 'refused the connection (is sshd running?)' : err.message;
  return SlipwayError.of('SSH_UNREACHABLE', `${name}: ${reason}`, {
    hint: 'Check that the host is up and sshd listens on that address and port.',
    details: { host: name, reason: err.code ?? err.message },
    cause: err,
  });
}

function readKey(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw SlipwayError.of('SSH_KEY_UNREADABLE', `cannot read the SSH key ${file}: ${(err as Error).message}`, {
      hint: 'Set identityFile to a readable private key file, or use an SSH agent.',
      cause: err,
    });
  }
}

/** undefined when the key is trusted (known, or pinned now because first use was asked for). */
function checkHostKey(target: SshTarget, name: string, blob: Buffer, known: ReturnType<typeof lookupHost>): SlipwayError | undefined {
  const b64 = blob.toString('base64');
  const type = keyType(blob);
  const fp = fingerprint(blob);
  if (known.revoked.some((k) => k.key === b64))
    return SlipwayError.of('SSH_HOST_KEY_REVOKED', `${name} presented a host key that ${target.knownHosts} marks @revoked (${fp})`, {
      hint: 'Do not connect: the key was revoked. Reinstall the host or fix its key, then update known_hosts.',
      details: { host: name, fingerprint: fp },
    });
  if (known.keys.some((k) => k.key === b64 && k.type === type)) return undefined;
  if (known.keys.length > 0)
    return SlipwayError.of(
      'SSH_HOST_KEY_CHANGED',
      `the host key of ${name} has changed: it presented ${type} ${fp}, which ${target.knownHosts} (line ${known.keys.map((k) => k.line).join(', ')}) does not list`,
      {
        hint: `Someone may be intercepting the connection, or the host was reinstalled. If you know it was, remove its old line (ssh-keygen -R ${target.port === 22 ? target.host : `'[${target.host}]:${target.port}'`} -f ${target.knownHosts}) and connect again.`,
        details: { host: name, fingerprint: fp, knownHosts: target.knownHosts },
      },
    );
  if (target.trustNewHosts) {
    pinHost(target.knownHosts, target.host, target.port, blob);
    return undefined;
  }
  return SlipwayError.of('SSH_HOST_KEY_UNKNOWN', `${target.knownHosts} has no key for ${name} (it presented ${type} ${fp})`, {
    hint: `Check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_${type.replace(/^ssh-/, '')}_key.pub), then add it (ssh-keyscan -p ${target.port} ${target.host} >> ${target.knownHosts}), or pin it on first use with \`slipway hosts check --trust-new-hosts\`.`,
    details: { host: name, fingerprint: fp, knownHosts: target.knownHosts },
  });
}

class Ssh2Host implements RemoteHost {
  private up = true;
  private lostReason = 'closed';
  private readonly inFlight = new Set<(err: Error) => void>();
  private channels = 0;
  private readonly waiting: (() => void)[] = [];
  private sftpSession: Promise<SFTPWrapper> | undefined;

  private readonly watchdog: NodeJS.Timeout;

  constructor(
    readonly name: string,
    private readonly client: Client,
    private readonly sock: Socket,
    private readonly log: Logger,
    /** Nothing received for this long (keepalive replies included) and the host counts as gone. */
    silenceMs: number,
  ) {
    let lastHeard = Date.now();
    sock.on('data', () => (lastHeard = Date.now()));
    const tickMs = Math.max(100, Math.floor(silenceMs / 6));
    let lastTick = Date.now();
    this.watchdog = setInterval(() => {
      const now = Date.now();
      // A timer that fires late means this process was busy (timers run before pending reads):
      // the host may well have answered meanwhile, so the stall does not count as its silence.
      const stalled = now - lastTick - tickMs;
      lastTick = now;
      if (stalled > 100) lastHeard += stalled;
      if (now - lastHeard <= silenceMs) return;
      lost(`nothing received for ${now - lastHeard}ms (keepalives unanswered)`);
      sock.destroy();
    }, tickMs);
    this.watchdog.unref();
    const lost = (why: string) => {
      clearInterval(this.watchdog);
      if (!this.up) return;
      this.up = false;
      this.lostReason = why;
      this.log.warn(`ssh ${name} connection lost: ${why}`);
      for (const fail of this.inFlight) fail(this.lostError());
      this.inFlight.clear();
    };
    client.on('error', (err) => lost(err.message));
    client.on('close', () => lost('connection closed'));
    client.on('end', () => lost('connection ended'));
  }

  get alive(): boolean {
    return this.up;
  }

  get bytesSent(): number {
    return this.sock.bytesWritten;
  }

  private lostError(): SlipwayError {
    return SlipwayError.of('SSH_CONNECTION_LOST', `lost the connection to ${this.name}: ${this.lostReason}`, {
      hint: 'The host stopped answering (down, frozen, or the network between is cut). Slipway reconnects on the next command.',
      details: { host: this.name, reason: this.lostReason },
    });
  }

  private async slot(): Promise<() => void> {
    if (this.channels >= MAX_CHANNELS) await new Promise<void>((r) => this.waiting.push(r));
    this.channels++;
    return () => {
      this.channels--;
      this.waiting.shift()?.();
    };
  }

  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const command = commandLine(argv);
    if (!this.up) throw this.lostError();
    const release = await this.slot();
    const started = Date.now();
    try {
      const result = await this.exec(command, opts, started);
      this.log.info(`ssh ${this.name} exit=${result.signal ?? result.code} ${result.durationMs}ms ${brief(argv)}`);
      if (result.code !== 0 && opts.check !== false)
        throw SlipwayError.of(
          'SSH_COMMAND_FAILED',
          `${brief(argv)} failed on ${this.name} (exit ${result.signal ?? result.code}): ${lastLines(result.stderr || result.stdout)}`,
          {
            hint: 'The command ran on the host and failed; its output is in the message and the details.',
            details: { host: this.name, command: argv, code: result.code, signal: result.signal, stderr: result.stderr.slice(-4000) },
          },
        );
      return result;
    } catch (err) {
      if (err instanceof SlipwayError && err.code !== 'SSH_COMMAND_FAILED')
        this.log.warn(`ssh ${this.name} ${err.code} ${Date.now() - started}ms ${brief(argv)}`);
      throw err;
    } finally {
      release();
    }
  }

  private exec(command: string, opts: RunOptions, started: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(fail);
        channel?.destroy();
        reject(err);
      };
      this.inFlight.add(fail);
      const timeoutMs = opts.timeoutMs ?? 60_000;
      const timer = setTimeout(
        () =>
          fail(
            SlipwayError.of('SSH_COMMAND_TIMEOUT', `${command.slice(0, 120)} did not finish on ${this.name} within ${timeoutMs}ms`, {
              hint: 'The host or the command hangs; its channel was closed.',
              details: { host: this.name },
            }),
          ),
        timeoutMs,
      );
      this.client.exec(command, (err, ch) => {
        if (err) return fail(this.up ? connectFailed(this.name, err) : this.lostError());
        channel = ch;
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        let size = 0;
        const collect = (into: Buffer[]) => (d: Buffer) => {
          size += d.length;
          if (size > MAX_OUTPUT) return fail(new Error(`more than ${MAX_OUTPUT} bytes of output from ${this.name}`));
          into.push(d);
        };
        ch.on('data', collect(out));
        ch.stderr.on('data', collect(errOut));
        let code: number | null = null;
        let signal: string | undefined;
        ch.on('exit', (c: number | null, sig?: string) => {
          code = c;
          signal = sig ?? undefined;
        });
        ch.on('close', () => {
          if (settled) return;
          if (code === null && signal === undefined)
            return fail(this.up ? new Error(`${this.name} closed the channel without an exit status`) : this.lostError());
          settled = true;
          clearTimeout(timer);
          this.inFlight.delete(fail);
          resolve({
            code: code ?? 128,
            ...(signal ? { signal } : {}),
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errOut).toString('utf8'),
            durationMs: Date.now() - started,
          });
        });
        const input = opts.input;
        if (input === undefined) ch.end();
        else if (typeof input === 'string' || Buffer.isBuffer(input)) ch.end(input);
        else {
          input.on('error', (e) => fail(e));
          input.pipe(ch);
        }
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) =>
      this.client.sftp((err, s) => {
        if (err) {
          this.sftpSession = undefined;
          return reject(err);
        }
        s.on('close', () => (this.sftpSession = undefined));
        resolve(s);
      }),
    );
    return this.sftpSession;
  }

  async upload(remotePath: string, data: Buffer | Readable, mode = 0o644): Promise<void> {
    if (!this.up) throw this.lostError();
    const started = Date.now();
    const sftp = await this.sftp();
    const tmp = `${remotePath}.${randomBytes(6).toString('hex')}.part`;
    const source = Buffer.isBuffer(data) ? Readable.from([data]) : data;
    try {
      await new Promise<void>((resolve, reject) => {
        const fail = (err: Error) => {
          this.inFlight.delete(fail);
          reject(err);
        };
        this.inFlight.add(fail);
        const w = sftp.createWriteStream(tmp, { mode });
        w.on('error', fail);
        source.on('error', fail);
        w.on('close', () => {
          this.inFlight.delete(fail);
          resolve();
        });
        source.pipe(w);
      });
      await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(tmp, remotePath, (e) => (e ? reject(e) : resolve())));
      this.log.info(`ssh ${this.name} upload ${remotePath} ${Date.now() - started}ms`);
    } catch (err) {
      if (err instanceof SlipwayError) throw err;
      throw SlipwayError.of('SSH_UPLOAD_FAILED', `could not write ${remotePath} on ${this.name}: ${(err as Error).message}`, {
        hint: 'Check that the directory exists on the host, that the user may write it, and that the disk is not full.',
        details: { host: this.name, path: remotePath },
        cause: err,
      });
    }
  }

  async openStream(to: { path: string } | { host: string; port: number }): Promise<Duplex> {
    if (!this.up) throw this.lostError();
    const release = await this.slot();
    const where = 'path' in to ? to.path : `${to.host}:${to.port}`;
    try {
      const ch = await new Promise<ClientChannel>((resolve, reject) => {
        const fail = (err: Error) => {
          this.inFlight.delete(fail);
          reject(err);
        };
        this.inFlight.add(fail);
        const done = (err: Error | undefined, ch: ClientChannel) => {
          this.inFlight.delete(fail);
          if (err)
            reject(
              this.up
                ? SlipwayError.of('SSH_STREAM_FAILED', `${this.name} could not open a stream to ${where}: ${err.message}`, {
                    hint: 'Nothing listens there on the host, or its sshd forbids forwarding (AllowStreamLocalForwarding, AllowTcpForwarding).',
                    details: { host: this.name, to: where },
                    cause: err,
                  })
                : this.lostError(),
            );
          else resolve(ch);
        };
        if ('path' in to) this.client.openssh_forwardOutStreamLocal(to.path, done);
        else this.client.forwardOut('127.0.0.1', 0, to.host, to.port, done);
      });
      // The channel counts against the connection's sessions until it closes; a lost connection ends it.
      // ssh2's Channel.destroy() drops its argument: the reader is handed the loss first, so a call
      // cut short says the connection was lost (SSH_CONNECTION_LOST), not that the agent hung up.
      const lost = (err: Error) => {
        if (ch.listenerCount('error') > 0) ch.emit('error', err);
        (ch as Duplex).destroy();
      };
      this.inFlight.add(lost);
      ch.once('close', () => {
        this.inFlight.delete(lost);
        release();
      });
      return ch;
    } catch (err) {
      release();
      throw err;
    }
  }

  close(): void {
    clearInterval(this.watchdog);
    this.up = false;
    this.lostReason = 'closed';
    this.client.end();
    this.sock.destroy();
  }
}

function brief(argv: readonly string[]): string {
  const text = commandLine(
    argv.length > 2 && argv[0] === 'sh' && argv[1] === '-c'
      ? [argv[0], argv[1], `${argv[2]!.split('\n')[0]!.slice(0, 60)}…`, ...argv.slice(3)]
      : argv,
  );
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n');
  return lines.slice(-5).join('\n') || '(no output)';
}
