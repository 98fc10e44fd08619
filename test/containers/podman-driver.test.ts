/**
 * The podman driver against the whole RuntimeDriver contract, with real containers of a test image
 * (host node + sh, FROM scratch) in a scratch podman store. The release directory is mounted at
 * its own path, and the containers share the host's pid namespace, because the contract checks
 * the app's pids from the host. A container ends when its main process ends (podman's cleanup
 * then kills the rest), so a plain `node app.mjs` command is run with `exec`: the app, not a shell
 * around it, is the main process, as in a real image (the SIGTERM-ignored test needs that).
 * Skipped, with the reason, where podman cannot run containers.
 */
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../support/podman-scratch.js';
import { describeDriverContract } from '../../src/drivers/driver-contract.js';
import { PodmanDriver } from '../../src/drivers/podman/podman-driver.js';

const skip = podmanSkipReason();
let scratch: PodmanScratch | undefined;
const IMAGE = 'localhost/slipway-contract:test';
let image = '';

describeDriverContract('podman', (stateDir) => new PodmanDriver({ stateDir, cli: scratch!.cli, hostPid: true }), {
  skip,
  before: () => {
    scratch = podmanScratch();
    // By id: the driver runs pinned references only (a digest, never a moving tag).
    image = scratch.buildNodeImage(IMAGE);
  },
  after: () => scratch?.teardown(),
  // The image has the test's node at /usr/bin/node (podman-scratch.ts), wherever it is here.
  adapt: (spec) => {
    const command = spec.command.replaceAll(JSON.stringify(process.execPath), '/usr/bin/node');
    return { ...spec, image, command: command === '/usr/bin/node app.mjs' ? `exec ${command}` : command };
  },
});
