/**
 * A scratch podman for tests (../shared/research/containers.md): its own storage, runtime and
 * temp folders, runc (crun fails on these hybrid-cgroup machines), ulimits podman may set without
 * CAP_SYS_RESOURCE, cgroupfs, and a registries.conf marking loopback registries insecure. The
 * machine's default podman store is never touched. `teardown()` removes every container and
 * image it made, unmounts what podman left mounted, and deletes the folder.
 *
 * Test images are built FROM scratch with this machine's node, sh (dash), sleep and cat plus
 * their shared libraries (~100 MB, ~2 s), the rootfs copied once per test process.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PodmanCli } from '../../src/drivers/podman/podman-cli.js';

/** The variables that point podman, buildah and skopeo at the scratch configuration. */
export interface ScratchEnv {
  [name: string]: string;
  CONTAINERS_STORAGE_CONF: string;
  CONTAINERS_CONF: string;
  CONTAINERS_REGISTRIES_CONF: string;
  TMPDIR: string;
}

export interface PodmanScratch {
  dir: string;
  env: ScratchEnv;
  cli: PodmanCli;
  /** Builds a test image FROM scratch (host node + sh), tagged `tag`, and returns its image id. */
  buildNodeImage(tag: string, files?: Record<string, string>, entrypoint?: string[]): string;
  /** A build context for `image: { build: … }`: the rootfs plus a Containerfile. */
  writeContext(dir: string, files?: Record<string, string>, entrypoint?: string[]): void;
  teardown(): void;
}

/** Why podman tests cannot run here, or undefined when they can. */
export function podmanSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'podman tests need root';
  for (const bin of ['podman', 'runc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (scripts/install-system-deps.sh installs it)`;
    }
  }
  return undefined;
}

let rootfsCache: string | undefined;

/** The rootfs (node, sh, sleep, cat and their libraries), copied once per test process. */
function rootfs(): string {
  if (rootfsCache) return rootfsCache;
  const dir = mkdtempSync(join(tmpdir(), 'slipway-rootfs-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const bins: [string, string][] = [
    [realpathSync(process.execPath), '/usr/bin/node'],
    [realpathSync('/bin/dash'), '/bin/sh'],
    [realpathSync('/bin/sleep'), '/bin/sleep'],
    [realpathSync('/bin/cat'), '/bin/cat'],
  ];
  const copy = (from: string, to: string) => {
    mkdirSync(dirname(join(dir, to)), { recursive: true });
    copyFileSync(from, join(dir, to));
    chmodSync(join(dir, to), 0o755);
  };
  for (const [from, to] of bins) {
    copy(from, to);
    const libs = execFileSync('ldd', [from], { encoding: 'utf8' }).match(/\/[^ ]+/g) ?? [];
    for (const lib of libs) copy(realpathSync(lib), lib);
  }
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  rootfsCache = dir;
  return dir;
}

export function podmanScratch(): PodmanScratch {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-podman-'));
  for (const d of ['storage', 'run', 'tmp', 'netconf']) mkdirSync(join(dir, d));
  const nofile = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`);
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${dir}/tmp/libpod"`,
      '[network]',
      `network_config_dir = "${dir}/netconf"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'registries.conf'),
    'unqualified-search-registries = []\n[[registry]]\nlocation = "127.0.0.1"\ninsecure = true\n',
  );
  const env: ScratchEnv = {
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    TMPDIR: join(dir, 'tmp'),
  };
  const cli = new PodmanCli({ env });
  const podman = (args: string[]) => execFileSync('podman', args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });

  const writeContext = (ctx: string, files: Record<string, string> = {}, entrypoint = ['/usr/bin/node', '/app/server.js']) => {
    mkdirSync(ctx, { recursive: true });
    // A hard-linked copy would be cheaper, but cp -a keeps the cache untouched by builds.
    execFileSync('cp', ['-a', rootfs(), join(ctx, 'rootfs')]);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(ctx, 'rootfs', path)), { recursive: true });
      writeFileSync(join(ctx, 'rootfs', path), text);
    }
    writeFileSync(join(ctx, 'Containerfile'), `FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ${JSON.stringify(entrypoint)}\n`);
  };

  return {
    dir,
    env,
    cli,
    writeContext,
    buildNodeImage(tag, files = {}, entrypoint) {
      const ctx = mkdtempSync(join(dir, 'ctx-'));
      writeContext(ctx, files, entrypoint);
      podman(['build', '-q', '--timestamp', '0', '-t', tag, ctx]);
      rmSync(ctx, { recursive: true, force: true });
      return podman(['image', 'inspect', '--format', '{{.Id}}', tag]).trim();
    },
    teardown() {
      const quiet = (args: string[]) => {
        try {
          podman(args);
        } catch {
          /* best effort: the folder goes anyway */
        }
      };
      quiet(['rm', '-af', '-t', '0']);
      quiet(['rmi', '-af']);
      const mounts = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1] ?? '')
        .filter((m) => m.startsWith(dir + '/'))
        .sort()
        .reverse();
      for (const m of mounts) {
        try {
          execFileSync('umount', [m], { stdio: 'ignore' });
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
      // conmon's cgroups (cgroupfs on v1): rmdir removes only empty ones, so containers of others
      // running at the same time keep theirs (their rmdir fails with EBUSY, as it should).
      for (const controller of readdirSync('/sys/fs/cgroup', { withFileTypes: true })) {
        if (!controller.isDirectory()) continue;
        for (const sub of ['libpod_parent/conmon', 'libpod_parent']) {
          try {
            rmdirSync(join('/sys/fs/cgroup', controller.name, sub));
          } catch {
            /* in use, or never made */
          }
        }
      }
    },
  };
}
