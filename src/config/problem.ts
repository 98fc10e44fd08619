/**
 * One thing wrong (or worth a warning) in slipway.yaml, located precisely enough for an editor or a
 * compiler-style report to point at it.
 */
export interface ConfigProblem {
  /** The config file as the caller named it (what the user typed or what `findConfigFile` found). */
  file: string;
  /** 1-based line of the offending node. */
  line: number;
  /** 1-based column of the offending node. */
  column: number;
  /** Dotted key path such as `services.web.health.interval`; empty for the whole document. */
  path: string;
  /** What is wrong, in words a user can act on, e.g. `expected a duration like "5s" (got "fast")`. */
  message: string;
  /** A likely fix, e.g. `did you mean "source"?`. */
  suggestion?: string;
  /** The text of the source line, so reports can show it without re-reading the file. */
  lineText?: string;
  /** 1-based column just past the offending node when it ends on the same line (for underlining). */
  endColumn?: number;
}

/** A path segment: an object key or a list index. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Renders `['services', 'web', 'health']` as `services.web.health`, quoting keys that would be ambiguous. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Describes a parsed YAML value for "(got …)" in messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}
