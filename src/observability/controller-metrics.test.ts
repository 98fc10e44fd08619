import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerMetrics } from './controller-metrics.js';
import type { Rollout } from '../store/types.js';

const canary = { id: 7, environment: 'production', service: 'web', kind: 'deploy', startedAt: 1_000 } satisfies Partial<Rollout>;

function metrics(): ControllerMetrics {
  return new ControllerMetrics({
    activeRollouts: async () => [{ ...canary, phase: 'Progressing' } as Rollout],
    instances: () => [],
    routerStats: async () => ({ bootId: 'b', services: [] }),
  });
}

describe('ControllerMetrics', () => {
  it('times a rollback from the decision to undo (Degraded) to the stable release serving alone', async () => {
    const m = metrics();
    m.phaseChanged({ rollout: canary, phase: 'Paused', at: 5_000 });
    m.phaseChanged({ rollout: canary, phase: 'Degraded', at: 9_000 });
    m.phaseChanged({ rollout: canary, phase: 'RolledBack', at: 9_300 });
    const text = await m.text();
    const l = 'environment="production",service="web"';
    assert.match(text, new RegExp(`^slipway_rollback_duration_seconds_sum\\{${l}\\} 0\\.3$`, 'm'));
    assert.match(text, new RegExp(`^slipway_rollback_duration_seconds_bucket\\{le="0\\.25",${l}\\} 0$`, 'm'));
    assert.match(text, new RegExp(`^slipway_rollback_duration_seconds_bucket\\{le="0\\.5",${l}\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^slipway_rollout_duration_seconds_sum\\{${l},kind="deploy",outcome="RolledBack"\\} 8\\.3$`, 'm'));
    assert.match(text, new RegExp(`^slipway_rollout_phase_transitions_total\\{${l},kind="deploy",phase="Degraded"\\} 1$`, 'm'));
    assert.match(text, new RegExp(`^slipway_rollouts_active\\{${l},kind="deploy",phase="Progressing"\\} 1$`, 'm'));
  });

  it('counts a rollout undone within one step as taking no time to roll back, and a healthy one not at all', async () => {
    const m = metrics();
    m.phaseChanged({ rollout: { ...canary, id: 8 }, phase: 'RolledBack', at: 4_000 });
    m.phaseChanged({ rollout: { ...canary, id: 9 }, phase: 'Healthy', at: 4_000 });
    const text = await m.text();
    assert.match(text, /^slipway_rollback_duration_seconds_count\{environment="production",service="web"\} 1$/m);
    assert.match(text, /^slipway_rollback_duration_seconds_sum\{environment="production",service="web"\} 0$/m);
    assert.match(
      text,
      /^slipway_rollout_duration_seconds_count\{environment="production",service="web",kind="deploy",outcome="Healthy"\} 1$/m,
    );
  });

  it('counts analysis verdicts by check', async () => {
    const m = metrics();
    m.measured('production', 'web', 'error-rate', 'fail');
    m.measured('production', 'web', 'error-rate', 'fail');
    m.measured('production', 'web', 'latency', 'pass');
    const text = await m.text();
    assert.match(
      text,
      /^slipway_analysis_measurements_total\{environment="production",service="web",check="error-rate",verdict="fail"\} 2$/m,
    );
    assert.match(text, /^slipway_analysis_measurements_total\{environment="production",service="web",check="latency",verdict="pass"\} 1$/m);
  });
});
