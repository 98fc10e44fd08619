/**
 * A seeded chaos run: under mixed GET/POST load, the controller, an instance, the router's proxy
 * worker and the whole router (its supervisor) are SIGKILLed at seeded moments across a rolling,
 * a canary and a blue-green rollout. Each kill is measured on its own: requests failed while it
 * healed, and the longest outage fresh connections saw. What must hold: controller kills fail
 * nothing; an instance kill fails at most the POSTs in flight on it (GETs are retried on another
 * instance, a POST is never sent twice); a worker kill fails at most what was in flight; every
 * rollout still completes; and every POST the app executed, it executed once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StatusResponse } from '../../src/api/types.js';
import { ControllerClient } from '../../src/client/client.js';
import type { EventRecord } from '../../src/store/types.js';
import { seededRandom } from '../../src/core/seeded-random.js';
import { waitFor } from '../../src/core/wait-for.js';
import { startLoad, type Load } from '../support/load.js';
import { probeOutage } from '../support/outage.js';
import { TestProject } from '../support/project.js';

type Kill = 'controller' | 'instance' | 'worker' | 'router';
const KILLS: Kill[] = ['controller', 'instance', 'worker', 'router'];
const SEED = Number(process.env.CHAOS_SEED ?? 20261129);
const GET_CONCURRENCY = 3;
const POST_CONCURRENCY = 1;

interface KillResult {
  kind: Kill;
  phase: string;
  failedGets: number;
  failedPosts: number;
  longestOutageMs: number;
  refused: number;
  /** Each failure since the kill: when (ms after it), GET or POST, and why. */
  reasons: string[];
  /** What the controller recorded while it healed (instances started and stopped, traffic shifts): read when a kill failed too much. */
  events: string[];
  healedMs: number;
}

/** The failures a load recorded from index `from` on, timed from `t0`. */
function failuresSince(load: Load, from: number, t0: number, label: string): string[] {
  const s = load.snapshot();
  return s.failures.slice(from).map((f, i) => `+${Math.round(s.failureTimes[from + i]! - t0)}ms ${label} ${f}`);
}

describe(`chaos: seeded kills across rolling, canary and blue-green rollouts (seed ${SEED})`, () => {
  const p = new TestProject();
  const workLog = () => join(p.dir, 'work.log');
  const random = seededRandom(SEED);
  const results: KillResult[] = [];
  let gets: Load;
  let posts: Load;

  const status = async (): Promise<StatusResponse> => await ControllerClient.connect(p.dir).status();
  const eventsAfter = (after: number): Promise<EventRecord[]> => ControllerClient.connect(p.dir).eventsAfter({ after });
  const write = (version: string, strategy = '') =>
    p.writeConfig({
      env: { VERSION: version, WORK_LOG: workLog() },
      extra: strategy,
      tail: 'analysis:\n  smoke: { http: { path: /healthz, expect: 200 }, count: 2, interval: 200ms }',
    });

  /** Everything serving again: controller answering, router up, the service Healthy or progressing with 2 ready. */
  async function healed(): Promise<void> {
    await waitFor(
      'the system to heal',
      async () => {
        try {
          const s = await status();
          const web = s.services[0];
          return s.router.up && web !== undefined && web.instances.filter((i) => i.healthy && i.state === 'running').length >= 2;
        } catch {
          return false;
        }
      },
      30_000,
      50,
    );
  }

  async function kill(kind: Kill, phase: string): Promise<void> {
    const s = await status();
    const seen = await eventsAfter(0).then((es) => es.at(-1)?.id ?? 0);
    const g0 = gets.snapshot();
    const w0 = posts.snapshot();
    const before = { gets: g0.failed, posts: w0.failed };
    const probe = probeOutage(p.port, 30_000);
    const t0 = performance.now();
    if (kind === 'controller') process.kill(p.controllerPid(), 'SIGKILL');
    else if (kind === 'instance') {
      // An instance of the release users are served by. (Killing a candidate while its analysis
      // measures it fails the analysis and rolls back, as it should: canary.test.ts covers that.)
      const web = s.services[0]!;
      const live = web.instances.filter((i) => i.healthy && i.pid !== null && !i.retiring);
      const current = live.filter((i) => i.release === web.currentRelease);
      const serving = current.length > 0 ? current : live;
      process.kill(serving[Math.floor(random() * serving.length)]!.pid!, 'SIGKILL');
    } else if (kind === 'worker') process.kill(s.router.workerPid!, 'SIGKILL');
    else process.kill(s.router.pid!, 'SIGKILL');
    if (kind === 'controller') {
      // A killed controller stays dead until someone runs `slipway up` (the data plane serves meanwhile).
      await waitFor('load to go on without a controller', () => gets.snapshot().ok > 0);
      const up = await p.cli(['up', '--no-wait']);
      assert.equal(up.code, 0, up.stderr + up.stdout);
    }
    await healed();
    const healedMs = Math.round(performance.now() - t0);
    const outage = await probe.stop();
    const events = (await eventsAfter(seen)).map((e) => `${new Date(e.at).toISOString().slice(17, 23)} ${e.type}: ${e.message}`);
    results.push({
      kind,
      phase,
      failedGets: gets.snapshot().failed - before.gets,
      failedPosts: posts.snapshot().failed - before.posts,
      longestOutageMs: Math.round(outage.longestMs),
      refused: outage.refused,
      reasons: [...failuresSince(gets, g0.failures.length, t0, 'GET'), ...failuresSince(posts, w0.failures.length, t0, 'POST')],
      events: [`${new Date(Date.now() - (performance.now() - t0)).toISOString().slice(17, 23)} the kill`, ...events],
      healedMs,
    });
  }

  /** Starts a rollout, kills each kind once at seeded moments while it runs, then waits for it to finish. */
  async function rolloutUnderChaos(phase: string, version: string, strategy: string): Promise<void> {
    await write(version, strategy);
    const deploy = await p.cli(['deploy', 'web', '--no-wait', '-m', `chaos ${phase}`]);
    assert.equal(deploy.code, 0, deploy.stderr);
    const order = [...KILLS].sort(() => random() - 0.5);
    for (const k of order) {
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 400)));
      await kill(k, phase);
    }
    await waitFor(
      `the ${phase} rollout to finish`,
      async () => {
        const web = (await status()).services[0]!;
        return web.rollout?.finishedAt != null && web.rollout.toRelease === web.currentRelease ? web : undefined;
      },
      120_000,
      200,
    );
  }

  before(async () => {
    await write('v1');
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    gets = startLoad(p.url, { concurrency: GET_CONCURRENCY, maxMs: 600_000 });
    posts = startLoad(new URL('/work', p.url).href, {
      concurrency: POST_CONCURRENCY,
      maxMs: 600_000,
      method: 'POST',
      body: (seq) => `job-${seq}`,
    });
  });

  after(async () => {
    await gets?.stop();
    await posts?.stop();
    await p.cleanup();
  });

  it('rolling, canary and blue-green rollouts complete through every kind of kill', async () => {
    await rolloutUnderChaos('rolling', 'v2', '');
    await rolloutUnderChaos('canary', 'v3', '    strategy:\n      canary:\n        steps: [ { weight: 50 }, { pause: 1s } ]');
    await rolloutUnderChaos(
      'blue-green',
      'v4',
      '    strategy:\n      blueGreen:\n        prePromotionAnalysis: [smoke]\n        autoPromote: true\n        scaleDownDelay: 1s',
    );
    const g = await gets.stop();
    const w = await posts.stop();

    console.log(`chaos seed ${SEED}: GET sent ${g.sent}, failed ${g.failed}; POST sent ${w.sent}, failed ${w.failed}`);
    for (const kind of KILLS) {
      const rs = results.filter((r) => r.kind === kind);
      console.log(
        `  ${kind.padEnd(10)} ×${rs.length}: failed GET ${rs.reduce((n, r) => n + r.failedGets, 0)}, POST ${rs.reduce((n, r) => n + r.failedPosts, 0)}; longest outage ${Math.max(...rs.map((r) => r.longestOutageMs))} ms; refused ${rs.reduce((n, r) => n + r.refused, 0)}`,
      );
    }
    if (g.failures.length || w.failures.length) console.log(`  failures: ${[...g.failures, ...w.failures].slice(0, 10).join(' | ')}`);

    for (const r of results) {
      const where = `${r.kind} kill during the ${r.phase} rollout (healed in ${r.healedMs} ms; failures: ${r.reasons.join(' | ') || 'none'}; events: ${r.events.join(' | ')})`;
      if (r.kind === 'controller') assert.equal(r.failedGets + r.failedPosts, 0, `${where} failed requests`);
      if (r.kind === 'instance') {
        assert.equal(r.failedGets, 0, `${where}: a GET is retried on another instance`);
        assert.ok(r.failedPosts <= POST_CONCURRENCY, `${where}: at most the POSTs in flight fail (${r.failedPosts})`);
      }
      if (r.kind === 'worker')
        assert.ok(r.failedGets + r.failedPosts <= GET_CONCURRENCY + POST_CONCURRENCY, `${where}: at most what was in flight fails`);
      if (r.kind !== 'router') assert.equal(r.refused, 0, `${where}: a connection was refused`);
    }
    // Every POST the app executed, it executed once (the router never sends a POST twice).
    const jobs = readFileSync(workLog(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]!);
    assert.equal(new Set(jobs).size, jobs.length, 'a POST was executed twice');
    assert.ok(w.ok > 50 && g.ok > 200, `too little load to mean anything: ${g.ok} GETs, ${w.ok} POSTs`);
  });
});
