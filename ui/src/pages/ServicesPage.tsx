/**
 * Every environment the token may see, each with its services: health, the release serving and the
 * one before it, the rollout under way, instances, traffic per release.
 */
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

export function ServicesPage({ environments, onPick }: { environments: string[]; onPick: (env: string) => void }) {
  return (
    <section>
      <h1>Services</h1>
      {environments.length === 0 && <p className="muted">This token may see no environment of this project.</p>}
      {environments.map((env) => (
        <EnvironmentServices key={env} env={env} onPick={onPick} />
      ))}
    </section>
  );
}

function EnvironmentServices({ env, onPick }: { env: string; onPick: (env: string) => void }) {
  const { data, error } = useLive<StatusResponse>(inEnv('/v1/status', env), { periodMs: 2000 });
  return (
    <div className="environment" data-testid={`environment-${env}`}>
      <h2>
        {env}
        {data?.app ? <span className="muted"> · {data.app}</span> : null}
      </h2>
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
                <th>Previous</th>
                <th>Rollout</th>
                <th className="wide">Instances</th>
                <th className="wide">Traffic</th>
              </tr>
            </thead>
            <tbody>
              {data.services.map((s) => (
                <tr key={s.service} data-testid={`service-${s.service}`}>
                  <td>
                    <a href={href({ name: 'service', service: s.service })} onClick={() => onPick(env)}>
                      {s.service}
                    </a>
                  </td>
                  <td>
                    <Badge value={s.health} testId="health" />
                  </td>
                  <td data-testid="current">{s.currentRelease === null ? '—' : `#${s.currentRelease}`}</td>
                  <td data-testid="previous">{previousRelease(s) === null ? '—' : `#${previousRelease(s)}`}</td>
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
    </div>
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
