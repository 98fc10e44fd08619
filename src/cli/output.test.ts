/**
 * The progress line of `deploy --wait` against a fake terminal 80 columns wide, and against a
 * pipe: on a terminal no redraw is wider than the terminal (so none wraps and leaves a stale copy
 * behind); off a terminal a line is printed only when its text changes, even while a timed pause
 * counts down on every poll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutResponse, RolloutView, ServiceStatus } from '../api/types.js';
import type { ControllerClient } from '../client/client.js';
import { followRollout } from './follow-rollout.js';
import { fitWidth, makeOutput, visibleLength, type OutStream } from './output.js';

class FakeStream implements OutStream {
  data = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number,
  ) {}
  write(s: string): boolean {
    this.data += s;
    return true;
  }
}

function service(traffic: [number, number][]): ServiceStatus {
  return {
    service: 'checkout-frontend',
    url: 'http://127.0.0.1:8080/',
    health: 'Progressing',
    currentRelease: 41,
    desired: 4,
    rollout: null,
    instances: [],
    traffic: traffic.map(([release, share]) => ({ release, share, backends: 2, requests: 1000, errors5xx: 0 })),
  };
}

const base: RolloutView = {
  id: 17,
  kind: 'deploy',
  fromRelease: 41,
  toRelease: 42,
  targetRelease: 42,
  phase: 'Progressing',
  reason: 'Progressing',
  message: '',
  desired: 4,
  ready: 4,
  startedAt: 0,
  finishedAt: null,
  strategy: 'canary',
  analysis: [],
};
const check = (key: string, phase: 'Running' | 'Successful') => ({
  key,
  check: key.split(':')[1]!,
  phase,
  reason: '',
  counts: { passed: 3, failed: 0, inconclusive: 1, errors: 0 },
  last: null,
});

/** A canary through a timed pause (its countdown changes on every poll), analysis, then live; and a blue-green preview. */
function script(): RolloutResponse[] {
  const canary: RolloutResponse[] = [];
  for (let left = 30; left > 0; left -= 0.2) {
    canary.push({
      service: service([
        [41, 0.9],
        [42, 0.1],
      ]),
      rollout: {
        ...base,
        phase: 'Paused',
        reason: 'Pausing',
        step: 1,
        steps: 5,
        weight: 10,
        message: `pausing 30s (${+left.toFixed(1)}s left)`,
        analysis: [check('bg:error-rate-under-one-percent', 'Running'), check('step2:latency-p99-vs-baseline', 'Running')],
      },
    });
  }
  const analysing = {
    service: service([
      [41, 0.5],
      [42, 0.5],
    ]),
    rollout: {
      ...base,
      step: 2,
      steps: 5,
      weight: 50,
      analysis: [check('bg:error-rate-under-one-percent', 'Running'), check('step2:latency-p99-vs-baseline', 'Running')],
    },
  };
  const blueGreen = {
    service: service([[41, 1]]),
    rollout: {
      ...base,
      strategy: 'blueGreen',
      stage: 'AwaitingPromotion',
      previewUrl: 'http://127.0.0.1:9090/',
      phase: 'Paused' as const,
      message: 'release 42 is ready on 4 instance(s) and answers on preview port 9090',
    },
  };
  const live = {
    service: service([[42, 1]]),
    rollout: { ...base, phase: 'Healthy' as const, finishedAt: 1, step: 5, steps: 5, weight: 100 },
  };
  const autoPromote = [3, 2.8, 2.6, 1, 0.4].map((left) => ({
    ...blueGreen,
    rollout: { ...blueGreen.rollout, reason: 'WaitingToPromote', message: `promoting automatically in ${left}s` },
  }));
  return [...canary, analysing, analysing, analysing, blueGreen, blueGreen, ...autoPromote, live];
}

async function follow(stderr: FakeStream, color = false): Promise<void> {
  const responses = script();
  const client = { rollout: async () => responses.shift()! } as unknown as ControllerClient;
  const out = makeOutput({ stdout: new FakeStream(stderr.isTTY, stderr.columns), stderr, env: color ? {} : { NO_COLOR: '1' } });
  await followRollout(client, 17, out, { json: false, pollMs: 0 });
}

// eslint-disable-next-line no-control-regex -- taking the redraw codes apart is the point
const REDRAW = /\r\x1b\[2K/;

describe('progress line', () => {
  it('on an 80-column terminal, no redraw is wider than the terminal, with or without colour', async () => {
    for (const color of [false, true]) {
      const stderr = new FakeStream(true, 80);
      await follow(stderr, color);
      const draws = stderr.data
        .split('\n')
        .flatMap((l) => l.split(REDRAW))
        .filter(Boolean);
      assert.ok(draws.length >= 3, stderr.data);
      for (const d of draws) assert.ok(visibleLength(d) <= 80, `${visibleLength(d)} columns: ${JSON.stringify(d)}`);
      // The countdown is shown live on a terminal, cut lines end with an ellipsis.
      assert.ok(
        draws.some((d) => d.includes('…')),
        'long lines are cut with an ellipsis',
      );
    }
  });

  it('off a terminal, prints a line only when its text changes (not on each poll of a pause)', async () => {
    const stderr = new FakeStream(false);
    await follow(stderr);
    const lines = stderr.data.trimEnd().split('\n');
    assert.equal(new Set(lines).size, lines.length, `repeated lines:\n${stderr.data}`);
    // One line for the pause, one for the analysis step, two for the blue-green preview (waiting, then promoting automatically), one when live.
    assert.equal(lines.length, 5, stderr.data);
    assert.match(lines[3]!, /— promoting automatically {2}preview/);
    assert.match(
      lines[0]!,
      /step 2\/5 weight 10% {2}ready 4\/4 {2}— pausing 30s {2}traffic r41 90% · r42 10% {2}analysis: background error-rate-under-one-percent running, step 3\/5 latency-p99-vs-baseline running$/,
    );
    assert.match(lines[2]!, /AwaitingPromotion.*preview http:\/\/127\.0\.0\.1:9090\//);
  });

  it('fitWidth keeps colour codes whole and closes them', () => {
    const line = `\x1b[36m${'x'.repeat(100)}\x1b[0m`;
    const fitted = fitWidth(line, 20);
    assert.equal(visibleLength(fitted), 20);
    assert.ok(fitted.endsWith('…\x1b[0m'));
    assert.equal(fitWidth('short', 20), 'short');
  });
});
