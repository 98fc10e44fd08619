/** The frame: sign-in, the environment shown, navigation, and the page of the URL's fragment. */
import { useCallback, useEffect, useState } from 'react';
import type { WhoAmIResponse } from '../../src/api/dashboard-types.js';
import { api, ApiError, whenUnauthorized } from './api.js';
import { currentToken, forgetToken, saveToken, takeToken } from './session.js';
import { href, usePage } from './route.js';
import { ServicesPage } from './pages/ServicesPage.js';
import { ServicePage } from './pages/ServicePage.js';
import { AuditPage } from './pages/AuditPage.js';
import { FlagsPage } from './pages/FlagsPage.js';

export function App() {
  const [who, setWho] = useState<WhoAmIResponse | undefined>();
  const [problem, setProblem] = useState<ApiError | undefined>();
  const [signedIn, setSignedIn] = useState(() => currentToken() !== null);
  const [env, setEnv] = useState<string | null>(null);
  /** Bumped when another token arrives, to ask who it is. */
  const [session, setSession] = useState(0);
  const page = usePage();

  const signOut = useCallback((why?: ApiError) => {
    forgetToken();
    setWho(undefined);
    setSignedIn(false);
    setProblem(why);
  }, []);
  useEffect(() => whenUnauthorized((e) => signOut(e)), [signOut]);
  // Another `slipway dashboard` link opened in this tab: only its fragment changed, so no new page load.
  useEffect(() => {
    const on = () => {
      if (!/(?:^#|&)token=/.test(window.location.hash)) return;
      takeToken();
      setWho(undefined);
      setSignedIn(true);
      setSession((n) => n + 1);
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  useEffect(() => {
    if (!signedIn) return;
    api<WhoAmIResponse>('GET', '/v1/whoami').then(
      (w) => {
        setWho(w);
        setProblem(undefined);
        setEnv((e) => e ?? w.defaultEnvironment ?? w.visibleEnvironments[0] ?? null);
      },
      (e: ApiError) => setProblem(e),
    );
  }, [signedIn, session]);

  if (!signedIn)
    return (
      <Login
        problem={problem}
        onToken={(t) => {
          saveToken(t);
          setSignedIn(true);
        }}
      />
    );
  if (!who) return <main className="page">{problem ? <ErrorBox error={problem} /> : <p className="muted">Connecting…</p>}</main>;

  return (
    <>
      <header className="top">
        <a className="brand" href="#/">
          Slipway
        </a>
        <nav>
          <a href={href({ name: 'services' })} aria-current={page.name === 'services' || page.name === 'service' ? 'page' : undefined}>
            Services
          </a>
          <a href={href({ name: 'audit' })} aria-current={page.name === 'audit' ? 'page' : undefined}>
            Audit
          </a>
          <a href={href({ name: 'flags' })} aria-current={page.name === 'flags' ? 'page' : undefined}>
            Flags
          </a>
        </nav>
        {/* The services page shows every environment; the others show the one chosen here. */}
        <label className="env" hidden={page.name === 'services'}>
          <span>Environment</span>
          <select data-testid="env" value={env ?? ''} onChange={(e) => setEnv(e.target.value)}>
            {who.visibleEnvironments.map((e) => (
              <option key={e} value={e}>
                {e}
              </option>
            ))}
          </select>
        </label>
        <span className="who" data-testid="who" title={`token ${who.name}`}>
          {who.name} · {who.role}
        </span>
        <button className="link" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main className="page">
        {page.name === 'services' && <ServicesPage environments={who.visibleEnvironments} onPick={setEnv} />}
        {page.name === 'service' && <ServicePage env={env} service={page.service} who={who} />}
        {page.name === 'audit' && <AuditPage />}
        {page.name === 'flags' && <FlagsPage env={env} />}
      </main>
    </>
  );
}

function Login({ problem, onToken }: { problem: ApiError | undefined; onToken: (t: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main className="page login">
      <h1>Slipway</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) onToken(token);
        }}
      >
        <label>
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            placeholder="slw_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            data-testid="token"
          />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {problem && <ErrorBox error={problem} />}
      <p className="muted">
        Run <code>slipway dashboard</code> in the project for a link that signs in, or paste a token from{' '}
        <code>slipway tokens create --role viewer</code>. It is kept in this tab only.
      </p>
    </main>
  );
}

export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div className="error" role="alert">
      <strong>{error.code}</strong> {error.message}
      {error.hint && <div className="hint">{error.hint}</div>}
    </div>
  );
}
