// What made `status` slow under load, before and after, measured side by side in one run so that
// both see the same machine load (loopback only, bounded loops). After `npm run build`:
// node scripts/measure-status-cost.mjs [SOURCE_DIR]
// 1. Drift's source fingerprint: a walk of the tree each time (before) against the watched
//    fingerprint (after: reused while inotify reports nothing), interleaved, 300 each. The tree is
//    SOURCE_DIR, default this repository's src/ (a few hundred files).
// 2. A GET to a loopback HTTP server with a new connection each time (agent: false, as the router
//    admin client did) against one keep-alive agent (as it does now), interleaved, 1000 each.
import { createServer, request, Agent } from 'node:http';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sourceFingerprint, watchedSourceFingerprint } from '../dist/src/controller/drift.js';
import { closeSourceWatches } from '../dist/src/controller/source-watch.js';

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const line = (what, xs) => `${what.padEnd(44)} p50 ${q(xs, 0.5).toFixed(3)} ms  p99 ${q(xs, 0.99).toFixed(3)} ms`;

const tree = resolve(process.argv[2] ?? 'src');
const walk = [];
const watched = [];
await watchedSourceFingerprint(tree, undefined);
await watchedSourceFingerprint(tree, undefined); // trusted from here on
for (let i = 0; i < 300; i++) {
  let t = performance.now();
  await sourceFingerprint(tree, undefined);
  walk.push(performance.now() - t);
  t = performance.now();
  await watchedSourceFingerprint(tree, undefined);
  watched.push(performance.now() - t);
}
closeSourceWatches();
console.log(`source fingerprint of ${tree} (load average ${loadavg()[0].toFixed(2)}):`);
console.log(line('  walk every time (before)', walk));
console.log(line('  watched (after)', watched));

const server = createServer((req, res) => res.end('{"ok":true}'));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const keepAlive = new Agent({ keepAlive: true, timeout: 2000 });
const get = (agent) =>
  new Promise((ok, bad) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/routes', agent }, (res) => {
      res.resume();
      res.on('end', ok);
    });
    req.on('error', bad);
    req.end();
  });
const fresh = [];
const kept = [];
for (let i = 0; i < 1000; i++) {
  let t = performance.now();
  await get(false);
  fresh.push(performance.now() - t);
  t = performance.now();
  await get(keepAlive);
  kept.push(performance.now() - t);
}
keepAlive.destroy();
server.close();
console.log(`GET on loopback (load average ${loadavg()[0].toFixed(2)}):`);
console.log(line('  new connection each (agent: false, before)', fresh));
console.log(line('  one keep-alive agent (after)', kept));
