import { dirname, resolve } from 'node:path';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

export const policyTest: CliCommand = {
  name: 'policy test',
  summary:
    'Run the policy test cases (policies.test.yaml) against the policies of slipway.yaml; exit 1 if any fails (no controller needed)',
  declare(cmd) {
    cmd.argument('[file]', 'test file (default: policies.test.yaml beside slipway.yaml)');
  },
  examples: ['slipway policy test', 'slipway policy test ci/policies.test.yaml --json'],
  async run({ dir, out, json }, [file]) {
    // Loaded here: the CEL library is not needed to parse the command line.
    const { findConfigFile, loadConfig } = await import('../../config/load.js');
    const { loadPolicyTests, POLICY_TEST_FILE } = await import('../../config/policy-test-file.js');
    const { compilePolicies } = await import('../../policy/compile.js');
    const { runPolicyTests } = await import('../../policy/test-cases.js');
    const configFile = findConfigFile(dir);
    const { config } = loadConfig(configFile);
    const testFile = file ? resolve(dir, file) : resolve(dirname(configFile), POLICY_TEST_FILE);
    const cases = loadPolicyTests(testFile);
    const results = runPolicyTests(compilePolicies(config.policies).policies, cases);
    const failed = results.filter((r) => !r.passed).length;
    if (json) {
      out.out(JSON.stringify({ ok: failed === 0, file: testFile, passed: results.length - failed, failed, results }, null, 2));
      return failed ? 1 : 0;
    }
    for (const r of results) {
      const by = r.actual.verdict === 'deny' ? r.actual.denied : r.actual.verdict === 'warn' ? r.actual.warned : [];
      const outcome = `${r.actual.verdict}${by.length ? `: ${by.join(', ')}` : ''}`;
      if (r.passed) out.out(`${out.paint('green', '✓')} ${terminalLine(r.name)} (${terminalLine(outcome)})`);
      else out.out(`${out.paint('red', '✗')} ${terminalLine(r.name)}: ${terminalLine(r.reason ?? '')}`);
      for (const e of r.errors)
        out.out(`    ${out.paint('yellow', 'note:')} ${terminalLine(e.policy)} could not be evaluated: ${terminalLine(e.error ?? '')}`);
    }
    out.out(`${results.length} tests, ${results.length - failed} passed, ${failed} failed (${terminalLine(testFile)})`);
    return failed ? 1 : 0;
  },
};
