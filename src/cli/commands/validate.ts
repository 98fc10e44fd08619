import { resolve } from 'node:path';
import { formatProblems } from '../../config/format.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

export const validate: CliCommand = {
  name: 'validate',
  summary: 'Check slipway.yaml and report every problem at once (no controller needed)',
  declare(cmd) {
    cmd.argument('[file]', 'config file to check (default: slipway.yaml in the project directory)');
  },
  examples: ['slipway validate', 'slipway validate staging.yaml --json'],
  async run({ dir, out, json }, [file]) {
    // Loaded here: the config schema is not needed to parse the command line or report a mistake.
    const { findConfigFile, loadConfig } = await import('../../config/load.js');
    const path = file ? resolve(dir, file) : findConfigFile(dir);
    const { config, warnings } = loadConfig(path);
    if (json) {
      out.out(JSON.stringify({ ok: true, file: path, warnings, config }, null, 2));
      return 0;
    }
    if (warnings.length) out.err(formatProblems(warnings, { color: out.color }));
    out.out(
      `${out.paint('green', '✓')} ${terminalLine(path)} is valid: app ${terminalLine(config.app)}, ${Object.keys(config.services).length} service(s): ${Object.keys(config.services).map(terminalLine).join(', ')}`,
    );
    return 0;
  },
};
