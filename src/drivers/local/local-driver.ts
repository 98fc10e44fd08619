/**
 * The local driver: instances are processes on this machine.
 *
 * Each instance is `/bin/sh -c <command>` in its own process group (so stop reaches everything it
 * started), detached and unref'd (so it outlives the controller), its output going to a log writer
 * process of its own (no pipes to the controller; docs/adr/0009-log-writer.md). Every instance is recorded in `<stateDir>/instances.json`
 * (pid + process start time, port, state), which lets a restarted controller adopt the instances
 * still running instead of starting them again. See docs/adr/0002-local-driver-process-model.md.
 * Supervision (restarts, crash loops, adoption) is `SupervisedDriver`'s; this file says how a
 * process is started, watched and ended.
 */
import type { InstanceRecord } from './instance-store.js';
import { groupStillOurs, signalGroup } from './proc.js';
import { spawnInstance } from './spawn-instance.js';
import { terminateGroup } from './terminate-group.js';
import type { InstanceRuntime } from '../supervision/instance-runtime.js';
import { SupervisedDriver, type SupervisedDriverProps } from '../supervision/supervised-driver.js';

export interface LocalDriverProps extends SupervisedDriverProps {
  /** How often an adopted process (not our child, so no exit event) is checked for life. @default 200 */
  adoptedPollMs?: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class LocalDriver extends SupervisedDriver {
  constructor(props: LocalDriverProps) {
    super(props, processRuntime(props.adoptedPollMs ?? 200));
  }
}

/** Instances as process groups led by `/bin/sh -c <command>`. */
function processRuntime(adoptedPollMs: number): InstanceRuntime {
  return {
    driverClass: 'LocalDriver',
    driverName: 'local driver',
    idPattern: ID,
    idUsedIn: 'a file name',
    pollMs: adoptedPollMs,
    sameSpec: ({ spec: a }, b) => a.command === b.command && a.releaseDir === b.releaseDir && a.release === b.release,
    launch(rec, secretEnv, run) {
      const { child, writer } = spawnInstance(rec.spec, rec.port, run.logs, secretEnv);
      run.logWriter(writer);
      run.running(child.pid);
      child.once('exit', (code, signal) => run.exited({ code, signal }));
      child.once('error', (e) => {
        // Only spawn failures leave no pid; put the reason where `logTail` will show it.
        if (child.pid === undefined) run.failed(e.message);
      });
      run.onUnwatch(() => child.removeAllListeners('exit'));
    },
    reap(rec, exit) {
      // The shell is gone; anything it left running in its group would hold the port the restart
      // needs, and keep the log writer waiting on its output.
      endGroup(rec);
      return exit;
    },
    async terminate(rec, timeoutMs) {
      if (rec.pid !== null && groupStillOurs(rec.pid, rec.procStartTime)) await terminateGroup(rec.pid, timeoutMs);
    },
    discard: endGroup,
  };
}

function endGroup(rec: InstanceRecord): void {
  if (rec.pid !== null && groupStillOurs(rec.pid, rec.procStartTime)) signalGroup(rec.pid, 'SIGKILL');
}
