/**
 * Reading policies.test.yaml (the cases of `slipway policy test`) with the same care as
 * slipway.yaml: every problem at once, each with file, line, column and key path.
 */
import { readFileSync } from 'node:fs';
import { SlipwayError } from '../core/errors.js';
import { policyTestFileSchema, type PolicyTestCase } from '../policy/test-cases.js';
import type { ConfigProblem } from './problem.js';
import { schemaProblems } from './schema-problems.js';
import { duplicateKeyProblems, parseYaml, syntaxProblems, toData } from './yaml-source.js';

/** The file looked for beside slipway.yaml when `slipway policy test` is given none. */
export const POLICY_TEST_FILE = 'policies.test.yaml';

/**
 * Reads and validates a policy test file.
 * @throws SlipwayError POLICY_TESTS_NOT_FOUND, POLICY_TESTS_INVALID with `details.problems`
 */
export function loadPolicyTests(file: string): PolicyTestCase[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw SlipwayError.of('POLICY_TESTS_NOT_FOUND', `cannot read the policy tests ${file}: ${(err as Error).message}`, {
      hint: `Write test cases in ${POLICY_TEST_FILE} beside slipway.yaml (docs/policies.md shows the format), or name the file: slipway policy test <file>`,
      details: { file },
      cause: err,
    });
  }
  const src = parseYaml(text, file);
  const syntax = syntaxProblems(src);
  let problems: ConfigProblem[] = syntax.errors;
  let tests: PolicyTestCase[] | undefined;
  if (!problems.length) {
    const data = toData(src);
    const parsed = policyTestFileSchema.safeParse(data);
    problems = [
      ...duplicateKeyProblems(src),
      ...(parsed.success ? [] : schemaProblems(parsed.error.issues, data, policyTestFileSchema, src)),
    ];
    if (parsed.success) tests = parsed.data.tests;
  }
  if (problems.length || !tests) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw SlipwayError.of(
      'POLICY_TESTS_INVALID',
      `${file} is not valid: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}`,
      {
        hint: 'Fix the problems listed; docs/policies.md describes the test file and every context field.',
        details: { file, problems },
      },
    );
  }
  return tests;
}
