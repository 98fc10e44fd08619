#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
// Unit tests sit beside the code (dist/src/**/*.test.js); integration tests live in dist/test/.
// Usage: node scripts/run-tests.mjs [--unit | --integration] [filter...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--integration') ? 'integration' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out = []) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [
  ...(only !== 'integration' ? walk('dist/src') : []),
  ...(only !== 'unit' ? walk('dist/test') : []),
].filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();

if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((f) => relative('dist', f)).join(', ')}`);
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=240000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
