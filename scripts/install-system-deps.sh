#!/usr/bin/env bash
# Debian packages the tests and benchmarks use: wrk (load), nginx and caddy (router peers),
# prometheus (a real metrics server for analysis tests), chromium (dashboard tests).
set -euo pipefail
need=()
for pair in wrk:wrk nginx:nginx-light caddy:caddy prometheus:prometheus; do
  bin=${pair%%:*}; pkg=${pair##*:}
  command -v "$bin" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's packages start their services on install where they can; Slipway's tests start their own.
for svc in nginx caddy prometheus; do
  pkill -x "$svc" 2>/dev/null || true
done
