/**
 * The shell run inside each fleet host (adapted from ../shared/research/ssh-fleet.md, where every
 * step and pitfall was tried on this kind of machine). Started as
 * `ip netns exec NS unshare --uts --mount --pid --fork --mount-proc --kill-child sh HOSTINIT NAME DIR CHECKOUT plain|systemd see|hide`:
 * it mounts a copy-on-write root (an overlay with the machine's `/` below and `DIR/NAME/upper`
 * above), takes its own hostname, and becomes PID 1 of the host's PID namespace: a reaping loop
 * beside sshd (or, in systemd mode, systemd in container mode, which starts sshd and every enabled
 * unit, in a cgroup of the host's own). The mounts live only in the host's private mount namespace (`--make-rprivate`), so
 * the machine never sees them and they vanish with the host's last process.
 */
export const HOSTINIT = `#!/bin/sh
# $1=host name  $2=fleet dir  $3=Slipway checkout  $4=plain|systemd (systemd: systemd is PID 1)  $5=see|hide the checkout
# $6=containers, then the machine's cgroup mounts as PATH|TYPE|OPTIONS (optional; not with systemd)
set -e
N=$1; D=$2/$N; R=$D/root
mount --make-rprivate /
mkdir -p "$D/upper" "$D/work" "$R"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$R"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
mkdir -p "$R$D" && mount --bind "$D" "$R$D"
# $3: Slipway's checkout, seen at the same path (read-only) even below /tmp or on another mount.
# $5=hide: the checkout is hidden instead (an empty read-only tmpfs over it), as on a real server.
if [ -n "$3" ] && [ "$5" = hide ]; then mkdir -p "$R$3" && mount -t tmpfs -o ro,size=4k,mode=0755 tmpfs "$R$3"
elif [ -n "$3" ]; then mkdir -p "$R$3" && mount --bind "$3" "$R$3" && mount -o remount,bind,ro "$R$3"; fi
INIT=$4
# $6=containers: runc needs the cgroup hierarchies (podman's cgroupfs manager puts each container
# below libpod_parent). "ip netns exec" mounted a fresh /sys without them, so mount the machine's again.
if [ "$6" = containers ]; then
  mount -t tmpfs -o mode=755 cgroup "$R/sys/fs/cgroup"
  shift 6
  for m in "$@"; do
    p=\${m%%|*}; rest=\${m#*|}; t=\${rest%%|*}; o=\${rest#*|}
    mkdir -p "$R$p" && mount -t "$t" -o "$o" "$t" "$R$p"
  done
fi
# systemd mode: its own cgroup2 tree (the caller moved us into a cgroup of our own and unshared it).
if [ "$INIT" = systemd ]; then
  mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
  exec chroot "$R" /usr/bin/env -i container=fleet /lib/systemd/systemd --system --unit=multi-user.target
fi
hostname "$N"
exec chroot "$R" /bin/bash -c '
  mkdir -p -m 0755 /run/sshd
  /usr/sbin/sshd -f "$1/sshd_config" -E "$1/sshd.log"
  trap "exit 0" TERM
  while :; do sleep 1000 & wait $!; done' init "$D"
`;

/** sshd's own configuration for one host: everything under the host's directory, root by key only. */
export function sshdConfig(dir: string, address: string): string {
  return [
    'Port 22',
    `ListenAddress ${address}`,
    `HostKey ${dir}/ssh_host_ed25519_key`,
    `PidFile ${dir}/sshd.pid`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // The second for users other than root (Fleet.addUser): sshd reads the file as the user, who may not enter DIR.
    `AuthorizedKeysFile ${dir}/authorized_keys .ssh/authorized_keys`,
    // The fleet directory sits below /tmp (world-writable), which StrictModes refuses.
    'StrictModes no',
    'UsePAM no',
    'UseDNS no',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** sshd's drop-in for a systemd-mode host (its own ssh.service reads /etc/ssh/sshd_config.d/). */
export function sshdDropIn(address: string): string {
  return [
    `ListenAddress ${address}`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    // No PAM, so no pam_systemd: on a busy machine the host's dbus may not reach its systemd (seen:
    // no inotify instance left), and every login then waits 2 × 25 s for a logind session.
    'UsePAM no',
    '',
  ].join('\n');
}
