/**
 * Checks of the `flags:` section that the schema cannot make: defaults, rule values and variant
 * values of the flag's type, rule conditions that compile (pointing inside the expression), a
 * rollout that has something to serve, and environments that exist. Runs on the document as plain
 * data, so one run reports every problem; shapes the schema rejects are left to it.
 */
import { compileRule } from '../flags/compile.js';
import { describeValue, isOfType } from '../flags/values.js';
import type { FlagType } from '../flags/types.js';
import { positionInExpression } from './policy-checks.js';
import { formatPath, type ConfigProblem, type PathSegment } from './problem.js';
import { closest } from './suggest.js';
import { locatePath, type YamlSource } from './yaml-source.js';

const TYPES = new Set(['boolean', 'string', 'number', 'object']);

export function flagProblems(data: unknown, src: YamlSource): ConfigProblem[] {
  const doc = record(data);
  const flags = record(doc?.flags);
  if (!flags) return [];
  const envNames = Object.keys(record(doc?.environments) ?? { local: {} });
  const problems: ConfigProblem[] = [];
  const problem = (path: PathSegment[], message: string, suggestion?: string) =>
    problems.push({ ...locatePath(src, path), path: formatPath(path), message, ...(suggestion ? { suggestion } : {}) });

  for (const [key, raw] of Object.entries(flags)) {
    const flag = record(raw);
    if (!flag || typeof flag.type !== 'string' || !TYPES.has(flag.type)) continue;
    const type = flag.type as FlagType;
    const at = (...rest: PathSegment[]) => ['flags', key, ...rest];
    if (!('default' in flag) || flag.default === null)
      problem(at(), `flag "${key}" has no default`, `add default: a ${type} value served when the flag is off`);
    else if (!isOfType(type, flag.default)) problem(at('default'), `expected a ${type} default, got ${describeValue(flag.default)}`);

    const variants = record(flag.variants);
    if (variants) {
      if (type === 'boolean')
        problem(at('variants'), 'a boolean flag has no variants: its "on" value is true', 'use a string flag for named variants');
      for (const [name, v] of Object.entries(variants)) {
        if (typeof v === 'number' && type !== 'string')
          problem(at('variants', name), `a bare weight names a string value; a ${type} flag needs { value, weight }`);
        const vv = record(v);
        if (vv && 'value' in vv && !isOfType(type, vv.value))
          problem(at('variants', name, 'value'), `expected a ${type} value, got ${describeValue(vv.value)}`);
      }
    }
    const hasVariants = variants !== undefined && Object.keys(variants).length > 0;

    const checkTargeting = (block: Record<string, unknown>, path: PathSegment[]) => {
      const rules = Array.isArray(block.rules) ? block.rules : [];
      rules.forEach((r: unknown, i) => {
        const rule = record(r);
        if (!rule) return;
        if (!('serve' in rule)) problem([...path, 'rules', i], 'a rule needs serve: the value it gives when its condition is true');
        else if (!isOfType(type, rule.serve))
          problem([...path, 'rules', i, 'serve'], `expected a ${type} value, got ${describeValue(rule.serve)}`);
        if (typeof rule.if === 'string' && rule.if !== '') {
          const text = rule.if;
          const p = [...path, 'rules', i, 'if'];
          compileRule(text, ({ offset, message }) =>
            problems.push({ ...positionInExpression(src, p, text, offset), path: formatPath(p), message }),
          );
        }
      });
      const rollout = block.rollout;
      const percent =
        typeof rollout === 'number' ? rollout : typeof record(rollout)?.percent === 'number' ? (record(rollout)!.percent as number) : 0;
      if (percent > 0 && type !== 'boolean' && !hasVariants)
        problem(
          [...path, 'rollout'],
          `a ${type} flag without variants has nothing to roll out`,
          'add variants (the values to split), or use rules',
        );
      if (percent > 0 && Math.round(percent * 100) !== percent * 100)
        problem([...path, 'rollout'], `a rollout moves in steps of 0.01%, got ${percent}`);
    };
    checkTargeting(flag, at());
    const envs = record(flag.environments);
    for (const [env, block] of Object.entries(envs ?? {})) {
      if (!envNames.includes(env)) {
        const near = closest(env, envNames);
        problem(
          at('environments', env),
          `no environment named "${env}"${near ? ` (did you mean "${near}"?)` : ''}`,
          `environments: ${envNames.join(', ')}`,
        );
      }
      const b = record(block);
      if (b) checkTargeting(b, at('environments', env));
    }
  }
  return problems;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
