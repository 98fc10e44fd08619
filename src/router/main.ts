#!/usr/bin/env node
/**
 * The router's entry point: `node dist/src/router/main.js --state-dir DIR [--workers N]
 * [--grace-ms N] [--upstream-timeout-ms N] [--body-timeout-ms N]`. Runs the supervisor
 * (supervisor.ts), which owns the listening sockets and forks the proxy workers (worker.ts). Normally started by LocalRouter.ensureRunning(),
 * detached, with its output (and the worker's) in DIR/router.log.
 */
import { parseArgs } from 'node:util';
import { SlipwayError } from '../core/errors.js';
import { log } from './log.js';
import { intOption, ROUTER_OPTIONS, workersOption } from './options.js';
import { MAX_WORKERS, Supervisor } from './supervisor.js';

async function main(): Promise<void> {
  // Every file the router creates (router.json, routes.json, the token) is its user's alone.
  process.umask(0o077);
  const { values } = parseArgs({
    options: ROUTER_OPTIONS,
    strict: true,
  });
  const stateDir = values['state-dir'];
  if (stateDir === undefined)
    throw SlipwayError.of(
      'ROUTER_USAGE',
      'usage: main.js --state-dir DIR [--workers N] [--grace-ms N] [--upstream-timeout-ms N] [--body-timeout-ms N]',
    );
  const workerArgs: string[] = [];
  for (const name of ['grace-ms', 'upstream-timeout-ms', 'body-timeout-ms'] as const) {
    if (intOption(values[name], name) !== undefined) workerArgs.push(`--${name}`, values[name]!);
  }
  const workers = workersOption(values.workers, MAX_WORKERS);
  const supervisor = new Supervisor({ stateDir, workerArgs, workers });
  process.on('SIGTERM', () => supervisor.stop('SIGTERM'));
  process.on('SIGINT', () => supervisor.stop('SIGINT'));
  // The router is detached from whoever started it: a closed terminal must not stop it.
  process.on('SIGHUP', () => log.info('ignoring SIGHUP'));
  await supervisor.start();
}

main().catch((err: unknown) => {
  const e = SlipwayError.from(err);
  log.error(`${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
  process.exit(e.kind === 'conflict' ? 3 : 1);
});
