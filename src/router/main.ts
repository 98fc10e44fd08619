#!/usr/bin/env node
/**
 * The router daemon's entry point: `node dist/src/router/main.js --state-dir DIR [--grace-ms N]
 * [--upstream-timeout-ms N]`. Normally started by LocalRouter.ensureRunning(), detached, with its
 * output in DIR/router.log.
 */
import { parseArgs } from 'node:util';
import { SlipwayError } from '../core/errors.js';
import { RouterDaemon } from './daemon.js';
import { log } from './log.js';

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new SlipwayError('invalid', 'ROUTER_USAGE', `--${name}: expected a whole number of milliseconds, got "${value}"`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'state-dir': { type: 'string' }, 'grace-ms': { type: 'string' }, 'upstream-timeout-ms': { type: 'string' }, 'body-timeout-ms': { type: 'string' } },
    strict: true,
  });
  const stateDir = values['state-dir'];
  if (stateDir === undefined) throw new SlipwayError('invalid', 'ROUTER_USAGE', 'usage: main.js --state-dir DIR [--grace-ms N] [--upstream-timeout-ms N] [--body-timeout-ms N]');
  const daemon = new RouterDaemon({
    stateDir,
    graceMs: intOption(values['grace-ms'], 'grace-ms'),
    upstreamTimeoutMs: intOption(values['upstream-timeout-ms'], 'upstream-timeout-ms'),
    bodyTimeoutMs: intOption(values['body-timeout-ms'], 'body-timeout-ms'),
  });
  const stop = (signal: string) => void daemon.shutdown(signal).then(() => process.exit(0));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The router is detached from whoever started it: a closed terminal must not stop it.
  process.on('SIGHUP', () => log('info', 'ignoring SIGHUP'));
  await daemon.start();
}

main().catch((err: unknown) => {
  const e = SlipwayError.from(err);
  log('error', `${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
  process.exit(e.kind === 'conflict' ? 3 : 1);
});
