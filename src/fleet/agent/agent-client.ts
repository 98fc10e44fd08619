/**
 * The controller's side of a host agent (ADR 0026): calls over a stream the SSH connection opens
 * to the agent's Unix socket, and the agent started (detached, pid file checked by start time,
 * remote-process.ts) when nothing answers there: on a plain host after a boot, or the first time.
 */
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../../core/errors.js';
import type { RemoteHost } from '../../ssh/transport.js';
import { shellScript } from '../../ssh/quote.js';
import { startRemoteProcess } from '../remote-process.js';
import { agentPaths } from './agent-paths.js';
import { AGENT_PROTOCOL, type AgentAnswers, type AgentReply, type AgentRequest, type Hello, type WatchLine } from './protocol.js';
import type { InstanceStatus } from '../../drivers/driver.js';
import type { Duplex } from 'node:stream';

/** What runs the agent on a host: its Node and the agent's entry point there. */
export interface AgentInstall {
  node: string;
  entry: string;
}

/** This machine's Node and Slipway, at the same paths: what `hosts setup` checks a host has (ADR 0026). */
export function localInstall(): AgentInstall {
  return { node: process.execPath, entry: fileURLToPath(new URL('./agent-main.js', import.meta.url)) };
}

/** Node (>= 20) and the agent's entry point exist on the host; otherwise says which is missing. */
const PREREQUISITES = `[ -x "$1" ] || { echo "no Node at $1"; exit 1; }
v=$("$1" -p 'process.versions.node.split(".")[0]') || { echo "$1 does not run"; exit 1; }
[ "$v" -ge 20 ] || { echo "Node at $1 is version $v; the agent needs 20 or later"; exit 1; }
[ -f "$2" ] || { echo "no Slipway at $2"; exit 1; }`;

export class AgentClient {
  readonly paths: ReturnType<typeof agentPaths>;

  constructor(
    /** The host's pooled connection (reconnects after a loss). */
    private readonly host: () => Promise<RemoteHost>,
    readonly root: string,
    private readonly install: AgentInstall = localInstall(),
  ) {
    this.paths = agentPaths(root);
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
    const found = await h.run(shellScript(PREREQUISITES, [this.install.node, this.install.entry]), { check: false });
    if (found.code !== 0)
      throw SlipwayError.of('AGENT_UNAVAILABLE', `${h.name} cannot run the Slipway agent: ${found.stdout.trim() || found.stderr.trim()}`, {
        hint: `The agent needs Node >= 20 at ${this.install.node} and Slipway at ${this.install.entry} on the host (docs/servers.md, ADR 0026).`,
        details: { host: h.name },
      });
    await h.run(['mkdir', '-p', this.paths.dir, this.paths.run, this.paths.log.replace(/\/[^/]*$/, '')]);
    await startRemoteProcess(h, {
      name: 'agent',
      runDir: this.paths.run,
      cwd: this.root,
      logFile: this.paths.log,
      argv: [this.install.node, this.install.entry, '--root', this.root],
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
