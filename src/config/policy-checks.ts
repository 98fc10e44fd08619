/**
 * Checks of the `policies:` section that the schema cannot make: every `when` and `deny` compiles
 * as CEL and names only what the policy context has, and names are unique. A problem points at the
 * spot inside the expression (line and column in slipway.yaml) where the YAML form allows it.
 */
import { isScalar, Scalar } from 'yaml';
import { compileExpression } from '../policy/compile.js';
import { formatPath, type ConfigProblem, type PathSegment } from './problem.js';
import { locatePath, type YamlSource } from './yaml-source.js';

/** Every problem of the policies in the document `data` (problems of shape are left to the schema). */
export function policyProblems(data: unknown, src: YamlSource): ConfigProblem[] {
  const list = (data as { policies?: unknown } | null)?.policies;
  if (!Array.isArray(list)) return [];
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  list.forEach((raw: unknown, index) => {
    const policy = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    if (typeof policy.name === 'string') {
      const first = seen.get(policy.name);
      if (first !== undefined) {
        const path = ['policies', index, 'name'];
        problems.push({
          ...locatePath(src, path),
          path: formatPath(path),
          message: `another policy is named "${policy.name}" (policies[${first}])`,
          suggestion: 'give each policy its own name: tests, events and errors refer to it',
        });
      } else seen.set(policy.name, index);
    }
    for (const key of ['when', 'deny'] as const) {
      const text = policy[key];
      if (typeof text !== 'string' || text === '') continue;
      const path = ['policies', index, key];
      compileExpression(text, ({ offset, message }) =>
        problems.push({
          ...positionInExpression(src, path, text, offset),
          path: formatPath(path),
          message,
          ...(message.startsWith('CEL') ? {} : { suggestion: 'docs/policies.md lists every variable and field a policy can use' }),
        }),
      );
    }
  });
  return problems;
}

/**
 * Where `offset` of the expression at `path` is in the file: exact for one-line plain and quoted
 * scalars and for literal blocks (`|`); the start of the value otherwise.
 */
export function positionInExpression(
  src: YamlSource,
  path: PathSegment[],
  text: string,
  offset: number,
): Omit<ConfigProblem, 'path' | 'message'> {
  const start = locatePath(src, path);
  const node = src.doc.getIn(path, true);
  if (!isScalar(node)) return start;
  const before = text.slice(0, offset);
  if ((node.type === Scalar.PLAIN || node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) && !text.includes('\n')) {
    const quote = node.type === Scalar.PLAIN ? 0 : 1;
    // Escapes in double quotes make the written text longer than the value; then fall back to the start.
    const written = start.lineText?.slice(start.column - 1 + quote, start.column - 1 + quote + text.length);
    if (written !== text) return start;
    return at(src, start.line, start.column + quote + offset);
  }
  if (node.type === Scalar.BLOCK_LITERAL) {
    // The block's indentation is that of its first line; deeper lines keep their extra spaces in the value.
    const first = lineOf(src, start.line + 1);
    const indent = first.length - first.trimStart().length;
    const line = start.line + 1 + before.split('\n').length - 1;
    return at(src, line, indent + 1 + (offset - (before.lastIndexOf('\n') + 1)));
  }
  return start;
}

function at(src: YamlSource, line: number, column: number): Omit<ConfigProblem, 'path' | 'message'> {
  return { file: src.file, line, column, lineText: lineOf(src, line) };
}

function lineOf(src: YamlSource, line: number): string {
  const from = src.lines.lineStarts[line - 1] ?? 0;
  const next = src.lines.lineStarts[line];
  return src.text.slice(from, next === undefined ? undefined : next - 1).replace(/\r$/, '');
}
