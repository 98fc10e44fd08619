/**
 * What a fleet host (a network namespace whose root is an overlay over this machine's /) needs to
 * run containers with podman, found by trying it (docs/servers.md, "Containers on test hosts"):
 *
 * - the machine's cgroup hierarchies inside the host (HOSTINIT's `containers` argument mounts them
 *   again: `ip netns exec` gave the host a fresh /sys without them): runc refuses `cgroups = "disabled"` ("not compatible with NoCgroups"), and crun fails
 *   on these hybrid cgroup machines anyway (../shared/research/containers.md);
 * - storage below the host's own directory, which is the machine's ext4 seen through a bind mount:
 *   native overlay cannot stack on the host's overlay root ("unable to create kernel-style
 *   whiteout"), and podman caches that verdict in its runroot, so the runroot is a fresh path too;
 * - runc, cgroupfs, ulimits podman may set without CAP_SYS_RESOURCE, file events (no systemd);
 * - the fleet's bridge addresses as insecure registries (plain HTTP), for the docker client whose
 *   engine (a podman service) reads registries.conf and takes no `--tls-verify`.
 *
 * All of it is the host's own /etc/containers (in its overlay): nothing of the machine changes.
 */
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** A shell script run inside the host (as root) once it is up. */
export function containersSetup(hostDir: string, gateway: string): string {
  const storage = join(hostDir, 'containers');
  return `set -e
mkdir -p /etc/containers ${storage}/storage ${storage}/tmp
nofile=$(ulimit -Hn)
cat > /etc/containers/storage.conf <<EOF
[storage]
driver = "overlay"
graphroot = "${storage}/storage"
runroot = "/run/slipway-containers"
EOF
cat > /etc/containers/containers.conf <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "${storage}/tmp"
EOF
cat > /etc/containers/registries.conf <<EOF
unqualified-search-registries = []
[[registry]]
location = "${gateway}"
insecure = true
EOF
`;
}

/** conmon's cgroups (cgroupfs on v1) that are empty: the containers of hosts that stopped. */
export function removeEmptyLibpodCgroups(): void {
  let controllers: string[];
  try {
    controllers = readdirSync('/sys/fs/cgroup', { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return;
  }
  for (const c of controllers) {
    for (const sub of ['libpod_parent/conmon', 'libpod_parent']) {
      try {
        rmdirSync(join('/sys/fs/cgroup', c, sub));
      } catch {
        /* in use by containers of others, or never made */
      }
    }
  }
}

/** The machine's cgroup mounts as `PATH|TYPE|OPTIONS`, for HOSTINIT's `containers` argument to mount again in a host. */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => (f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]!.startsWith('/sys/fs/cgroup/'))
    .map((f) => `${f[1]}|${f[2]}|${f[3]}`);
}

/** A shell script run inside a `containers` host: a Docker-compatible engine (podman's API service) on /run/docker.sock. */
export function dockerEngineScript(hostDir: string): string {
  return `set -e
mkdir -p /usr/local/lib/slipway-test
cp /usr/bin/podman /usr/local/lib/slipway-test/podman-engine
setsid -f /usr/local/lib/slipway-test/podman-engine system service --time=0 unix:///run/docker.sock </dev/null >>${hostDir}/docker-engine.log 2>&1
`;
}

/** Hides podman on a host (a bind mount in its own mount namespace): `podman` then fails as if absent. */
export const HIDE_PODMAN = `set -e
printf '#!/bin/sh\\necho "podman is hidden on this test host (docker only)" >&2\\nexit 127\\n' > /usr/local/lib/slipway-test/no-podman
chmod 755 /usr/local/lib/slipway-test/no-podman
mount --bind /usr/local/lib/slipway-test/no-podman /usr/bin/podman
`;
