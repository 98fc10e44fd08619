#!/usr/bin/env bash
# Runs the log rotation test (no line lost or split while an instance writes as fast as it can)
# N times in a row (default 50), stopping at the first failure. Not part of `npm test`.
# Usage: npm run build && scripts/soak-log-rotation.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
for i in $(seq 1 "$n"); do
  if ! out=$(node --test --test-name-pattern='rotates a growing log by rename' dist/test/drivers/local-driver.test.js 2>&1); then
    echo "run $i of $n FAILED:"; echo "$out" | tail -40; exit 1
  fi
  echo "$out" | grep -q '^# pass 1$' || { echo "run $i: the test did not run"; echo "$out" | tail -20; exit 1; }
  echo "run $i of $n: ok"
done
echo "all $n runs passed"
