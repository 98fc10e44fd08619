/**
 * The controller's side of a host agent (ADR 0026): calls over a stream the SSH connection opens
 * to the agent's Unix socket, and the agent started when nothing answers there (a plain host after
 * a boot, or the first time): by its systemd unit where it has one, else detached (pid file
 * checked by start time, remote-process.ts). With a bundle (agent-bundle.ts) the agent is first
 * installed on the host (agent-install.ts), and one of another version is upgraded: stopped alone
 * (its instances and router keep running) and the installed one started, which adopts them.
 */
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../../core/errors.js';
import type { RemoteHost } from '../../ssh/transport.js';
import { shellScript } from '../../ssh/quote.js';
import { startRemoteProcess } from '../remote-process.js';
import { HostLayout } from '../host-layout.js';
import type { AgentBundle } from './agent-bundle.js';
import { asRoot, installAgent, type InstalledAgent } from './agent-install.js';
import { agentPaths } from './agent-paths.js';
import { AGENT_PROTOCOL, type AgentAnswers, type AgentReply, type AgentRequest, type Hello, type WatchLine } from './protocol.js';
import type { InstanceStatus } from '../../drivers/driver.js';
import type { Duplex } from 'node:stream';

/** What runs the agent on a host: its Node and the agent's entry point there. */
export interface AgentInstall {
  node: string;
  entry: string;
}

/** Where the agent comes from: the bundle installed on the host (what Slipway uses), or fixed paths there (tests of the agent itself). */
export type AgentSource = AgentInstall | { bundle: () => Promise<AgentBundle> };

/** What `ensureCurrent` found and did. */
export interface AgentState {
  installed: InstalledAgent;
  /** `upgraded`: an agent of another version was stopped and this one started; `started`: none answered. */
  outcome: 'current' | 'upgraded' | 'started';
  hello: Hello;
  /** The pid of the agent that was replaced. */
  replaced?: number;
}

/** This machine's Node and Slipway, at the same paths: for tests whose hosts see this machine's files (ADR 0026). */
export function localInstall(): AgentInstall {
  return { node: process.execPath, entry: fileURLToPath(new URL('./agent-main.js', import.meta.url)) };
}

/** Waits (15 s at most) until process $1 is gone. */
const GONE = `i=0; while [ -e "/proc/$1" ] && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i + 1)); done; [ ! -e "/proc/$1" ]`;

/** Node (>= 20) and the agent's entry point exist on the host; otherwise says which is missing. */
const PREREQUISITES = `[ -x "$1" ] || { echo "no Node at $1"; exit 1; }
v=$("$1" -p 'process.versions.node.split(".")[0]') || { echo "$1 does not run"; exit 1; }
[ "$v" -ge 20 ] || { echo "Node at $1 is version $v; the agent needs 20 or later"; exit 1; }
[ -f "$2" ] || { echo "no Slipway at $2"; exit 1; }`;

export class AgentClient {
  readonly paths: ReturnType<typeof agentPaths>;

  /** What the last `ensureCurrent` installed (bundle sources). */
  installed: InstalledAgent | undefined;
  private ensured: Promise<AgentState> | undefined;
  private ensuring: Promise<AgentState> | undefined;

  constructor(
    /** The host's pooled connection (reconnects after a loss). */
    private readonly host: () => Promise<RemoteHost>,
    readonly root: string,
    private readonly source: AgentSource = localInstall(),
  ) {
    this.paths = agentPaths(root);
  }

  /**
   * With a bundle source: installs the agent (nothing sent when the host has this version) and
   * makes sure the running agent is this version: one of another version (or none) is replaced by
   * the installed one. A `hello` alone when the agent running is this version, installed; with
   * `reinstall` (`hosts setup`), or when it is not, the install's short commands first (four, five
   * with a unit). Concurrent callers share one check.
   */
  ensureCurrent(opts: { reinstall?: boolean } = {}): Promise<AgentState | undefined> {
    if (!('bundle' in this.source)) return Promise.resolve(undefined);
    const bundle = this.source.bundle;
    this.ensuring ??= this.ensureOnce(bundle, opts.reinstall === true).finally(() => (this.ensuring = undefined));
    return this.ensuring;
  }

  private async ensureOnce(bundle: () => Promise<AgentBundle>, reinstall: boolean): Promise<AgentState> {
    const h = await this.host();
    if (!reinstall) {
      // An agent of this very version, running from where it was installed (its hello carries the
      // host's install.json), needs nothing: one round trip instead of the install's commands,
      // which were a third of a rollout's time on 3 hosts (docs/benchmarks.md).
      const { digest } = await bundle();
      const running = await this.hello(h);
      const install = running?.install;
      if (running?.protocol === AGENT_PROTOCOL && install?.agent === digest && running.entry === install.entry) {
        this.installed = install;
        return { installed: install, outcome: 'current', hello: running };
      }
    }
    const installed = await this.install(h, bundle);
    const current = (x: Hello | undefined) => x !== undefined && x.protocol === AGENT_PROTOCOL && x.entry === installed.entry;
    const running = await this.hello(h);
    if (current(running)) return { installed, outcome: 'current', hello: running! };
    // Another client (a controller following the host) may start an agent between the stop and
    // the start: one of another version is replaced again, a few times at most.
    let hello = running;
    for (let attempt = 0; attempt < 3 && !current(hello); attempt++) {
      if (hello) await this.stopAgent(h, hello);
      hello = await this.startAgent(h);
    }
    if (!current(hello))
      throw SlipwayError.of('AGENT_UNAVAILABLE', `another agent version keeps being started on ${h.name} (${hello!.entry ?? 'unknown'})`, {
        hint: 'An older Slipway (a controller of another version) is following this host: stop it, then run slipway hosts setup.',
        details: { host: h.name },
      });
    return { installed, outcome: running ? 'upgraded' : 'started', hello: hello!, ...(running ? { replaced: running.pid } : {}) };
  }

  private async install(h: RemoteHost, bundle: () => Promise<AgentBundle>): Promise<InstalledAgent> {
    this.installed = await installAgent(h, new HostLayout(this.root), await bundle());
    return this.installed;
  }

  /** Once per client (again after a failure): what `open` waits for before the first stream. */
  private prepared(): Promise<unknown> {
    if (!('bundle' in this.source)) return Promise.resolve();
    this.ensured ??= (this.ensuring ?? this.ensureCurrent()).then(
      (s) => s!,
      (err: unknown) => {
        this.ensured = undefined;
        throw err;
      },
    );
    return this.ensured;
  }

  /** The running agent's hello, or undefined when nothing answers on the socket. */
  private async hello(h: RemoteHost): Promise<Hello | undefined> {
    let stream: Duplex;
    try {
      stream = await h.openStream({ path: this.paths.socket });
    } catch (err) {
      if (SlipwayError.from(err).code === 'SSH_STREAM_FAILED') return undefined;
      throw err;
    }
    return exchange<Hello>(stream, { op: 'hello' }, 5000).catch(() => undefined);
  }

  /** Ends the agent alone (`shutdown` without stopAll: instances and router keep running) and waits until its process is gone. */
  private async stopAgent(h: RemoteHost, running: Hello): Promise<void> {
    const stream = await h.openStream({ path: this.paths.socket });
    await exchange(stream, { op: 'shutdown', stopAll: false }, 10_000).catch(() => undefined);
    const gone = await h.run(shellScript(GONE, [String(running.pid)]), { check: false, timeoutMs: 30_000 });
    if (gone.code !== 0)
      throw SlipwayError.of(
        'AGENT_UNAVAILABLE',
        `the old agent on ${h.name} (pid ${running.pid}) did not exit within 15 s of its shutdown`,
        {
          hint: `Its instances keep serving. See ${this.paths.log} on the host; stop that process, then run slipway hosts setup.`,
          details: { host: h.name },
        },
      );
  }

  /** One request, one answer; starts the agent first when nothing answers on its socket. */
  async call<K extends AgentRequest['op'] & keyof AgentAnswers>(
    req: Extract<AgentRequest, { op: K }>,
    timeoutMs = 30_000,
  ): Promise<AgentAnswers[K]> {
    const stream = await this.open();
    return exchange<AgentAnswers[K]>(stream, req, timeoutMs);
  }

  /** A stream to the agent, which is started when it does not answer. */
  async open(): Promise<Duplex> {
    await this.prepared();
    const host = await this.host();
    try {
      return await host.openStream({ path: this.paths.socket });
    } catch (err) {
      if (SlipwayError.from(err).code !== 'SSH_STREAM_FAILED') throw err;
    }
    await this.startAgent(host);
    return host.openStream({ path: this.paths.socket });
  }

  private starting: Promise<Hello> | undefined;

  /** Starts the agent unless that very process runs, then waits until it answers (10 s). Concurrent callers share one start. */
  startAgent(host?: RemoteHost): Promise<Hello> {
    this.starting ??= this.startOnce(host).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startOnce(host?: RemoteHost): Promise<Hello> {
    const h = host ?? (await this.host());
    const installed = 'bundle' in this.source ? (this.installed ?? (await this.install(h, this.source.bundle))) : undefined;
    const run = installed ?? (this.source as AgentInstall);
    if (!installed) {
      const found = await h.run(shellScript(PREREQUISITES, [run.node, run.entry]), { check: false });
      if (found.code !== 0)
        throw SlipwayError.of(
          'AGENT_UNAVAILABLE',
          `${h.name} cannot run the Slipway agent: ${found.stdout.trim() || found.stderr.trim()}`,
          {
            hint: `The agent needs Node >= 20 at ${run.node} and Slipway at ${run.entry} on the host (docs/servers.md, ADR 0026).`,
            details: { host: h.name },
          },
        );
    }
    await h.run(['mkdir', '-p', this.paths.dir, this.paths.run, this.paths.log.replace(/\/[^/]*$/, '')]);
    if (installed?.mode === 'systemd' && installed.unit)
      // Enabled by installAgent; `start` is a no-op while systemd is already bringing it up (Restart=always).
      await h.run(asRoot(installed, ['systemctl', 'start', installed.unit]), { timeoutMs: 30_000 });
    else
      await startRemoteProcess(h, {
        name: 'agent',
        runDir: this.paths.run,
        cwd: this.root,
        logFile: this.paths.log,
        argv: [run.node, run.entry, '--root', this.root],
      });
    const deadline = Date.now() + 10_000;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const hello = await exchange<Hello>(await h.openStream({ path: this.paths.socket }), { op: 'hello' }, 5000);
        if (hello.protocol !== AGENT_PROTOCOL)
          throw SlipwayError.of('AGENT_UNAVAILABLE', `the agent on ${h.name} speaks protocol ${hello.protocol}, not ${AGENT_PROTOCOL}`, {
            hint: 'Run slipway hosts setup to upgrade it.',
          });
        return hello;
      } catch (err) {
        if (SlipwayError.from(err).code === 'AGENT_UNAVAILABLE') throw err;
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = (await h.run(['tail', '-n', '5', this.paths.log], { check: false }).catch(() => undefined))?.stdout.trim();
    throw SlipwayError.of('AGENT_UNAVAILABLE', `the Slipway agent on ${h.name} did not start: ${(last as Error)?.message ?? 'no answer'}`, {
      hint: `Run slipway hosts check (it needs Node >= 20 and Slipway on the host). Its log (${this.paths.log}) ends:\n${tail || '(empty)'}`,
      details: { host: h.name },
    });
  }

  /**
   * Follows the agent's instance changes: `onList` with the full list whenever the stream (re)opens,
   * `onLine` for each change. Returns a function that stops following.
   */
  watch(
    onList: (list: InstanceStatus[], seq: number) => void,
    onLine: (line: WatchLine) => void,
    onLost: (err: Error) => void,
  ): () => void {
    let stream: Duplex | undefined;
    let stopped = false;
    void this.open().then(
      (s) => {
        if (stopped) return s.destroy();
        stream = s;
        let buf = '';
        s.setEncoding?.('utf8');
        s.on('data', (chunk: string | Buffer) => {
          buf += chunk.toString();
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = JSON.parse(buf.slice(0, nl)) as WatchLine & { list?: InstanceStatus[] };
            buf = buf.slice(nl + 1);
            if (line.list) onList(line.list, line.seq);
            else onLine(line);
          }
        });
        s.on('error', () => undefined);
        // An agent that dies ends its side only: sshd passes the EOF on but keeps the channel open
        // until our side ends too, so 'close' alone would never come and the host's instances
        // would be followed no more. The end of the agent's output is the loss.
        let lost = false;
        const lose = () => {
          if (lost || stopped) return;
          lost = true;
          s.destroy();
          onLost(new Error('the watch stream closed'));
        };
        s.on('end', lose);
        s.on('close', lose);
        s.write(`${JSON.stringify({ op: 'watch' })}\n`);
      },
      (err: Error) => {
        if (!stopped) onLost(err);
      },
    );
    return () => {
      stopped = true;
      stream?.destroy();
    };
  }
}

/** Writes one request line, reads one answer line. */
function exchange<T>(stream: Duplex, req: AgentRequest, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      stream.destroy();
      reject(
        SlipwayError.of('AGENT_UNAVAILABLE', `the agent did not answer "${req.op}" within ${timeoutMs}ms`, {
          hint: 'The host is overloaded or the agent hangs; its log is logs/agent.log below the layout root.',
        }),
      );
    }, timeoutMs);
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0];
      if (!line) {
        reject(
          SlipwayError.of('AGENT_UNAVAILABLE', `the agent closed the stream without answering "${req.op}"`, {
            hint: 'See logs/agent.log on the host.',
          }),
        );
        return;
      }
      let reply: AgentReply<T>;
      try {
        reply = JSON.parse(line) as AgentReply<T>;
      } catch {
        reject(SlipwayError.of('AGENT_UNAVAILABLE', `the agent answered "${req.op}" with something not JSON`));
        return;
      }
      if (reply.ok) resolve(reply.value);
      else reject(SlipwayError.fromBody({ error: reply.error }));
    });
    stream.write(`${JSON.stringify(req)}\n`);
    stream.end();
  });
}
