#!/usr/bin/env node
/**
 * The router's proxy worker: `fork`ed by the supervisor (supervisor.ts), never started by hand.
 * Runs the RouterDaemon (services, admin API, routes.json, drains, stats) on listening sockets
 * the supervisor hands over; exits (after finishing what is in flight) when the supervisor is gone.
 */
import { parseArgs } from 'node:util';
import { SlipwayError } from '../core/errors.js';
import { RouterDaemon } from './daemon.js';
import { SupervisedListeners } from './listeners.js';
import { log } from './log.js';
import { intOption, ROUTER_OPTIONS } from './options.js';
import { readToken } from './state-files.js';
import type { SupervisorInfo, ToSupervisor, ToWorker } from './supervisor-protocol.js';

const { values } = parseArgs({
  options: ROUTER_OPTIONS,
  strict: true,
});
const stateDir = values['state-dir'];

function send(m: ToSupervisor): boolean {
  if (!process.connected) return false;
  process.send!(m, undefined, {}, () => {
    /* the supervisor died: 'disconnect' handles it */
  });
  return true;
}

const listeners = new SupervisedListeners(send);
let daemon: RouterDaemon | undefined;
let exiting = false;

function stop(reason: string): void {
  if (exiting) return;
  exiting = true;
  if (daemon === undefined) process.exit(0);
  void daemon.shutdown(reason).then(() => process.exit(0));
}

async function start(supervisor: SupervisorInfo, admin: object): Promise<void> {
  const token = readToken(stateDir!);
  if (token === undefined)
    throw SlipwayError.of('ROUTER_TOKEN_MISSING', `${stateDir}/token is missing`, {
      hint: 'The supervisor creates it; start the router with LocalRouter.ensureRunning().',
    });
  daemon = new RouterDaemon({
    stateDir: stateDir!,
    token,
    graceMs: intOption(values['grace-ms'], 'grace-ms'),
    upstreamTimeoutMs: intOption(values['upstream-timeout-ms'], 'upstream-timeout-ms'),
    bodyTimeoutMs: intOption(values['body-timeout-ms'], 'body-timeout-ms'),
    listen: listeners.listen,
    onListenersChanged: () => listeners.sync(),
    onStopping: (reason) => send({ t: 'stopping', reason }),
    supervisor,
  });
  await daemon.start(admin);
  send({ t: 'ready', bootId: daemon.bootId, pid: process.pid });
}

function fail(err: unknown): never {
  const e = SlipwayError.from(err);
  log.error(`worker: ${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
  process.exit(e.kind === 'conflict' ? 3 : 1);
}

if (process.send === undefined || stateDir === undefined) {
  fail(SlipwayError.of('ROUTER_USAGE', 'worker.js is started by the router supervisor (main.js --state-dir DIR), not by hand'));
}
process.on('message', (m: ToWorker, handle: unknown) => {
  if (m.t === 'hello') start(m.supervisor, handle as object).catch(fail);
  else if (m.t === 'shutdown') stop(m.reason);
  else listeners.onMessage(m, handle);
});
// The supervisor died: serve on (the sockets are ours too now) until the next router's supervisor
// asks for the ports (SIGUSR2); then stop listening at once, finish what is in flight, exit.
process.on('disconnect', () => {
  listeners.abandon();
  if (exiting) return;
  if (daemon === undefined) process.exit(0); // a standby, or not started yet: nothing to hand over
  daemon.orphaned();
});
process.on('SIGUSR2', () => {
  if (!process.connected) stop('the next router took over');
});
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGHUP', () => log.info('worker: ignoring SIGHUP'));
