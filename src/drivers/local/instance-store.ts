/**
 * The driver's durable memory: `<stateDir>/instances.json`, written atomically on every change, so
 * a controller started after a crash knows which processes are its instances (pid + start time),
 * on which ports, and in which state.
 */
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../core/atomic-file.js';
import { SlipwayError } from '../../core/errors.js';
import type { ExitInfo, InstanceSpec, InstanceState } from '../driver.js';

/** Format version of instances.json; bump it and migrate in `load` when the shape changes. */
export const INSTANCES_FILE_VERSION = 1;

/** What is recorded about one instance. */
export interface InstanceRecord {
  spec: InstanceSpec;
  /** The port actually given (spec.port, or the one picked): kept across restarts for the router. */
  port: number;
  /** Pid of the process group leader (the /bin/sh), null while not running. */
  pid: number | null;
  /** Start time of `pid` from /proc/<pid>/stat field 22, to tell it from a later process with the same pid. */
  procStartTime: number | null;
  /** Clock time of the latest start. */
  startedAt: number;
  restarts: number;
  state: Exclude<InstanceState, 'stopped'>;
  lastExit: ExitInfo | null;
  /** Consecutive exits within the crash-loop window (see restart-policy.ts). */
  quickExits: number;
  /** Times found crash-looping since it last ran long; drives the retry backoff. Absent in files written before healing. */
  crashLoops?: number;
  /** Clock time the next restart is due, null when none is planned. Absent in files written before healing. */
  nextRestartAt?: number | null;
  /** The log writer of the current process (pid + start time), waited for after an exit. Absent in files written before it. */
  logWriter?: { pid: number; procStartTime: number } | null;
  /** Set before stop signals the process: a controller restarted mid-stop must not restart it. */
  stopRequested: boolean;
}

interface InstancesFile {
  version: number;
  instances: InstanceRecord[];
}

export class InstanceStore {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'instances.json');
  }

  load(): InstanceRecord[] {
    let file: InstancesFile | undefined;
    try {
      file = readJsonIfExists<InstancesFile>(this.path);
    } catch (err) {
      throw SlipwayError.of('DRIVER_STATE_UNREADABLE', `cannot read ${this.path}: ${(err as Error).message}`, {
        cause: err,
        hint: 'The file is written atomically, so this means it was edited or the disk is failing. Move it aside to start with no known instances (running ones will not be adopted).',
      });
    }
    if (file === undefined) return [];
    if (file.version !== INSTANCES_FILE_VERSION) {
      throw SlipwayError.of(
        'DRIVER_STATE_VERSION',
        `${this.path} has format version ${String(file.version)}; this Slipway reads version ${INSTANCES_FILE_VERSION}`,
        {
          hint: 'Run the Slipway version that wrote it, or upgrade this one.',
        },
      );
    }
    return file.instances;
  }

  save(records: Iterable<InstanceRecord>): void {
    writeJsonAtomic(this.path, { version: INSTANCES_FILE_VERSION, instances: [...records] } satisfies InstancesFile);
  }
}
