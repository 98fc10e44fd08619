import type { CliCommand } from '../context.js';
import { listenFlags, wholeNumber } from '../flags.js';
import type { ListenOptions } from '../../controller/listen-options.js';

export const server: CliCommand<{ port?: number } & ListenOptions> = {
  name: 'server',
  summary: 'Run the controller in the foreground (slipway up starts it in the background)',
  declare(cmd) {
    cmd.option('--port <port>', 'loopback port of the API (default: one the OS picks)', wholeNumber(1, '7070', 65535));
    listenFlags(cmd);
  },
  examples: [
    'slipway server --port 7070   # until Ctrl-C or slipway down',
    'slipway server --listen 0.0.0.0:7443 --tls-cert cert.pem --tls-key key.pem',
    'slipway server --listen 10.0.0.5:7080 --insecure   # plain HTTP beyond loopback: warns',
  ],
  async run({ dir }, _args, flags) {
    // Loaded here, not at start-up: only this command runs the controller in this process.
    const { runServer } = await import('../../controller/run-server.js');
    await runServer({
      projectDir: dir,
      port: flags.port,
      listen: flags.listen,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      insecure: flags.insecure,
    });
    return await new Promise<number>(() => undefined); // runs until shut down
  },
};
