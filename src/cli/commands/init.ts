import { parseArgs } from 'node:util';
import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';

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

export const init: Command = {
  name: 'init',
  summary: 'Write a starter slipway.yaml in the project directory',
  usage: 'slipway init [--dir DIR] [--app NAME]',
  async run({ dir, out, args }) {
    const { values } = parseArgs({ args, options: { app: { type: 'string' } }, allowPositionals: false });
    const file = join(dir, 'slipway.yaml');
    if (existsSync(file)) throw new SlipwayError('conflict', 'CONFIG_EXISTS', `${file} already exists`, { hint: 'Edit it, or check it with: slipway validate' });
    const app = values.app ?? (basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '') || 'app');
    writeFileSync(file, TEMPLATE(app));
    out.out(`wrote ${file}; adjust source, start and port, then run: slipway up`);
    return 0;
  },
};
