/**
 * Reads process facts from Linux /proc. A pid alone does not name a process for long: after it
 * exits, the kernel may hand the same pid to an unrelated process. The pid together with the
 * process start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) does.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The few fields of /proc/<pid>/stat the driver needs. */
export interface ProcStat {
  /** One letter: R running, S sleeping, Z zombie, … */
  state: string;
  /** Process group id. */
  pgrp: number;
  /** Start time in clock ticks after boot: with the pid, an identity no later process can share. */
  startTime: number;
}

/** Parses /proc/<pid>/stat, or returns undefined when there is no such process. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isFinite(pgrp) || !Number.isFinite(startTime)) return undefined;
  return { state, pgrp, startTime };
}

/** Whether `pid` is still the process that started at `startTime`, and not a zombie. */
export function isSameProcessAlive(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  // A zombie has exited: it only waits for a parent (maybe a non-reaping init) to collect it.
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

/**
 * Whether process group `pgid`, led by the process that started at `startTime`, may still be
 * signalled as ours. True while the leader lives; also after it exited (the group's other members
 * pin the number, so the kernel cannot reuse it), unless the pid now names a different live
 * process, which proves the number was free and reused: the group we knew is gone.
 */
export function groupStillOurs(pgid: number, startTime: number | null): boolean {
  const stat = readProcStat(pgid);
  if (stat === undefined || stat.state === 'Z') return true;
  return startTime === null || stat.startTime === startTime;
}

/**
 * Whether any live (non-zombie) process remains in process group `pgid`. `kill(-pgid, 0)` alone
 * would also count zombies, which never go away where init does not reap orphans.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

/** Sends `signal` to every process of group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
