// What access control costs per API request (loopback only, bounded loops). After `npm run build`:
// node scripts/measure-api-auth.mjs
// 1. In process: verifying a token (SHA-256 + one indexed SQLite lookup) with 1000 tokens stored.
// 2. Through a real controller: GET /v1/health and /v1/status with the admin token, and a 403
//    (a viewer's POST), 500 sequential requests each: p50 and p99.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fetch } from 'undici';
import { SqliteStore } from '../dist/src/store/sqlite-store.js';
import { createToken, verifyToken } from '../dist/src/access/tokens.js';
import { TestProject } from '../dist/test/support/project.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-auth-bench-'));
try {
  const store = new SqliteStore(join(dir, 'state.db'));
  await store.migrate();
  let value = '';
  for (let i = 0; i < 1000; i++)
    value = (
      await createToken(store, { name: `t${i}`, role: 'viewer', environments: null, expiresAt: null, createdBy: 'b', now: Date.now() })
    ).value;
  const n = 50_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await verifyToken(store, value, Date.now());
  console.log(
    `verifyToken, 1000 tokens stored: ${(Number(process.hrtime.bigint() - t0) / n / 1000).toFixed(1)} µs per request (${n} runs)`,
  );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const p = new TestProject();
try {
  await p.writeConfig({ instances: 1 });
  const up = await p.cli(['up']);
  if (up.code) throw new Error(up.stderr);
  const { port } = JSON.parse(readFileSync(join(p.dir, '.slipway/controller.json'), 'utf8'));
  const admin = readFileSync(join(p.dir, '.slipway/token'), 'utf8').trim();
  const viewer = (await p.cli(['tokens', 'create', '--role', 'viewer'])).stdout.trim();
  const cases = [
    ['GET /v1/health (admin)', 'GET', '/v1/health', admin, 200],
    ['GET /v1/status (admin)', 'GET', '/v1/status', admin, 200],
    ['POST /v1/services/web/pause (viewer: 403)', 'POST', '/v1/services/web/pause', viewer, 403],
  ];
  for (const [label, method, path, token, want] of cases) {
    const ms = [];
    for (let i = 0; i < 500; i++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? '{}' : undefined,
      });
      await res.arrayBuffer();
      if (res.status !== want) throw new Error(`${label}: ${res.status}`);
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    console.log(`${label}: p50 ${ms[250].toFixed(2)} ms, p99 ${ms[495].toFixed(2)} ms (500 sequential requests)`);
  }
} finally {
  await p.cleanup();
}
