/** The environment's feature flags as they are in force: on or off, rollout share, rules, and what differs from slipway.yaml. */
import { inEnv } from '../api.js';
import { ErrorBox } from '../App.js';
import { useLive } from '../live.js';

interface FlagRow {
  key: string;
  type: string;
  description?: string;
  state: { enabled: boolean; rules: unknown[]; rollout: { percent: number; by: string } };
  differs: string[];
  version: number;
}

export function FlagsPage({ env }: { env: string | null }) {
  const { data, error } = useLive<{ environment: string; flags: FlagRow[] }>(env === null ? null : inEnv('/v1/flags', env), {
    periodMs: 3000,
    evented: true,
  });
  return (
    <section>
      <h1>Flags{env ? <span className="muted"> · {env}</span> : null}</h1>
      {error && <ErrorBox error={error} />}
      {data && data.flags.length === 0 && <p className="muted">No flags in slipway.yaml (see docs/flags.md).</p>}
      {data && data.flags.length > 0 && (
        <div className="scroll">
          <table data-testid="flags">
            <thead>
              <tr>
                <th>Flag</th>
                <th>State</th>
                <th>Rollout</th>
                <th>Rules</th>
                <th className="wide">Changed at run time</th>
              </tr>
            </thead>
            <tbody>
              {data.flags.map((f) => (
                <tr key={f.key}>
                  <td>
                    {f.key} <span className="muted small">{f.type}</span>
                    {f.description && <div className="muted small">{f.description}</div>}
                  </td>
                  <td>
                    <span className={`badge ${f.state.enabled ? 'ok' : 'none'}`}>{f.state.enabled ? 'on' : 'off'}</span>
                  </td>
                  <td>
                    {f.state.rollout.percent}% <span className="muted small">by {f.state.rollout.by}</span>
                  </td>
                  <td>{f.state.rules.length}</td>
                  <td className="wide">{f.differs.length ? `${f.differs.join(', ')} (v${f.version})` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
