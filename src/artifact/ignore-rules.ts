import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';

/** The file, at the root of a source tree, listing what never goes into an artifact. */
export const IGNORE_FILE = '.slipwayignore';

interface Rule {
  regex: RegExp;
  dirOnly: boolean;
}

/**
 * A small gitignore subset: one glob per line, `#` comments, blank lines, trailing `/` for
 * directories only, leading `/` (or any inner `/`) anchors the pattern to the root, otherwise it
 * matches a name at any depth; `*` and `?` stay within one path segment, `**` crosses segments.
 * Negation (`!`) is rejected rather than ignored, because ignoring it would silently drop files the
 * author wanted shipped. Only the root ignore file is read.
 */
export class IgnoreRules {
  private constructor(private readonly rules: Rule[]) {}

  /** Rules that ignore nothing. */
  static readonly none = new IgnoreRules([]);

  /** Parses ignore file text; `source` names the file in error messages. */
  static parse(text: string, source = IGNORE_FILE): IgnoreRules {
    const rules: Rule[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const pattern = line.replace(/\s+$/, '');
      if (pattern === '' || pattern.startsWith('#')) return;
      if (pattern.startsWith('!')) {
        throw SlipwayError.of('ARTIFACT_IGNORE_INVALID', `${source}:${i + 1}: negated patterns ("${pattern}") are not supported`, {
          hint: 'Remove the "!" line and narrow the patterns that exclude the file instead.',
          details: { file: source, line: i + 1, pattern },
        });
      }
      rules.push(compile(pattern));
    });
    return new IgnoreRules(rules);
  }

  /** Reads `<root>/.slipwayignore`; no file means no rules. */
  static async load(root: string): Promise<IgnoreRules> {
    const path = join(root, IGNORE_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return IgnoreRules.none;
      throw err;
    }
    return IgnoreRules.parse(text, path);
  }

  /** Whether `relPath` (`/`-separated, relative to the root) is ignored. */
  ignores(relPath: string, isDirectory: boolean): boolean {
    return this.rules.some((r) => (isDirectory || !r.dirOnly) && r.regex.test(relPath));
  }
}

function compile(line: string): Rule {
  let pattern = line;
  const dirOnly = pattern.endsWith('/');
  pattern = pattern.replace(/\/+$/, '');
  const anchored = pattern.includes('/');
  pattern = pattern.replace(/^\/+/, '');
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const atStart = i === 0 || pattern[i - 1] === '/';
      const beforeSlash = pattern[i + 2] === '/';
      if (atStart && beforeSlash) {
        re += '(?:.*/)?';
        i += 2;
        continue;
      } // "**/": zero or more directories
      re += '.*';
      i += 1;
      continue;
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // Unanchored patterns match a name at any depth, as in gitignore.
  return { regex: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${re}$`), dirOnly };
}
