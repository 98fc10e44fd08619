/** Every service of the environment: health, the release serving and the one before it, the rollout under way, instances. */
import type { ServiceStatus, StatusResponse } from '../../../src/api/types.js';
import { inEnv } from '../api.js';
import { ErrorBox } from '../App.js';
import { useLive } from '../live.js';
import { Badge } from '../parts/Health.js';
import { href } from '../route.js';
import { ago, pct } from '../format.js';

/** The release that served before the current one: what the latest rollout replaced. */
export function previousRelease(s: ServiceStatus): number | null {
  const r = s.rollout;
  if (!r) return null;
  if (r.toRelease === s.currentRelease) return r.fromRelease;
  // The latest rollout did not (yet) change what serves: it would replace the current release.
  return r.fromRelease === s.currentRelease ? null : r.fromRelease;
}

export function ServicesPage({ env }: { env: string | null }) {
  const { data, error } = useLive<StatusResponse>(env === null ? null : inEnv('/v1/status', env), 2000);
  return (
    <section>
      <h1>
        Services
        {data ? (
          <span className="muted">
            {' '}
            · {data.app || 'app'} in {data.environment}
          </span>
        ) : null}
      </h1>
      {error && <ErrorBox error={error} />}
      {!data && !error && <p className="muted">Loading…</p>}
      {data && data.services.length === 0 && <p className="muted">No services yet: deploy one with slipway up.</p>}
      {data && data.services.length > 0 && (
        <div className="scroll">
          <table className="services" data-testid="services">
            <thead>
              <tr>
                <th>Service</th>
                <th>Health</th>
                <th>Release</th>
                <th className="wide">Previous</th>
                <th>Rollout</th>
                <th className="wide">Instances</th>
                <th className="wide">Traffic</th>
              </tr>
            </thead>
            <tbody>
              {data.services.map((s) => (
                <tr key={s.service} data-testid={`service-${s.service}`}>
                  <td>
                    <a href={href({ name: 'service', service: s.service })}>{s.service}</a>
                  </td>
                  <td>
                    <Badge value={s.health} testId="health" />
                  </td>
                  <td data-testid="current">{s.currentRelease === null ? '—' : `#${s.currentRelease}`}</td>
                  <td className="wide" data-testid="previous">
                    {previousRelease(s) === null ? '—' : `#${previousRelease(s)}`}
                  </td>
                  <td>{s.rollout ? <RolloutCell s={s} /> : '—'}</td>
                  <td className="wide">
                    {s.instances.filter((i) => i.healthy && i.state === 'running').length}/{s.desired} healthy
                  </td>
                  <td className="wide">
                    {s.traffic
                      .filter((t) => t.share > 0)
                      .map((t) => `#${t.release} ${pct(t.share)}`)
                      .join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RolloutCell({ s }: { s: ServiceStatus }) {
  const r = s.rollout!;
  return (
    <span>
      #{r.id} {r.kind} <Badge value={r.phase} />
      {r.weight !== undefined && r.finishedAt === null ? ` ${r.weight}%` : ''}
      <span className="muted"> {ago(r.finishedAt ?? r.startedAt)}</span>
    </span>
  );
}
