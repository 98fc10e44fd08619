import type { CliCommand } from '../context.js';
import { wholeNumber } from '../flags.js';

export const server: CliCommand<{ port?: number }> = {
  name: 'server',
  summary: 'Run the controller in the foreground (slipway up starts it in the background)',
  declare(cmd) {
    cmd.option('--port <port>', 'loopback port of the API (default: one the OS picks)', wholeNumber(1, '7070', 65535));
  },
  examples: ['slipway server --port 7070   # until Ctrl-C or slipway down'],
  async run({ dir }, _args, flags) {
    // Loaded here, not at start-up: only this command runs the controller in this process.
    const { runServer } = await import('../../controller/run-server.js');
    await runServer({ projectDir: dir, port: flags.port });
    return await new Promise<number>(() => undefined); // runs until shut down
  },
};
