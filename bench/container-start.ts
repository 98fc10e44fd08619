/**
 * Container instances against process instances on this machine: start → first HTTP 200 and
 * stop, 5 runs each, plus the test image's build (FROM scratch, node + libraries) cold and cached.
 * Runs in a scratch podman store (test/support/podman-scratch.ts) and removes everything after.
 * Usage: npm run build && node dist/bench/container-start.js   (root, podman + runc installed)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { podmanScratch, podmanSkipReason } from '../test/support/podman-scratch.js';
import { get } from '../test/support/project.js';
import { PodmanDriver } from '../src/drivers/podman/podman-driver.js';
import { LocalDriver } from '../src/drivers/local/local-driver.js';
import { DEFAULT_RESTART_POLICY, type InstanceSpec, type RuntimeDriver } from '../src/drivers/driver.js';

const APP = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`;
const RUNS = 5;

async function measure(name: string, d: RuntimeDriver, spec: (i: number) => InstanceSpec): Promise<void> {
  await d.init();
  const starts: number[] = [];
  const stops: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const st = await d.start(spec(i));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${name}: no answer within 30 s`);
      if ((await get(`http://127.0.0.1:${st.port}/`).catch(() => ({ status: 0 }))).status === 200) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    starts.push(Math.round(performance.now() - t0));
    const t1 = performance.now();
    await d.stop(spec(i).id, { timeoutMs: 5000 });
    stops.push(Math.round(performance.now() - t1));
  }
  await d.detach();
  console.log(`${name}: start → first 200 (ms): ${starts.join(' ')}; stop (ms): ${stops.join(' ')}`);
}

const skip = podmanSkipReason();
if (skip) {
  console.log(`skipped: ${skip}`);
} else {
  const scratch = podmanScratch();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-ctr-'));
  try {
    let t = performance.now();
    const image = scratch.buildNodeImage('localhost/bench:1', { '/app/server.js': APP });
    console.log(`image build FROM scratch, cold: ${Math.round(performance.now() - t)} ms`);
    t = performance.now();
    scratch.buildNodeImage('localhost/bench:2', { '/app/server.js': APP });
    console.log(`same context again (layer cache): ${Math.round(performance.now() - t)} ms`);
    writeFileSync(join(dir, 'server.js'), APP);
    const base = { service: 'bench', release: 1, env: {}, logMaxBytes: 1e6, logFiles: 1, restart: DEFAULT_RESTART_POLICY };
    await measure('podman', new PodmanDriver({ stateDir: join(dir, 'podman'), cli: scratch.cli }), (i) => ({
      ...base,
      id: `c-${i}`,
      releaseDir: '',
      command: '',
      image,
    }));
    await measure('process', new LocalDriver({ stateDir: join(dir, 'local') }), (i) => ({
      ...base,
      id: `p-${i}`,
      releaseDir: dir,
      command: `${process.execPath} server.js`,
    }));
  } finally {
    scratch.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}
