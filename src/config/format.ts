/**
 * Compiler-style rendering of config problems for terminals:
 *
 *     slipway.yaml:7:15 services.web.health.interval: expected a duration like "5s" (got "fast")
 *        7 |     health: { interval: fast }
 *          |                         ^~~~
 */
import type { ConfigProblem } from './problem.js';

export interface FormatOptions {
  /** Use ANSI colours. Callers decide (a TTY, and NO_COLOR unset); this module never looks. */
  color: boolean;
}

const ANSI = { bold: '\x1b[1m', red: '\x1b[31m', green: '\x1b[32m', cyan: '\x1b[36m', dim: '\x1b[2m', reset: '\x1b[0m' };

/** One line per problem: `file:line:col path: message (suggestion)`. Used in error messages and logs. */
export function formatProblemLine(problem: ConfigProblem, options: FormatOptions = { color: false }): string {
  const paint = painter(options.color);
  const where = paint('bold', `${problem.file}:${problem.line}:${problem.column}`);
  const path = problem.path ? ` ${paint('cyan', problem.path)}:` : '';
  const suggestion = problem.suggestion ? ` (${paint('green', problem.suggestion)})` : '';
  return `${where}${path} ${problem.message}${suggestion}`;
}

/** Every problem as its line, the source line it points into, and a caret under the column. */
export function formatProblems(problems: readonly ConfigProblem[], options: FormatOptions): string {
  return problems.map((p) => [formatProblemLine(p, options), ...excerpt(p, options)].join('\n')).join('\n\n');
}

function excerpt(problem: ConfigProblem, options: FormatOptions): string[] {
  if (problem.lineText === undefined) return [];
  const paint = painter(options.color);
  const number = String(problem.line);
  const gutter = ' '.repeat(number.length);
  // Keep tabs as tabs under the source text, so the caret lands under the same character.
  const lead = [...problem.lineText.slice(0, problem.column - 1)].map((ch) => (ch === '\t' ? '\t' : ' ')).join('');
  const width = problem.endColumn !== undefined && problem.endColumn > problem.column ? problem.endColumn - problem.column : 1;
  const marker = `^${'~'.repeat(width - 1)}`;
  return [`${paint('dim', `  ${number} |`)} ${problem.lineText}`, `${paint('dim', `  ${gutter} |`)} ${lead}${paint('red', marker)}`];
}

function painter(color: boolean) {
  return (style: Exclude<keyof typeof ANSI, 'reset'>, text: string) => (color ? `${ANSI[style]}${text}${ANSI.reset}` : text);
}
