/**
 * The `semver()` function of flag rules: `semver(app.version) >= semver("2.3.0")`.
 *
 * @bufbuild/cel has no way to add a type with its own ordering, so semver() returns a string whose
 * plain ordering (CEL compares strings by code point) is Semantic Versioning 2.0.0 precedence:
 * major, minor and patch zero-padded to 10 digits; a pre-release sorts before its release; its
 * identifiers compare numerically (numbers) or by text, numbers first, a shorter list first. Build
 * metadata (+…) is ignored, as precedence says. Compare semver() with semver(), never with a
 * plain string. An invalid version is a CEL error, so the rule does not match.
 */
import { celFunc, CelScalar } from '@bufbuild/cel';

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;
const pad = (n: string) => n.padStart(10, '0');

/** The sortable form of `version`; throws for text that is not a semantic version. */
export function semverKey(version: string): string {
  const m = SEMVER.exec(version.trim());
  if (!m || m[1]!.length > 10 || m[2]!.length > 10 || m[3]!.length > 10)
    throw new Error(`semver(): "${version}" is not a semantic version such as "2.3.0" or "2.3.0-beta.1"`);
  const core = `${pad(m[1]!)}.${pad(m[2]!)}.${pad(m[3]!)}`;
  // "~" (0x7e) sorts after "-" (0x2d): a release after each of its pre-releases.
  if (m[4] === undefined) return `${core}~`;
  // Identifiers are joined by "!" (0x21), below every identifier character: "alpha" < "alpha.1" < "alpha-x".
  const ids = m[4].split('.').map((id) => (/^\d+$/.test(id) ? `0${pad(id)}` : `1${id}`));
  return `${core}-${ids.join('!')}`;
}

/** Versions seen recently and their keys: the same few versions come back on every evaluation. */
const cache = new Map<string, string>();
const CACHE_LIMIT = 1000;

function cachedKey(version: string): string {
  let key = cache.get(version);
  if (key === undefined) {
    key = semverKey(version);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, key);
  }
  return key;
}

export const SEMVER_FUNC = celFunc('semver', [CelScalar.STRING], CelScalar.STRING, (v: string) => cachedKey(v));
