#!/usr/bin/env bash
# Refreshes the dashboard's screenshots in docs/images/ from a run of its browser test
# (test/e2e/dashboard.test.ts writes them to test-artifacts/dashboard/). Needs /usr/bin/chromium
# (bash scripts/install-system-deps.sh chromium); builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/chromium ] || { echo "dashboard-screenshots: /usr/bin/chromium is missing: bash scripts/install-system-deps.sh chromium" >&2; exit 3; }
npm run build >/dev/null
rm -rf test-artifacts/dashboard
node scripts/run-tests.mjs e2e/dashboard
mkdir -p docs/images
for shot in services rollout rolled-back audit phone-service; do
  cp "test-artifacts/dashboard/$shot.png" "docs/images/dashboard-$shot.png"
done
echo "dashboard-screenshots: docs/images/dashboard-*.png updated" >&2
