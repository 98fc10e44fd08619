#!/usr/bin/env bash
# Debian packages the tests and benchmarks use: prometheus (a real metrics server for analysis
# tests), wrk (load), nginx and caddy (router peers in bench/router.ts), age (the stock age tool
# reads what `slipway secrets` wrote), sshd and nft (test server fleets in network namespaces),
# haproxy (the load balancer Slipway drives), podman with runc, skopeo and docker-registry
# (container releases; crun fails on this kind of machine, see ../shared/research/containers.md),
# htpasswd (a registry that requires credentials, in the container tests), chromium (the web
# dashboard's browser tests and benchmark, driven by playwright-core), sudo (test fleet hosts log in
# as a non-root user with passwordless sudo: test/fleet/fleet-sudo.test.ts), g++, make and python3
# (scripts/on-node.sh compiles better-sqlite3 for Node.js 22 and 24 in CI).
# Usage: install-system-deps.sh [BINARY...]   (default: every binary below)
# Installs only what is missing, says what it installs, and exits non-zero when it cannot.
set -euo pipefail
declare -A package_of=([prometheus]=prometheus [promtool]=prometheus [wrk]=wrk [nginx]=nginx-light [caddy]=caddy [age]=age
  [sshd]=openssh-server [nft]=nftables [haproxy]=haproxy [podman]=podman [runc]=runc [skopeo]=skopeo
  [docker-registry]=docker-registry [htpasswd]=apache2-utils [chromium]=chromium [sudo]=sudo
  [g++]=g++ [make]=make [python3]=python3)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(prometheus wrk nginx caddy age sshd nft haproxy podman runc skopeo docker-registry htpasswd chromium sudo g++ make python3)
need=()
for bin in "${wanted[@]}"; do
  pkg=${package_of[$bin]:-}
  if [ -z "$pkg" ]; then echo "install-system-deps: no package known for \"$bin\"" >&2; exit 2; fi
  command -v "$bin" >/dev/null 2>&1 && continue
  [[ " ${need[*]:-} " == *" $pkg "* ]] || need+=("$pkg")
done
[ ${#need[@]} -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ]; then echo "install-system-deps: need root to install ${need[*]}" >&2; exit 3; fi
if ! command -v apt-get >/dev/null 2>&1; then echo "install-system-deps: no apt-get to install ${need[*]}" >&2; exit 3; fi
echo "install-system-deps: installing ${need[*]} (apt-get)" >&2
# Debian starts a package's service on install where it can; Slipway's tests start their own.
# Forbid that for the install (the Debian way, policy-rc.d) instead of killing processes by name
# afterwards, which would also kill other people's nginx or prometheus on a shared machine.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
# Several test runs may install at once: wait for dpkg's lock rather than fail on it.
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "install-system-deps: installed ${need[*]}" >&2
