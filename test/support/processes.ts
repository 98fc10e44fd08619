import { readdirSync, readFileSync } from 'node:fs';
import { pidAlive } from '../../src/core/process.js';

/** Live processes whose command line has `arg` as one of its arguments (e.g. a router's state directory). */
export function processesWithArg(arg: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(arg) && pidAlive(Number(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}
