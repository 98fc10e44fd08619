#!/usr/bin/env node
/**
 * A router proxy worker: `fork`ed by the supervisor (supervisor.ts), never started by hand. Runs
 * the RouterDaemon on listening sockets the supervisor hands over. The admin worker (the
 * supervisor's `hello` says which) also serves the admin API and drives every change through the
 * supervisor to the other workers (ADR 0014); the others apply what the supervisor relays. When
 * the supervisor is gone, a worker serves on until the next router takes its ports over.
 */
import { parseArgs } from 'node:util';
import { SlipwayError } from '../core/errors.js';
import { RouterDaemon } from './daemon.js';
import { SupervisedListeners } from './listeners.js';
import { SupervisorPeers } from './peers.js';
import { log } from './log.js';
import { intOption, ROUTER_OPTIONS } from './options.js';
import { readToken } from './state-files.js';
import type { PeerOp, PeerResult, SupervisorInfo, ToSupervisor, ToWorker } from './supervisor-protocol.js';

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
const peers = new SupervisorPeers(send);
let daemon: RouterDaemon | undefined;
/** Settles once the daemon restored its table: what the admin worker relays is applied after that. */
let started: Promise<unknown> = Promise.resolve();
let exiting = false;

function stop(reason: string): void {
  if (exiting) return;
  exiting = true;
  if (daemon === undefined) process.exit(0);
  void daemon.shutdown(reason).then(() => process.exit(0));
}

async function start(supervisor: SupervisorInfo, admin: object | null): Promise<void> {
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
    // Only the admin worker's listeners tell the supervisor which sockets are still in use.
    onListenersChanged: admin === null ? undefined : () => listeners.sync(),
    onStopping: (reason) => send({ t: 'stopping', reason }),
    supervisor,
    peers: admin === null ? undefined : peers,
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
/** Applies or answers what the admin worker asked of every worker. */
async function onPeer(op: PeerOp): Promise<PeerResult> {
  await started;
  const d = daemon!;
  switch (op.t) {
    case 'table':
      await d.applyTable(op.routes);
      return null;
    case 'drain':
      return d.drainHere(op.service, op.backendIds, op.timeoutMs);
    case 'stats':
      return d.stats();
  }
}

process.on('message', (m: ToWorker, handle: unknown) => {
  switch (m.t) {
    case 'hello':
      started = start(m.supervisor, m.admin ? (handle as object) : null).catch(fail);
      return;
    case 'shutdown':
      stop(m.reason);
      return;
    case 'info':
      daemon?.setSupervisor(m.supervisor);
      return;
    case 'peer':
      onPeer(m.op).then(
        (result) => send({ t: 'peer-done', id: m.id, result }),
        (err: unknown) => {
          log.error(`worker: applying the admin worker's ${m.op.t}: ${SlipwayError.from(err).message}`);
          send({ t: 'peer-done', id: m.id, result: null });
        },
      );
      return;
    case 'fanout-done':
    case 'stats-sum':
      peers.onMessage(m);
      return;
    default:
      listeners.onMessage(m, handle);
  }
});
// The supervisor died: serve on (the sockets are ours too now) until the next router's supervisor
// asks for the ports (SIGUSR2); then stop listening at once, finish what is in flight, exit.
process.on('disconnect', () => {
  listeners.abandon();
  peers.abandon();
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
