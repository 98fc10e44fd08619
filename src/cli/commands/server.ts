import { parseArgs } from 'node:util';
import { runServer } from '../../controller/run-server.js';
import type { Command } from '../context.js';

export const server: Command = {
  name: 'server',
  summary: 'Run the controller in the foreground (slipway up starts it in the background)',
  usage: 'slipway server [--dir DIR] [--port N]',
  async run({ dir, args }) {
    const { values } = parseArgs({ args, options: { port: { type: 'string' } }, allowPositionals: false });
    await runServer({ projectDir: dir, port: values.port ? Number(values.port) : undefined });
    return await new Promise<number>(() => undefined); // runs until shut down
  },
};
