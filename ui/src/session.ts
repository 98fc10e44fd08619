/**
 * The dashboard's API token. It arrives pasted into the login form, or in the URL's fragment
 * (`#token=…`, from `slipway dashboard`): a fragment is never sent to a server nor written to its
 * log, and it is removed from the address bar at once. It is kept in sessionStorage: gone when the
 * tab closes, never shared with other tabs or sites.
 */
const KEY = 'slipway.token';

/** Moves a token from the URL's fragment into the session; returns the token in force, if any. */
export function takeToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
    history.replaceState(null, '', window.location.pathname + '#/');
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

export function currentToken(): string | null {
  return sessionStorage.getItem(KEY);
}
