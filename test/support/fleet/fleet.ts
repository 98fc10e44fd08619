/**
 * A fleet of real SSH hosts on this machine, for tests and benchmarks: each host is a network
 * namespace with its own hostname, PID namespace, copy-on-write root and sshd (root login by key),
 * on a bridge and /24 subnet unique to this run, so two test files can run fleets side by side.
 * Everything it creates is named after the run (`swf<id>`), and `stop()` removes exactly that:
 * its processes, namespaces, links and directory. No machine-wide rule, namespace or cgroup is
 * touched. The steps and their pitfalls are in ../shared/research/ssh-fleet.md.
 *
 *   const fleet = await Fleet.start({ hosts: 3 });   // after Fleet.skipReason() === undefined
 *   fleet.hosts[0].address; fleet.keyFile; fleet.knownHosts();
 *   await fleet.cut(0); await fleet.heal(0); await fleet.crash(1); await fleet.boot(1); …
 *   await fleet.stop();
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../../../src/core/wait-for.js';
import { cgroupMounts, containersSetup, dockerEngineScript, HIDE_PODMAN, removeEmptyLibpodCgroups } from './fleet-containers.js';
import { HOSTINIT, sshdConfig, sshdDropIn } from './scripts.js';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);

export interface FleetHost {
  /** 0-based position in the fleet. */
  index: number;
  /** Hostname inside the host (`h1`, `h2`, …). */
  name: string;
  address: string;
  port: number;
  /** The network namespace (this run's). */
  netns: string;
  /** The host's side directory on this machine (config, logs, upper layer of its root). */
  dir: string;
}

export interface FleetOptions {
  hosts?: number;
  /**
   * Whether hosts see this checkout at its own path (read-only). False hides it (an empty tmpfs
   * over it) for a host like a real one, where Slipway must install what it runs (the overlay root
   * still has the machine's /usr/bin/node).
   * @default true
   */
  checkout?: boolean;
  /**
   * `systemd`: systemd is PID 1 of each host (container mode, in a cgroup of the host's own), starting
   * sshd and every enabled unit, also after a boot; `plain`: a reaping loop beside sshd.
   * @default 'plain'
   */
  init?: 'plain' | 'systemd';
  /**
   * Hosts that can run containers with podman (and the docker client against a podman service):
   * see `containersSetup` (fleet-containers.ts) for what that takes in a namespace host.
   * @default false: plain hosts, as before
   */
  containers?: boolean;
  /**
   * A non-root user to create on every host (`addUser`), with the fleet's key authorized, as real
   * fleets log in; `sshTargetYaml()` then names it. Root keeps its own login.
   * @default none: tests log in as root
   */
  user?: string;
  /**
   * With `user`: `true` gives it passwordless sudo (`USER ALL=(ALL) NOPASSWD: ALL`), `'password'`
   * sudo that asks for a password (which it has none of), `false` no sudo at all.
   * @default true
   */
  sudo?: boolean | 'password';
}

/** Where subnets in use by fleets of this machine are claimed (one file each, holding the owner's pid). */
const CLAIMS = join(tmpdir(), 'slipway-fleet-subnets');
/**
 * This checkout (the folder holding dist/): the hosts see it at the same path, read-only, as a real
 * host sees the Slipway that `hosts setup` put there. The overlay root alone would not do when the
 * checkout sits on another mount or below /tmp, which every host mounts afresh.
 */
const CHECKOUT = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');

const BINARIES = ['/usr/sbin/sshd', '/usr/bin/ssh-keygen', '/usr/bin/nsenter', '/usr/bin/unshare'];

export class Fleet {
  private readonly unsharePids = new Map<number, number>();
  private stopped = false;
  /** Set by `containers: true` (see FleetOptions). */
  containers = false;
  /** The user `sshTargetYaml()` logs in as: `user` of FleetOptions, else root. */
  user = 'root';

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly subnet: string,
    readonly bridge: string,
    readonly hosts: FleetHost[],
    readonly options: Required<Pick<FleetOptions, 'checkout' | 'init'>>,
  ) {}

  /** This machine's address on the fleet's bridge: what hosts reach this machine at (a registry of the test, say). */
  get gateway(): string {
    return `${this.subnet}.1`;
  }

  /** Why a fleet cannot run here (not root, a tool missing), or undefined when it can. */
  static skipReason(opts: Pick<FleetOptions, 'init'> = {}): string | undefined {
    if (opts.init === 'systemd') {
      const base = Fleet.skipReason();
      if (base) return base;
      if (!existsSync('/lib/systemd/systemd')) return 'a systemd-mode fleet needs the systemd package (/lib/systemd/systemd)';
      if (!cgroup2Root()) return 'a systemd-mode fleet needs a cgroup2 hierarchy';
      return undefined;
    }
    if (process.platform !== 'linux') return 'a test fleet needs Linux (network and PID namespaces)';
    if (process.getuid?.() !== 0) return 'a test fleet needs root (network namespaces, mounts); run the tests as root';
    for (const bin of [...BINARIES, ipPath()]) {
      try {
        accessSync(bin, constants.X_OK);
      } catch {
        return `a test fleet needs ${bin} (scripts/install-system-deps.sh installs openssh-server and iproute2)`;
      }
    }
    return undefined;
  }

  /** The client key every host accepts for root. */
  get keyFile(): string {
    return join(this.dir, 'id_fleet');
  }

  static async start(opts: FleetOptions = {}): Promise<Fleet> {
    const reason = Fleet.skipReason();
    if (reason) throw new Error(reason);
    const n = opts.hosts ?? 3;
    if (n < 1 || n > 20) throw new Error(`a fleet has 1 to 20 hosts, not ${n}`);
    const id = randomBytes(3).toString('hex');
    const dir = join(tmpdir(), `slipway-fleet-${id}`);
    mkdirSync(dir, { mode: 0o700 });
    const subnet = claimSubnet(await usedRoutes());
    const bridge = `swf${id}`;
    const hosts: FleetHost[] = Array.from({ length: n }, (_, i) => ({
      index: i,
      name: `h${i + 1}`,
      address: `${subnet}.${i + 2}`,
      port: 22,
      netns: `swf-${id}-h${i + 1}`,
      dir: join(dir, `h${i + 1}`),
    }));
    const fleet = new Fleet(id, dir, subnet, bridge, hosts, { checkout: opts.checkout ?? true, init: opts.init ?? 'plain' });
    if (fleet.options.init === 'systemd' && Fleet.skipReason({ init: 'systemd' })) throw new Error(Fleet.skipReason({ init: 'systemd' }));
    if (opts.containers && fleet.options.init === 'systemd') throw new Error('a fleet is either containers or systemd mode, not both');
    fleet.containers = opts.containers === true;
    try {
      writeFileSync(join(dir, 'hostinit.sh'), HOSTINIT, { mode: 0o755 });
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-fleet', '-f', fleet.keyFile]);
      await ip('link', 'add', bridge, 'type', 'bridge');
      await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
      await ip('link', 'set', bridge, 'up');
      await Promise.all(hosts.map((h) => fleet.create(h)));
      await Promise.all(hosts.map((h) => fleet.waitReady(h)));
      if (fleet.containers) await Promise.all(hosts.map((h) => fleet.inHost(h, ['sh', '-c', containersSetup(h.dir, fleet.gateway)])));
      if (opts.user) {
        await fleet.addUser(opts.user, { sudo: opts.sudo ?? true });
        fleet.user = opts.user;
      }
      return fleet;
    } catch (err) {
      await fleet.stop();
      throw err;
    }
  }

  private async create(h: FleetHost): Promise<void> {
    const upper = join(h.dir, 'upper');
    // The upper layer's top directory is the host's `/`: 0755 as on a real host, or no user but root could walk the tree.
    mkdirSync(upper, { recursive: true, mode: 0o755 });
    mkdirSync(join(upper, 'root'), { mode: 0o700 });
    // The machine's root .bashrc would run in every SSH command through the overlay (pyenv here: +100 ms each).
    writeFileSync(join(upper, 'root', '.bashrc'), '# fleet test host\n');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', h.name, '-f', join(h.dir, 'ssh_host_ed25519_key')]);
    writeFileSync(join(h.dir, 'authorized_keys'), readFileSync(`${this.keyFile}.pub`));
    writeFileSync(join(h.dir, 'sshd_config'), sshdConfig(h.dir, h.address));
    if (this.options.init === 'systemd') this.seedSystemd(h, upper);
    const veth = this.veth(h);
    await ip('netns', 'add', h.netns);
    await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns);
    await ip('link', 'set', veth, 'master', this.bridge, 'up');
    await ip('-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0');
    await ip('-n', h.netns, 'link', 'set', 'eth0', 'up');
    await ip('-n', h.netns, 'link', 'set', 'lo', 'up');
    await ip('-n', h.netns, 'route', 'add', 'default', 'via', `${this.subnet}.1`);
    this.bootNow(h);
  }

  /**
   * A systemd-mode host's disk (../shared/research/ssh-fleet.md): its hostname, its own host key and
   * sshd drop-in for the machine's ssh.service, root's key in ~/.ssh, and every unit this machine
   * enables but ssh masked (databases, web servers, gettys would start in each host otherwise).
   */
  private seedSystemd(h: FleetHost, upper: string): void {
    mkdirSync(join(upper, 'etc', 'ssh', 'sshd_config.d'), { recursive: true });
    mkdirSync(join(upper, 'etc', 'systemd', 'system', 'multi-user.target.wants'), { recursive: true });
    mkdirSync(join(upper, 'root', '.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(upper, 'etc', 'hostname'), `${h.name}\n`);
    copyFileSync(join(h.dir, 'ssh_host_ed25519_key'), join(upper, 'etc', 'ssh', 'ssh_host_ed25519_key'));
    copyFileSync(join(h.dir, 'ssh_host_ed25519_key.pub'), join(upper, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'));
    writeFileSync(join(upper, 'etc', 'ssh', 'sshd_config.d', 'fleet.conf'), sshdDropIn(h.address));
    writeFileSync(join(upper, 'root', '.ssh', 'authorized_keys'), readFileSync(`${this.keyFile}.pub`), { mode: 0o600 });
    const units = join(upper, 'etc', 'systemd', 'system');
    const sshWanted = join(units, 'multi-user.target.wants', 'ssh.service');
    if (!existsSync('/etc/systemd/system/multi-user.target.wants/ssh.service')) symlinkSync('/lib/systemd/system/ssh.service', sshWanted);
    const masked = new Set(['getty.target', 'console-getty.service']);
    for (const wants of readdirSync('/etc/systemd/system').filter((d) => d.endsWith('.wants')))
      for (const unit of readdirSync(join('/etc/systemd/system', wants))) if (unit !== 'ssh.service') masked.add(unit);
    for (const unit of masked) symlinkSync('/dev/null', join(units, unit));
  }

  /** This host's cgroup (systemd mode): systemd must not make its slices in the machine's root cgroup. */
  private cgroup(h: FleetHost): string {
    return join(cgroup2Root()!, `swf${this.id}-${h.name}`);
  }

  private veth(h: FleetHost): string {
    return `swf${this.id}v${h.index + 1}`; // at most 15 characters (IFNAMSIZ)
  }

  /** Starts the host's init (PID 1 of its own PID namespace) detached, all fds redirected. */
  private bootNow(h: FleetHost): void {
    const out = openSync(join(h.dir, 'init.out'), 'a');
    try {
      const systemd = this.options.init === 'systemd';
      const argv = [
        'netns',
        'exec',
        h.netns,
        'unshare',
        ...(systemd ? ['--cgroup'] : []),
        '--uts',
        '--mount',
        '--pid',
        '--fork',
        '--mount-proc',
        '--kill-child',
        'sh',
        join(this.dir, 'hostinit.sh'),
        h.name,
        this.dir,
        CHECKOUT,
        this.options.init,
        this.options.checkout ? 'see' : 'hide',
        ...(this.containers ? ['containers', ...cgroupMounts()] : []),
      ];
      if (systemd) mkdirSync(this.cgroup(h), { recursive: true });
      // systemd mode: into the host's own cgroup first (`&&`: never run systemd in the machine's), then exec.
      const child = systemd
        ? spawn('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', this.cgroup(h), ipPath(), ...argv], {
            detached: true,
            stdio: ['ignore', out, out],
          })
        : spawn(ipPath(), argv, { detached: true, stdio: ['ignore', out, out] });
      child.unref();
      this.unsharePids.set(h.index, child.pid!);
    } finally {
      closeSync(out);
    }
  }

  /** Waits until the host's sshd sends its banner. */
  async waitReady(h: FleetHost | number, timeoutMs = this.options.init === 'systemd' ? 30_000 : 10_000): Promise<void> {
    const host = this.host(h);
    await waitFor(`sshd on ${host.name} (${host.address})`, () => sshBanner(host.address, host.port), timeoutMs, 50).catch((err: Error) => {
      const log = existsSync(join(host.dir, 'init.out')) ? readFileSync(join(host.dir, 'init.out'), 'utf8') : '';
      throw new Error(`${err.message}\n${log}`);
    });
  }

  host(h: FleetHost | number): FleetHost {
    const host = typeof h === 'number' ? this.hosts[h] : h;
    if (!host) throw new Error(`no fleet host ${String(h)}`);
    return host;
  }

  /** The host's public key line (`ssh-ed25519 AAAA… hN`). */
  hostKey(h: FleetHost | number): string {
    return readFileSync(join(this.host(h).dir, 'ssh_host_ed25519_key.pub'), 'utf8').trim();
  }

  /** An OpenSSH known_hosts text naming every host's key. */
  knownHosts(): string {
    return this.hosts.map((h) => `${h.address} ${this.hostKey(h).split(' ').slice(0, 2).join(' ')}\n`).join('');
  }

  /**
   * Arguments for the OpenSSH client to run `command` as root on `h` with the fleet's key and no
   * host-key bookkeeping: the harness's own way in, independent of Slipway's SSH transport.
   */
  opensshArgs(h: FleetHost | number, command: string, extraOptions: string[] = []): string[] {
    const options = ['BatchMode=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR', ...extraOptions];
    return ['-i', this.keyFile, ...options.flatMap((o) => ['-o', o]), `root@${this.host(h).address}`, command];
  }

  /**
   * Creates a user on every host (in its own root, so it survives a crash and boot) that logs in
   * with the fleet's key: a home with ~/.ssh/authorized_keys, an unlocked account with no password
   * (sshd without PAM refuses locked ones), and per `sudo` a file in /etc/sudoers.d.
   */
  async addUser(name: string, opts: { sudo?: boolean | 'password' } = {}): Promise<void> {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`not a user name: ${name}`);
    const sudo = opts.sudo ?? true;
    const rule = sudo === true ? `${name} ALL=(ALL) NOPASSWD: ALL` : sudo === 'password' ? `${name} ALL=(ALL) ALL` : '';
    if (sudo !== false && !existsSync('/usr/bin/sudo'))
      throw new Error('a fleet user with sudo needs sudo (scripts/install-system-deps.sh sudo)');
    const key = readFileSync(`${this.keyFile}.pub`, 'utf8');
    const script = `set -e
name=$1; key=$2; rule=$3
id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --password '*' "$name"
home=$(getent passwd "$name" | cut -d: -f6)
mkdir -p -m 0700 "$home/.ssh"
printf '%s' "$key" > "$home/.ssh/authorized_keys"
chmod 0600 "$home/.ssh/authorized_keys"
chown -R "$name:" "$home/.ssh"
f=/etc/sudoers.d/slipway-fleet-$name
if [ -n "$rule" ]; then printf '%s\\n' "$rule" > "$f.tmp" && chmod 0440 "$f.tmp" && mv -f "$f.tmp" "$f"; else rm -f "$f"; fi
# sudo looks the hostname up; a real host's /etc/hosts names it.
grep -q "[[:space:]]$(hostname)\\$" /etc/hosts || printf '127.0.1.1\\t%s\\n' "$(hostname)" >> /etc/hosts`;
    await Promise.all(this.hosts.map((h) => this.inHost(h, ['sh', '-c', script, 'adduser', name, key, rule])));
  }

  /** slipway.yaml's `target.ssh` for every host of the fleet (one host at a time), indented under an environment. */
  sshTargetYaml(opts: { user?: string; root?: string } = {}): string {
    return `    target:
      ssh:
        user: ${opts.user ?? this.user}
        identityFile: ${this.keyFile}
        knownHosts: ./known_hosts
${
  opts.root
    ? `        root: ${opts.root}
`
    : ''
}        parallel: 1
        maxUnavailableHosts: ${Math.min(1, this.hosts.length - 1)}
        hosts:
${this.hosts.map((h) => `          - { host: ${h.address} }`).join('\n')}
`;
  }

  /** Replaces the host's key (a reinstalled or impersonated server); restarts its sshd. */
  async rotateHostKey(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    rmSync(join(host.dir, 'ssh_host_ed25519_key'), { force: true });
    rmSync(join(host.dir, 'ssh_host_ed25519_key.pub'), { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', host.name, '-f', join(host.dir, 'ssh_host_ed25519_key')]);
    await this.sshdStop(host);
    await this.sshdStart(host);
  }

  /**
   * Gives a `containers` host a Docker engine for the machine's docker client: `podman system
   * service` on /run/docker.sock (the Docker-compatible API), run from a copy of podman's binary.
   * There is no Docker engine on these machines: this is the honest stand-in (docs/servers.md).
   */
  async dockerEngine(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    if (!this.containers) throw new Error('a docker engine needs a fleet started with containers: true');
    await this.inHost(host, ['sh', '-c', dockerEngineScript(host.dir)]);
    await waitFor(
      `docker on ${host.name} to reach its engine`,
      async () => {
        try {
          await this.inHost(host, ['docker', 'version', '--format', '{{.Server.Version}}']);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      100,
    );
  }

  /** A host with docker only: its engine (`dockerEngine`), then podman hidden behind a command that fails. */
  async dockerOnly(h: FleetHost | number): Promise<void> {
    await this.dockerEngine(h);
    await this.inHost(h, ['sh', '-c', HIDE_PODMAN]);
  }

  // ---- faults ---------------------------------------------------------------------------------

  /** Unplugs the host's cable (machine side of its veth down): connections time out. */
  async cut(h: FleetHost | number): Promise<void> {
    await ip('link', 'set', this.veth(this.host(h)), 'down');
  }

  async heal(h: FleetHost | number): Promise<void> {
    await ip('link', 'set', this.veth(this.host(h)), 'up');
  }

  /** Stops only sshd; whatever else runs on the host keeps running. */
  async sshdStop(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    if (this.options.init === 'systemd') await this.inHost(host, ['systemctl', 'stop', 'ssh.service', 'ssh.socket']);
    else await this.inHost(host, ['sh', '-c', `kill $(cat '${host.dir}/sshd.pid')`]);
    await waitFor(`sshd on ${host.name} to stop`, async () => !(await sshBanner(host.address, host.port)), 5000, 25);
  }

  async sshdStart(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    if (this.options.init === 'systemd') await this.inHost(host, ['systemctl', 'start', 'ssh.service']);
    else await this.inHost(host, ['/usr/sbin/sshd', '-f', join(host.dir, 'sshd_config'), '-E', join(host.dir, 'sshd.log')]);
    await this.waitReady(host);
  }

  /** Powers the host off: SIGKILL to its PID 1 ends every process of its PID namespace. Its disk stays. */
  async crash(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    const pid = this.unsharePids.get(host.index);
    if (pid === undefined) return;
    this.unsharePids.delete(host.index);
    if (isOurs(pid, this.dir)) process.kill(pid, 'SIGKILL');
    await waitFor(`${host.name} to power off`, async () => (await netnsPids(host.netns)).length === 0, 5000, 25);
  }

  /** Starts a crashed host again, with its disk as it was; plain: only sshd comes back; systemd: every enabled unit too. */
  async boot(h: FleetHost | number): Promise<void> {
    const host = this.host(h);
    if (this.unsharePids.has(host.index)) throw new Error(`${host.name} is running`);
    this.bootNow(host);
    await this.waitReady(host);
  }

  /** Stops every process of the host (a hung machine: TCP connects, no SSH banner). */
  async freeze(h: FleetHost | number): Promise<void> {
    for (const pid of await netnsPids(this.host(h).netns)) signal(pid, 'SIGSTOP');
  }

  async thaw(h: FleetHost | number): Promise<void> {
    for (const pid of await netnsPids(this.host(h).netns)) signal(pid, 'SIGCONT');
  }

  /** Runs a command on the host from the machine side (as root, in all its namespaces), not over SSH. */
  async inHost(h: FleetHost | number, argv: string[]): Promise<string> {
    const host = this.host(h);
    const init = this.initPid(host);
    const { stdout } = await run('nsenter', ['-t', String(init), '-a', '-r', '-w', ...argv]);
    return stdout;
  }

  /** The machine-side pid of the host's PID 1 (the unshare process's only child). */
  private initPid(host: FleetHost): number {
    const pid = this.unsharePids.get(host.index);
    if (pid === undefined) throw new Error(`${host.name} is not running`);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length !== 1) throw new Error(`${host.name} has no init process`);
    return Number(children[0]);
  }

  // ---- teardown -------------------------------------------------------------------------------

  /** Removes everything this run created: processes, namespaces, links, the subnet claim, the directory. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const [, pid] of this.unsharePids) if (isOurs(pid, this.dir)) signal(pid, 'SIGKILL');
    this.unsharePids.clear();
    const ours = new Set(await listNetns());
    for (const h of this.hosts) {
      if (!ours.has(h.netns)) continue;
      // Only this run's processes live in its namespaces (sshd children, anything a test started).
      for (const pid of await netnsPids(h.netns)) signal(pid, 'SIGKILL');
    }
    for (const h of this.hosts) {
      if (!ours.has(h.netns)) continue;
      await waitFor(`${h.name}'s processes to end`, async () => (await netnsPids(h.netns)).length === 0, 5000, 25);
      await ip('netns', 'del', h.netns); // takes the veth pair with it
    }
    await ip('link', 'del', this.bridge).catch(() => undefined);
    if (this.options.init === 'systemd') for (const h of this.hosts) await removeCgroup(this.cgroup(h));
    releaseSubnet(this.subnet);
    if (this.containers) removeEmptyLibpodCgroups();
    // The overlay mounts lived in the hosts' own mount namespaces, gone with their processes; never
    // remove a directory that something still has mounted (its root has the machine's / below it).
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    if (mounts.includes(this.dir)) throw new Error(`${this.dir} still has mounts; not removing it`);
    // The kernel frees a dead host's mount namespace (and its overlay) asynchronously: until then
    // its mount points refuse removal (EBUSY), so retry for a while.
    await waitFor(
      `${this.dir} to be removed`,
      () => {
        rmSync(this.dir, { recursive: true, force: true });
        return true;
      },
      15_000,
      100,
    );
  }

  /** What of this run is left on the machine (empty after `stop`). */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    for (const ns of await listNetns()) if (ns.includes(this.id)) left.push(`netns ${ns}`);
    const { stdout } = await run(ipPath(), ['-o', 'link', 'show']);
    for (const line of stdout.split('\n')) if (line.includes(`swf${this.id}`)) left.push(`link ${line.split(':')[1]?.trim()}`);
    if (existsSync(this.dir)) left.push(`directory ${this.dir}`);
    if (existsSync(join(CLAIMS, this.subnet))) left.push(`subnet claim ${this.subnet}`);
    for (const pid of (await run('ps', ['-eo', 'pid=,args='])).stdout.split('\n'))
      if (pid.includes(this.dir)) left.push(`process ${pid.trim()}`);
    return left;
  }
}

/** The machine's cgroup2 hierarchy (unified, or the hybrid layout's `unified`), if any. */
function cgroup2Root(): string | undefined {
  for (const c of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      // Only a cgroup2 root has cgroup.subtree_control (v1 controllers' roots do not; a tmpfs holding them neither).
      if (existsSync(join(c, 'cgroup.procs')) && existsSync(join(c, 'cgroup.subtree_control'))) return c;
    } catch {
      /* not there */
    }
  }
  return undefined;
}

/** Kills what is left in a host's cgroup (cgroup.kill) and removes it, its children first. */
async function removeCgroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    /* kernels before 5.14: the namespaces' processes were killed already */
  }
  const remove = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
    rmdirSync(d);
  };
  await waitFor(
    `cgroup ${dir} to be removed`,
    () => {
      remove(dir);
      return true;
    },
    5000,
    50,
  );
}

function ipPath(): string {
  return existsSync('/usr/sbin/ip') ? '/usr/sbin/ip' : '/sbin/ip';
}

async function ip(...args: string[]): Promise<void> {
  await run(ipPath(), args);
}

async function listNetns(): Promise<string[]> {
  const { stdout } = await run(ipPath(), ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}

async function netnsPids(ns: string): Promise<number[]> {
  try {
    const { stdout } = await run(ipPath(), ['netns', 'pids', ns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

/** Whether `pid` is still the unshare process this fleet started (pids are reused). */
function isOurs(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(dir, 'hostinit.sh'));
  } catch {
    return false;
  }
}

/** Resolves true when something at address:port sends an SSH banner within a second. */
function sshBanner(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port, timeout: 1000 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

/** IPv4 routes and addresses of the machine, as [network, prefix length]. */
async function usedRoutes(): Promise<[number, number][]> {
  const nets: [number, number][] = [];
  const { stdout: routes } = await run(ipPath(), ['-4', '-o', 'route', 'show', 'table', 'all']);
  const { stdout: addrs } = await run(ipPath(), ['-4', '-o', 'addr', 'show']);
  for (const m of `${routes}\n${addrs}`.matchAll(/(?:^|\s)(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/gm)) {
    const prefix = m[2] === undefined ? 32 : Number(m[2]);
    if (prefix === 0) continue; // the default route overlaps everything and routes nothing of ours
    nets.push([toInt(m[1]!), prefix]);
  }
  return nets;
}

function toInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function overlaps(a: number, alen: number, b: number, blen: number): boolean {
  const len = Math.min(alen, blen);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

/** Picks a free 10.200–249.x.0/24 that no route or address of the machine touches, and claims it. */
function claimSubnet(used: [number, number][]): string {
  for (let attempt = 0; attempt < 200; attempt++) {
    mkdirSync(CLAIMS, { recursive: true, mode: 0o700 }); // again each time: the last fleet to stop removes it
    const subnet = `10.${200 + randomInt(50)}.${randomInt(256)}`;
    const net = toInt(`${subnet}.0`);
    if (used.some(([n, len]) => overlaps(n, len, net, 24))) continue;
    const claim = join(CLAIMS, subnet);
    try {
      writeFileSync(claim, String(process.pid), { flag: 'wx' });
      return subnet;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // the directory went meanwhile
      // Claimed: by a live fleet, or left by a process that died (then take it over).
      const owner = Number(readFileSync(claim, 'utf8'));
      if (owner && existsSync(`/proc/${owner}`)) continue;
      writeFileSync(claim, String(process.pid));
      return subnet;
    }
  }
  throw new Error('no free 10.200-249.x.0/24 subnet for a test fleet');
}

function releaseSubnet(subnet: string): void {
  rmSync(join(CLAIMS, subnet), { force: true });
  try {
    rmdirSync(CLAIMS); // the last fleet of the machine leaves no claims directory either
  } catch {
    /* another fleet still holds a claim */
  }
}
