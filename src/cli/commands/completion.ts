import { Argument } from 'commander';
import type { CliCommand } from '../context.js';
import { completionScript, SHELLS, type Shell } from '../completion-script.js';

export const completion: CliCommand = {
  name: 'completion',
  summary: 'Print a shell completion script for bash, zsh or fish',
  declare(cmd) {
    cmd.addArgument(new Argument('<shell>', 'the shell to complete in').choices(SHELLS));
  },
  examples: [
    'source <(slipway completion bash)                              # in ~/.bashrc',
    'slipway completion zsh > "${fpath[1]}/_slipway"                # then restart zsh',
    'slipway completion fish > ~/.config/fish/completions/slipway.fish',
  ],
  async run({ out, program }, [shell]) {
    out.out(completionScript(program, shell as Shell));
    return 0;
  },
};
