import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

const TEMPLATE = (app: string) => `# Slipway: the desired state of ${app}. Reference: docs/configuration.md
app: ${app}
services:
  web:
    source: .                  # directory packaged into each release
    # build: npm ci --omit=dev # runs in a clean copy of source before packaging
    start: node server.js      # PORT, SLIPWAY_RELEASE and SLIPWAY_INSTANCE are set
    instances: 2
    port: 8080                 # where Slipway's router listens
    health: { path: /healthz }
    strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } }
`;

const APP_NAME = /^[a-z][a-z0-9-]*$/;

export const init: CliCommand<{ app?: string }> = {
  name: 'init',
  summary: 'Write a starter slipway.yaml in the project directory',
  declare(cmd) {
    cmd.option('--app <name>', 'application name (default: from the directory name)', (v: string) => {
      if (!APP_NAME.test(v)) throw new InvalidArgumentError('expected lower-case letters, digits and dashes, starting with a letter, like "shop".');
      return v;
    });
  },
  examples: ['slipway init                       # in the current directory', 'slipway init --dir shop --app shop  # in ./shop (it must exist)'],
  async run({ dir, out }, _args, flags) {
    const file = join(dir, 'slipway.yaml');
    if (existsSync(file)) throw new SlipwayError('conflict', 'CONFIG_EXISTS', `${file} already exists`, { hint: 'Edit it, or check it with: slipway validate' });
    const app = flags.app ?? (basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '') || 'app');
    writeFileSync(file, TEMPLATE(app));
    out.out(`wrote ${terminalLine(file)}; adjust source, start and port, then run: slipway up`);
    return 0;
  },
};
