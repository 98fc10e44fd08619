import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { detectAppKind, type AppKind } from '../app-kind.js';

/** Where the configuration reference is: the package's homepage or repository, else its installed docs. */
export function docsLink(): string {
  // dist/src/cli/commands/init.js → the package root, in this repository and in an installed package.
  const root = fileURLToPath(new URL('../../../../', import.meta.url));
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { homepage?: unknown; repository?: unknown };
    const repo = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository as { url?: unknown } | undefined)?.url;
    if (typeof pkg.homepage === 'string' && pkg.homepage) return pkg.homepage;
    if (typeof repo === 'string' && /^(https?|git\+https):/.test(repo))
      return repo.replace(/^git\+/, '').replace(/\.git$/, '') + '/blob/main/docs/configuration.md';
  } catch {
    // No readable package.json: the installed docs path below still helps.
  }
  return join(root, 'docs', 'configuration.md');
}

/** A starter slipway.yaml that fits the app found in the directory. */
export function starterConfig(app: string, found: AppKind, docs: string): string {
  const q = (v: string) => JSON.stringify(v); // a YAML double-quoted scalar: safe for ':', '#', '$'
  const notes = found.notes.map((n) => `# note: ${n}\n`).join('');
  const build =
    found.build !== undefined
      ? `    build: ${q(found.build)}   # runs in a clean copy of source before packaging\n`
      : '    # build: npm ci --omit=dev   # optional, runs in a clean copy of source before packaging\n';
  return `# Slipway: the desired state of ${app}. Reference: ${docs}
# Detected: ${found.kind === 'unknown' ? 'nothing known; adjust build and start' : found.kind}
${notes}app: ${app}
services:
  web:
    source: .                  # directory packaged into each release
${build}    start: ${q(found.start)}   # PORT, SLIPWAY_RELEASE and SLIPWAY_INSTANCE are set: listen on $PORT
    instances: 2
    port: 8080                 # where Slipway's router listens
    health: { path: / }        # better: a cheap endpoint such as /healthz
    strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } }
`;
}

const APP_NAME = /^[a-z][a-z0-9-]*$/;

export const init: CliCommand<{ app?: string }> = {
  name: 'init',
  summary: 'Write a starter slipway.yaml in the project directory',
  declare(cmd) {
    cmd.option('--app <name>', 'application name (default: from the directory name)', (v: string) => {
      if (!APP_NAME.test(v))
        throw new InvalidArgumentError('expected lower-case letters, digits and dashes, starting with a letter, like "shop".');
      return v;
    });
  },
  examples: [
    'slipway init                       # in the current directory',
    'slipway init --dir shop --app shop  # in ./shop (it must exist)',
  ],
  async run({ dir, out }, _args, flags) {
    const file = join(dir, 'slipway.yaml');
    if (existsSync(file))
      throw SlipwayError.of('CONFIG_EXISTS', `${file} already exists`, { hint: 'Edit it, or check it with: slipway validate' });
    const app =
      flags.app ??
      (basename(dir)
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^[^a-z]+/, '')
        .replace(/-+$/, '') ||
        'app');
    const found = detectAppKind(dir);
    writeFileSync(file, starterConfig(app, found, docsLink()));
    const what =
      found.kind === 'unknown' ? 'no known kind of app found' : `${found.kind}: build ${found.build ?? 'none'}, start ${found.start}`;
    out.out(`wrote ${terminalLine(file)} (${terminalLine(what)}); check it with \`slipway validate\`, then run: slipway up`);
    return 0;
  },
};
