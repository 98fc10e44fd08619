/**
 * Flags named outside the `flags:` section: canary `flag` steps (`- flag: { new-checkout: 25 }`)
 * and an analysis check's `onFailure.flagOff`. Each must name a declared flag, and a step must set
 * a flag that has something to roll out (a boolean flag, or one with variants). Runs on the
 * document as plain data, with positions; shapes the schema rejects are left to it.
 */
import { formatPath, type ConfigProblem, type PathSegment } from './problem.js';
import { closest } from './suggest.js';
import { locatePath, type YamlSource } from './yaml-source.js';
import { strategies as strategiesOf } from './semantic-checks.js';

export function flagReferenceProblems(data: unknown, src: YamlSource): ConfigProblem[] {
  const doc = record(data);
  const flags = record(doc?.flags) ?? {};
  const names = Object.keys(flags);
  const problems: ConfigProblem[] = [];
  const problem = (path: PathSegment[], message: string, suggestion: string) =>
    problems.push({ ...locatePath(src, path), path: formatPath(path), message, suggestion });
  const unknown = (key: string, path: PathSegment[]) => {
    if (Object.hasOwn(flags, key)) return false;
    const near = closest(key, names);
    problem(
      path,
      `no flag named "${key}"${near ? ` (did you mean "${near}"?)` : ''}`,
      names.length
        ? `declare it under flags:, or use one of: ${names.join(', ')}`
        : 'declare it in a top-level flags: section (docs/flags.md)',
    );
    return true;
  };

  for (const { strategy, base } of strategiesOf(data)) {
    const steps = record(record(strategy)?.canary)?.steps;
    if (!Array.isArray(steps)) continue;
    steps.forEach((step: unknown, i) => {
      const set = record(record(step)?.flag);
      for (const key of Object.keys(set ?? {})) {
        const path = [...base, 'canary', 'steps', i, 'flag', key];
        if (unknown(key, path)) continue;
        const flag = record(flags[key]);
        if (flag && flag.type !== 'boolean' && !Object.keys(record(flag.variants) ?? {}).length)
          problem(
            path,
            `a canary step sets a rollout percentage, and the ${String(flag.type)} flag "${key}" has no variants to roll out`,
            'add variants to the flag, or set it with slipway flags set',
          );
      }
    });
  }
  for (const [check, raw] of Object.entries(record(doc?.analysis) ?? {})) {
    const off = record(record(raw)?.onFailure)?.flagOff;
    if (!Array.isArray(off)) continue;
    off.forEach((key: unknown, i) => {
      if (typeof key === 'string') unknown(key, ['analysis', check, 'onFailure', 'flagOff', i]);
    });
  }
  return problems;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
