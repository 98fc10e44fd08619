import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { table } from '../output.js';
import { ago } from '../render/format.js';

export const tokensList: CliCommand = {
  name: 'tokens list',
  summary: 'API tokens with their role, environments and state (never their values)',
  declare() {},
  examples: ['slipway tokens list', 'slipway tokens list --json'],
  async run({ dir, out, json }) {
    const { tokens } = await ControllerClient.connect(dir).tokens();
    if (json) {
      out.out(JSON.stringify({ tokens }, null, 2));
      return 0;
    }
    const now = Date.now();
    const state = (t: (typeof tokens)[number]) =>
      t.revokedAt !== null
        ? `revoked ${ago(t.revokedAt, now)}`
        : t.expiresAt !== null && t.expiresAt <= now
          ? 'expired'
          : t.expiresAt !== null
            ? `expires ${new Date(t.expiresAt).toISOString().slice(0, 16)}Z`
            : 'live';
    out.out(
      table([
        ['ID', 'NAME', 'ROLE', 'ENVIRONMENTS', 'CREATED', 'BY', 'STATE'],
        ...tokens.map((t) => [
          String(t.id),
          terminalLine(t.name),
          t.role,
          terminalLine(t.environments?.join(',') ?? 'all'),
          ago(t.createdAt, now),
          terminalLine(t.createdBy),
          state(t),
        ]),
      ]),
    );
    return 0;
  },
};
