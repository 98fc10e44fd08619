/**
 * The host agent (ADR 0026): one long-lived process per host that owns the host's instances and
 * its router. It is the LocalDriver and the router daemon of this machine, run on the host: the
 * same supervision (detached process groups, restart policy, crash-loop detection, log writer
 * with rotation, adoption after a restart) and the same zero-downtime switch (health-gated route,
 * drain, 504 at the deadline). The controller reaches it through its SSH connection, over a Unix
 * socket only the agent's user may open; with no controller connected it goes on supervising.
 *
 * Its one piece of logic of its own is `roll`: one host's part of a fleet rollout, run here so
 * that a host half-way through a roll when the controller vanishes still ends serving one release.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { SlipwayError } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { InstanceStatus } from '../../drivers/driver.js';
import type { RuntimeSwitch } from '../../drivers/runtime-switch.js';
import { probe } from '../../health/probe.js';
import { LocalRouter } from '../../router/local-router.js';
import type { InstalledAgent } from './agent-install.js';
import { agentPaths } from './agent-paths.js';
import { splitHost } from './host-split.js';
import { probeRelease } from './host-http-probe.js';
import { agentRuntimes, type AgentRuntimes } from './agent-runtimes.js';
import { AgentSecrets } from './agent-secrets.js';
import { serviceLogs } from './agent-logs.js';
import {
  AGENT_PROTOCOL,
  type AgentAnswers,
  type AgentReply,
  type AgentRequest,
  type RollRequest,
  type RollResult,
  type SplitRequest,
  type SplitResult,
  type WatchLine,
} from './protocol.js';

export interface AgentProps {
  root: string;
  log?: Logger;
  /** Extra arguments of the router daemon. @default one proxy worker (hosts are small; ADR 0026) */
  routerArgs?: string[];
}

export class HostAgent {
  private readonly paths: ReturnType<typeof agentPaths>;
  /** Processes and containers (agent-runtimes.ts), made in start() once the runtime is known. */
  private driver!: RuntimeSwitch;
  private runtimes!: AgentRuntimes;
  private readonly secrets: AgentSecrets;
  /**
   * `service@release` of rolls and splits under way (how many of each): their secret files stay
   * while their instances are not started yet. Counted, as a roll and a split may hold one at once.
   */
  private readonly rollingReleases = new Map<string, number>();
  private readonly router: LocalRouter;
  private readonly log: Logger;
  private server: Server | undefined;
  private readonly watchers = new Set<Socket>();
  private seq = 0;
  private routerWanted = false;
  private routerTimer: NodeJS.Timeout | undefined;
  private readonly rolling = new Map<string, { release: number; done: Promise<RollResult> }>();
  private readonly splits = new Map<string, Promise<void>>();
  private readonly startedAt = Date.now();
  /** Resolves when a `shutdown` request asked the process to end. */
  readonly done: Promise<void>;
  private finish!: () => void;
  /** Requests wait until the recorded instances are adopted. */
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(props: AgentProps) {
    this.paths = agentPaths(props.root);
    this.log = props.log ?? createLogger('agent');
    this.secrets = new AgentSecrets(`${this.paths.dir}/secrets`);
    this.router = new LocalRouter({ stateDir: this.paths.router, args: props.routerArgs ?? ['--workers', '1'] });
    this.done = new Promise((r) => (this.finish = r));
    this.ready = new Promise((r) => (this.markReady = r));
  }

  /**
   * Claims the socket, then adopts the recorded instances and the router, then answers. The socket
   * is the agent's lock: binding it is atomic, so of two agents started at once one gets it and the
   * other exits (AGENT_ALREADY_RUNNING) before it supervises anything; a socket file nobody answers
   * on (left by an agent that died) is removed and bound again.
   */
  async start(): Promise<void> {
    mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
    // Half-open: the controller ends its side after the request; the answer still goes back.
    const server = createServer({ allowHalfOpen: true }, (sock) => this.serve(sock));
    try {
      await listen(server, this.paths.socket);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (await answers(this.paths.socket))
        throw SlipwayError.of('AGENT_ALREADY_RUNNING', `an agent already answers on ${this.paths.socket}`, {
          hint: 'Only one agent runs per host layout; this one exits and the running one serves.',
        });
      rmSync(this.paths.socket, { force: true });
      await listen(server, this.paths.socket);
    }
    chmodSync(this.paths.socket, 0o600);
    this.server = server;
    this.runtimes = await agentRuntimes({ driverDir: this.paths.driver, log: this.log, secretEnv: (spec) => this.secrets.envFor(spec) });
    this.driver = this.runtimes.driver;
    this.driver.onChange((s) => this.broadcast(s));
    await this.driver.init();
    // The router comes back with its saved routes (a host that booted): instances restart on their ports meanwhile.
    if (existsSync(`${this.paths.router}/routes.json`)) await this.ensureRouter();
    this.markReady();
    this.log.info(`agent ${process.pid} serving ${this.paths.socket}; ${this.driver.list().length} instance(s) adopted`);
  }

  private async ensureRouter(): Promise<void> {
    this.routerWanted = true;
    await this.router.ensureRunning();
    // A dead router is started again from its saved routes at once: its listeners are the host's front door.
    this.routerTimer ??= setInterval(() => {
      if (this.routerWanted && !this.router.alive())
        this.router.ensureRunning().catch((err: Error) => this.log.warn(`router restart failed: ${err.message}`));
    }, 200);
  }

  private broadcast(status: InstanceStatus): void {
    const line = `${JSON.stringify({ seq: ++this.seq, status } satisfies WatchLine)}\n`;
    for (const w of this.watchers) w.write(line);
  }

  private serve(sock: Socket): void {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 16 * 1024 * 1024) sock.destroy();
        return;
      }
      sock.off('data', onData);
      let req: AgentRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as AgentRequest;
      } catch {
        sock.end(
          `${JSON.stringify({ ok: false, error: { kind: 'invalid', code: 'AGENT_BAD_REQUEST', message: 'not a JSON request line' } })}\n`,
        );
        return;
      }
      void this.ready.then(() => this.answer(sock, req));
    };
    sock.on('data', onData);
  }

  private answer(sock: Socket, req: AgentRequest): void {
    if (req.op === 'watch') {
      this.watchers.add(sock);
      sock.write(`${JSON.stringify({ seq: this.seq, list: this.driver.list() })}\n`);
      sock.on('close', () => this.watchers.delete(sock));
      return;
    }
    this.handle(req).then(
      (value) => sock.end(`${JSON.stringify({ ok: true, value } satisfies AgentReply<unknown>)}\n`),
      (err: unknown) => {
        const e = SlipwayError.from(err);
        const error = { kind: e.kind, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
        sock.end(`${JSON.stringify({ ok: false, error } satisfies AgentReply<unknown>)}\n`);
      },
    );
  }

  private async handle(req: AgentRequest): Promise<AgentAnswers[keyof AgentAnswers]> {
    switch (req.op) {
      case 'hello':
        return {
          protocol: AGENT_PROTOCOL,
          pid: process.pid,
          root: this.paths.dir,
          startedAt: this.startedAt,
          hostname: hostname(),
          entry: process.argv[1] ?? '',
          images: this.runtimes.images,
          ...this.installRecord(),
        };
      case 'list':
        return this.driver.list();
      case 'start': {
        const status = await this.driver.start(req.spec);
        return { status, seq: this.seq };
      }
      case 'stop':
        await this.driver.stop(req.id, { timeoutMs: req.timeoutMs });
        this.pruneSecrets();
        return { seq: this.seq };
      case 'logTail':
        return this.driver.logTail(req.id, req.lines);
      case 'readLogs':
        return this.driver.readLogs(req.id, { lines: req.lines, ...(req.sinceMs !== undefined ? { sinceMs: req.sinceMs } : {}) });
      case 'logFiles':
        return this.driver.logFiles(req.id) ?? null;
      case 'serviceLogs': {
        const { op: _op, ...q } = req;
        return serviceLogs(this.driver, this.paths.driver, q);
      }
      case 'roll': {
        // One roll of a service at a time; a controller that asks again (it reconnected) joins it.
        // A roll to another release (a rollback after the controller lost this one) waits for it.
        const key = req.roll.service;
        const running = this.rolling.get(key);
        if (running && running.release === req.roll.release) return running.done;
        const p = (running ? running.done.catch(() => undefined) : Promise.resolve())
          .then(() => this.roll(req.roll))
          .finally(() => {
            if (this.rolling.get(key)?.done === p) this.rolling.delete(key);
          });
        this.rolling.set(key, { release: req.roll.release, done: p });
        return p;
      }
      case 'split': {
        // One change of a service's instances at a time: a split waits for the one before it.
        const s = req.split;
        const before = this.splits.get(s.service) ?? Promise.resolve();
        const p = before.then(() => this.split(s));
        const settled = p.then(
          () => undefined,
          () => undefined,
        );
        this.splits.set(s.service, settled);
        void settled.then(() => {
          if (this.splits.get(s.service) === settled) this.splits.delete(s.service);
        });
        return p;
      }
      case 'probe':
        return probeRelease(this.driver.list(), req.probe);
      case 'routes':
        return this.routerWanted ? this.router.routes() : [];
      case 'stats':
        return this.routerWanted ? this.router.stats() : { bootId: 'none', services: [] };
      case 'routerHealth':
        return this.routerWanted ? this.router.health() : null;
      case 'shutdown':
        return this.shutdown(req.stopAll);
      default:
        throw SlipwayError.of('AGENT_BAD_REQUEST', `unknown request ${JSON.stringify((req as { op: unknown }).op)}`, {
          hint: 'The controller and the agent are different versions: run slipway hosts setup.',
        });
    }
  }

  /**
   * Puts `instances` healthy instances of the release behind the host's router and retires every
   * other instance of the service: new instances first (the old keep serving), the route switched
   * in one change once all are healthy, the old drained (504 after stopTimeout) and stopped. A new
   * instance that crash-loops or is not healthy by the deadline fails the roll: the new instances
   * are stopped and the route is untouched, so the host serves what it served.
   */
  /** install.json when it describes this very agent (its entry), for `hello`: a controller finds a current agent in one round trip. */
  private installRecord(): { install?: InstalledAgent } {
    try {
      const i = JSON.parse(readFileSync(this.paths.install, 'utf8')) as InstalledAgent;
      if (i.entry !== process.argv[1]) return {};
      const { agent, node, nodeVersion, entry, mode, unit, sudo, note } = i;
      return { install: { agent, node, nodeVersion, entry, mode, unit, sudo, note } };
    } catch {
      return {}; // none (an agent started from this machine's files in tests) or unreadable: the controller installs
    }
  }

  private async roll(r: RollRequest): Promise<RollResult> {
    const key = `${r.service}@${r.release}`;
    this.hold(key, +1);
    try {
      // Written first, also when the roll turns out done already: the file must be there for every later restart.
      if (r.secrets) this.secrets.put(r.service, r.release, r.secrets);
      return await this.rollOnce(r);
    } finally {
      this.hold(key, -1);
    }
  }

  private async rollOnce(r: RollRequest): Promise<RollResult> {
    const t0 = Date.now();
    const mine = () => this.driver.list().filter((i) => i.service === r.service);
    await this.ensureRouter();
    const route = (await this.router.routes()).find((x) => x.service === r.service);
    const serving = new Set(route?.pools.flatMap((p) => (p.weight > 0 ? p.backends.map((b) => b.id) : [])) ?? []);
    const same = mine().filter((i) => i.release === r.release && i.state === 'running');
    const others = mine().filter((i) => i.release !== r.release || i.state !== 'running');
    // Already done (a roll repeated after the controller lost the answer, or a later deploy resuming).
    if (
      same.length === r.instances &&
      others.length === 0 &&
      same.every((i) => serving.has(i.id)) &&
      serving.size === same.length &&
      route?.listen.port === r.listen.port
    ) {
      const checks = await Promise.all(
        same.map((i) => probe(r.health.check, { host: i.host, port: i.port, cwd: r.spec.releaseDir, env: {} })),
      );
      if (checks.every((c) => c.ok)) return { outcome: 'already', started: [], retired: [], durationMs: Date.now() - t0 };
    }
    const keep = same.slice(0, r.instances);
    const started: InstanceStatus[] = [];
    const phases = { pullMs: 0, startMs: 0, healthMs: 0, switchMs: 0, drainMs: 0 };
    let mark = Date.now();
    const lap = (k: keyof typeof phases) => {
      const now = Date.now();
      phases[k] = now - mark;
      mark = now;
    };
    try {
      if (r.pull) {
        const pulled = await this.runtimes.pull(r.pull);
        this.log.info(`${r.pull.ref}: ${pulled === 'present' ? 'already here' : `pulled with ${this.runtimes.images}`}`);
      }
      lap('pullMs');
      while (keep.length + started.length < r.instances) {
        const id = `${r.service}-${r.release}-${randomBytes(3).toString('hex')}${r.idSuffix}`;
        started.push(await this.driver.start({ ...r.spec, id }));
      }
      lap('startMs');
      const fresh = [...keep, ...started];
      await Promise.all(fresh.map((i) => this.untilHealthy(r, i.id, t0 + r.deadlineMs)));
      lap('healthMs');
      const ready = this.driver.list().filter((i) => fresh.some((f) => f.id === i.id));
      await this.router.setRoute({
        service: r.service,
        listen: r.listen,
        pools: [{ release: r.release, weight: ready.length, backends: ready.map((i) => ({ id: i.id, host: i.host, port: i.port })) }],
      });
      lap('switchMs');
    } catch (err) {
      await Promise.all(started.map((i) => this.driver.stop(i.id, { timeoutMs: r.stopTimeoutMs }).catch(() => undefined)));
      this.pruneSecrets();
      throw err;
    }
    const retire = mine().filter((i) => !keep.some((k) => k.id === i.id) && !started.some((s) => s.id === i.id));
    if (retire.length) {
      await this.router.drain(
        r.service,
        retire.map((i) => i.id),
        r.stopTimeoutMs,
      );
      await Promise.all(retire.map((i) => this.driver.stop(i.id, { timeoutMs: r.stopTimeoutMs })));
    }
    lap('drainMs');
    this.pruneSecrets();
    this.log.info(`rolled ${r.service} to release ${r.release}: started ${started.length}, retired ${retire.length}`);
    return { outcome: 'rolled', started: started.map((i) => i.id), retired: retire.map((i) => i.id), durationMs: Date.now() - t0, phases };
  }

  /**
   * One split of a service (host-split.ts), with what `roll` does around it: each release's secrets
   * written first (kept while the split runs, so a release not started yet keeps its file) and its
   * image pulled before its first instance starts; afterwards the files of retired releases go.
   */
  private async split(s: SplitRequest): Promise<SplitResult> {
    const keys = s.releases.map((r) => `${s.service}@${r.release}`);
    for (const k of keys) this.hold(k, +1);
    try {
      for (const r of s.releases) if (r.secrets) this.secrets.put(s.service, r.release, r.secrets);
      await this.ensureRouter();
      return await splitHost(s, {
        driver: this.driver,
        router: this.router,
        pull: async (pull) => {
          const pulled = await this.runtimes.pull(pull);
          this.log.info(`${pull.ref}: ${pulled === 'present' ? 'already here' : `pulled with ${this.runtimes.images}`}`);
        },
        untilHealthy: (release, releaseDir, id, deadline) =>
          this.untilHealthy({ ...s, release, instances: 0, spec: { ...s.releases[0]!.spec, release, releaseDir } }, id, deadline),
      });
    } finally {
      for (const k of keys) this.hold(k, -1);
      this.pruneSecrets();
    }
  }

  private hold(key: string, by: 1 | -1): void {
    const n = (this.rollingReleases.get(key) ?? 0) + by;
    if (n > 0) this.rollingReleases.set(key, n);
    else this.rollingReleases.delete(key);
  }

  /** Secret files of releases no instance of this host runs any more go. */
  private pruneSecrets(): void {
    this.secrets.prune(new Set([...this.driver.list().map((i) => `${i.service}@${i.release}`), ...this.rollingReleases.keys()]));
  }

  private async untilHealthy(r: RollRequest, id: string, deadline: number): Promise<void> {
    let passes = 0;
    let last = 'not probed yet';
    for (;;) {
      const inst = this.driver.list().find((i) => i.id === id);
      if (!inst) throw SlipwayError.of('FLEET_ROLL_FAILED', `instance ${id} vanished during the roll`);
      if (inst.state === 'failed') {
        const tail = await this.driver.logTail(id, 10).catch(() => []);
        throw SlipwayError.of(
          'FLEET_ROLL_FAILED',
          `instance ${id} of release ${r.release} crash-looped (exit ${inst.lastExit?.code ?? inst.lastExit?.signal})`,
          {
            hint: `Its last log lines:\n${tail.join('\n') || '(none)'}`,
          },
        );
      }
      if (inst.state === 'running') {
        const res = await probe(r.health.check, {
          host: inst.host,
          port: inst.port,
          cwd: r.spec.releaseDir,
          env: { PORT: String(inst.port) },
        });
        last = res.detail;
        passes = res.ok ? passes + 1 : 0;
        if (passes >= r.health.healthyAfter) return;
      }
      if (Date.now() >= deadline) {
        const tail = await this.driver.logTail(id, 10).catch(() => []);
        throw SlipwayError.of(
          'FLEET_ROLL_FAILED',
          `instance ${id} of release ${r.release} was not healthy within ${r.deadlineMs}ms (last probe: ${last})`,
          {
            hint: `Its last log lines:\n${tail.join('\n') || '(none)'}`,
          },
        );
      }
      await new Promise((res) => setTimeout(res, Math.min(r.health.intervalMs, 250)));
    }
  }

  /** Stops serving requests; with `stopAll` also every instance and the router. Ends the process. */
  private async shutdown(stopAll: boolean): Promise<{ stopped: string[] }> {
    const stopped: string[] = [];
    if (stopAll) {
      this.routerWanted = false;
      for (const i of this.driver.list()) {
        await this.driver.stop(i.id, { timeoutMs: 5000 }).catch(() => undefined);
        stopped.push(i.id);
      }
      if (this.router.alive()) await this.router.shutdown().catch(() => undefined);
      this.pruneSecrets();
    }
    setImmediate(() => void this.close());
    return { stopped };
  }

  /** Stops supervising (instances and router keep running for the next agent) and closes the socket. */
  async close(): Promise<void> {
    clearInterval(this.routerTimer);
    await this.driver.detach();
    for (const w of this.watchers) w.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.finish();
  }
}

/** Listens on the Unix socket, created 0600 from the start (umask), so no other user can connect in between. */
function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const old = process.umask(0o177);
    const done = (err?: Error) => {
      process.umask(old);
      server.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    server.once('error', done);
    server.listen(path, () => done());
  });
}

/** Whether something answers on the Unix socket (another agent). */
function answers(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
