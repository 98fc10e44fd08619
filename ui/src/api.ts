/**
 * Calls to the controller's `/v1/...` API with the session's bearer token: the only way the page
 * reads or changes anything. Errors come back as the API's `{ error: { code, message, hint } }`.
 */
import { currentToken } from './session.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Told when the token stops working (401), so the page can ask for another. */
let onUnauthorized: (e: ApiError) => void = () => undefined;
export function whenUnauthorized(f: (e: ApiError) => void): void {
  onUnauthorized = f;
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${currentToken() ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'CONTROLLER_UNREACHABLE', `cannot reach the controller: ${(err as Error).message}`, 'Is it running? slipway up');
  }
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.hint);
    if (res.status === 401) onUnauthorized(err);
    throw err;
  }
  return json as T;
}

/** `path` with `?env=` (or `&env=`) for the environment shown. */
export function inEnv(path: string, env: string | null): string {
  return env ? `${path}${path.includes('?') ? '&' : '?'}env=${encodeURIComponent(env)}` : path;
}

export const enc = encodeURIComponent;
