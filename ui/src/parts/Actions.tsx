/**
 * The rollout actions the token's role allows (others are not shown): promote, pause, resume,
 * abort, rollback, approve. Each asks for confirmation, then shows what the controller answered.
 */
import { useState } from 'react';
import type { RolloutView, ServiceStatus } from '../../../src/api/types.js';
import type { WhoAmIResponse } from '../../../src/api/dashboard-types.js';
import { api, ApiError, enc, inEnv } from '../api.js';
import { may, type Role } from '../access.js';
import { live } from '../live.js';
import { ErrorBox } from '../App.js';

type ActionName = 'promote' | 'pause' | 'resume' | 'abort' | 'rollback' | 'approve';

interface Action {
  name: ActionName;
  label: string;
  role: Role;
  question: string;
  /** Asks for a reason (recorded in the audit log). */
  reason?: boolean;
  danger?: boolean;
}

/** Which actions make sense now for this service (before the role is checked). */
export function actionsFor(s: ServiceStatus): Action[] {
  const r = s.rollout;
  const active = r !== null && r.finishedAt === null;
  const out: Action[] = [];
  if (active && r.phase === 'AwaitingApproval' && r.approval?.state === 'pending')
    out.push({
      name: 'approve',
      label: 'Approve',
      role: 'approver',
      question: `Approve release #${r.toRelease} of ${s.service}?`,
      reason: true,
    });
  if (
    active &&
    (r.phase === 'Progressing' || r.phase === 'Paused') &&
    r.kind === 'deploy' &&
    r.strategy !== 'rolling' &&
    r.strategy !== 'recreate'
  )
    out.push({
      name: 'promote',
      label: 'Promote',
      role: 'deployer',
      question: `Promote release #${r.toRelease} of ${s.service} past ${stepText(r)}?`,
    });
  if (active && r.phase === 'Progressing')
    out.push({
      name: 'pause',
      label: 'Pause',
      role: 'deployer',
      question: `Pause the rollout of release #${r.toRelease} of ${s.service} where it is?`,
    });
  if (active && r.phase === 'Paused')
    out.push({
      name: 'resume',
      label: 'Resume',
      role: 'deployer',
      question: `Resume the rollout of release #${r.toRelease} of ${s.service}?`,
    });
  if (active)
    out.push({
      name: 'abort',
      label: 'Abort',
      role: 'deployer',
      question: `Abort the rollout of release #${r.toRelease} of ${s.service}? All traffic goes back to #${r.fromRelease ?? '—'}.`,
      reason: true,
      danger: true,
    });
  if (!active && s.currentRelease !== null)
    out.push({
      name: 'rollback',
      label: 'Roll back',
      role: 'deployer',
      question: `Roll ${s.service} back from release #${s.currentRelease} to the release that served before it?`,
      reason: true,
      danger: true,
    });
  return out;
}

function stepText(r: RolloutView): string {
  if (r.step !== undefined && r.steps !== undefined) return `step ${Math.min(r.step + 1, r.steps)} of ${r.steps} (${r.weight ?? 0}%)`;
  if (r.stage) return `stage ${r.stage}`;
  return 'where it is';
}

async function run(
  a: Action,
  s: ServiceStatus,
  env: string | null,
  who: WhoAmIResponse,
  reason: string,
  full: boolean,
): Promise<RolloutView> {
  const path = (verb: string) => inEnv(`/v1/services/${enc(s.service)}/${verb}`, env);
  switch (a.name) {
    case 'promote':
      return api('POST', path('promote'), { full });
    case 'pause':
      return api('POST', path('pause'), {});
    case 'resume':
      return api('POST', path('resume'), {});
    case 'abort':
      return api('POST', path('abort'), { by: who.name, reason });
    case 'rollback':
      return api('POST', path('rollback'), { by: who.name, ...(reason ? { message: reason } : {}) });
    case 'approve':
      return api('POST', inEnv('/v1/approvals', env), { target: String(s.rollout!.id), verdict: 'approve', by: who.name, comment: reason });
  }
}

export function Actions({ s, env, who }: { s: ServiceStatus; env: string | null; who: WhoAmIResponse }) {
  const [asking, setAsking] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const [full, setFull] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: string } | { error: ApiError } | null>(null);
  const allowed = actionsFor(s).filter((a) => may(who, a.role, env));

  const confirm = async () => {
    if (!asking) return;
    setBusy(true);
    try {
      const r = await run(asking, s, env, who, reason, full);
      // The controller answers once it took the request; the rollout moves on by itself, shown live below.
      setResult({ ok: `${asking.label}: accepted — rollout #${r.id} (${r.kind} of #${r.toRelease}). It goes on below.` });
    } catch (err) {
      setResult({ error: err instanceof ApiError ? err : new ApiError(0, 'INTERNAL', String(err)) });
    }
    setBusy(false);
    setAsking(null);
    setReason('');
    setFull(false);
    live.refresh();
  };

  return (
    <div className="actions" data-testid="actions">
      {allowed.map((a) => (
        <button key={a.name} className={a.danger ? 'danger' : undefined} data-testid={`action-${a.name}`} onClick={() => setAsking(a)}>
          {a.label}
        </button>
      ))}
      {result && 'ok' in result && (
        <div className="result ok" role="status" data-testid="action-result">
          {result.ok}
        </div>
      )}
      {result && 'error' in result && (
        <div data-testid="action-result">
          <ErrorBox error={result.error} />
        </div>
      )}
      {asking && (
        <div className="modal" role="dialog" aria-modal="true" aria-labelledby="confirm-title" data-testid="confirm">
          <div className="modal-box">
            <h2 id="confirm-title">{asking.label}?</h2>
            <p>{asking.question}</p>
            {asking.name === 'promote' && s.rollout?.strategy === 'canary' && (
              <label className="check">
                <input type="checkbox" checked={full} onChange={(e) => setFull(e.target.checked)} /> all the way to 100% now
              </label>
            )}
            {asking.reason && (
              <label>
                Reason (in the audit log)
                <input data-testid="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
              </label>
            )}
            <div className="modal-buttons">
              <button onClick={() => setAsking(null)} disabled={busy}>
                Cancel
              </button>
              <button
                className={asking.danger ? 'danger' : 'primary'}
                data-testid="confirm-yes"
                onClick={() => void confirm()}
                disabled={busy}
              >
                {busy ? 'Working…' : asking.label}
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
