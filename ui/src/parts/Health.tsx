/** A service's health or a rollout's phase as a coloured badge (colour plus word: readable without colour too). */
const TONE: Record<string, string> = {
  Healthy: 'ok',
  Successful: 'ok',
  ok: 'ok',
  succeeded: 'ok',
  live: 'ok',
  pending: 'busy',
  superseded: 'none',
  Progressing: 'busy',
  Running: 'busy',
  AwaitingApproval: 'wait',
  Paused: 'wait',
  Inconclusive: 'wait',
  Degraded: 'bad',
  Down: 'bad',
  Failed: 'bad',
  failed: 'bad',
  Error: 'bad',
  RolledBack: 'bad',
  'rolled-back': 'bad',
  NotDeployed: 'none',
};

export function Badge({ value, testId }: { value: string; testId?: string }) {
  return (
    <span className={`badge ${TONE[value] ?? 'none'}`} data-testid={testId}>
      {value}
    </span>
  );
}
