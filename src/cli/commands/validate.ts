import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { findConfigFile, loadConfig } from '../../config/load.js';
import { formatProblems } from '../../config/format.js';
import type { Command } from '../context.js';

export const validate: Command = {
  name: 'validate',
  summary: 'Check slipway.yaml and report every problem at once (no controller needed)',
  usage: 'slipway validate [FILE] [--json]',
  async run({ dir, out, json, args }) {
    const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
    const file = positionals[0] ? resolve(dir, positionals[0]) : findConfigFile(dir);
    const { config, warnings } = loadConfig(file);
    if (json) { out.out(JSON.stringify({ ok: true, file, warnings, config }, null, 2)); return 0; }
    if (warnings.length) out.err(formatProblems(warnings, { color: out.color }));
    out.out(`${out.paint('green', '✓')} ${file} is valid: app ${config.app}, ${Object.keys(config.services).length} service(s): ${Object.keys(config.services).join(', ')}`);
    return 0;
  },
};
