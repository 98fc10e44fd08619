/**
 * Choosing a release for a request before weights apply: header rules and the sticky cookie.
 * Pure functions over Node's flat raw header arrays (`[name, value, name, value, ...]`).
 */
import type { HeaderRule } from './types.js';

/** A header rule with its names lower-cased once, when the route is installed. */
export interface CompiledRule {
  names: string[];
  values: string[];
  release: number;
}

export function compileRules(rules: HeaderRule[] | undefined): CompiledRule[] {
  return (rules ?? []).map((r) => {
    const entries = Object.entries(r.match.header);
    return { names: entries.map(([n]) => n.toLowerCase()), values: entries.map(([, v]) => v), release: r.release };
  });
}

/**
 * The release of the first rule whose headers all appear in `raw` (name case-insensitive, value
 * exact) and for which `usable(release)` holds; -1 when none does.
 */
export function ruleRelease(rules: CompiledRule[], raw: string[], usable: (release: number) => boolean): number {
  for (const rule of rules) {
    if (matches(rule, raw) && usable(rule.release)) return rule.release;
  }
  return -1;
}

function matches(rule: CompiledRule, raw: string[]): boolean {
  for (let k = 0; k < rule.names.length; k++) {
    const name = rule.names[k]!;
    const value = rule.values[k]!;
    let found = false;
    for (let i = 0; i < raw.length && !found; i += 2) {
      found = raw[i + 1] === value && raw[i]!.length === name.length && raw[i]!.toLowerCase() === name;
    }
    if (!found) return false;
  }
  return true;
}

/** The name of a service's sticky cookie. */
export function stickyCookieName(service: string): string {
  return `slipway_${service}`;
}

/** The Set-Cookie value that pins a client to `release`. A session cookie: it ends with the browser session. */
export function stickyCookie(name: string, release: number): string {
  return `${name}=${release}; Path=/; HttpOnly; SameSite=Lax`;
}

/** The release named by the `name` cookie in the request's Cookie headers, or -1 (absent or not a release number). */
export function cookieRelease(raw: string[], name: string): number {
  for (let i = 0; i < raw.length; i += 2) {
    const h = raw[i]!;
    if (h.length !== 6 || h.toLowerCase() !== 'cookie') continue;
    for (const part of raw[i + 1]!.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      const value = part.slice(eq + 1).trim();
      if (/^\d{1,9}$/.test(value)) return Number(value);
    }
  }
  return -1;
}
