/**
 * The seed of the remote driver: one instance process on a host without systemd, started detached
 * (`setsid`, every descriptor redirected, or the SSH channel would stay open), its pid file holding
 * the pid and the process's start time (field 22 of /proc/PID/stat). PIDs are reused, and after a
 * host reboot they start low again, so a pid alone would name some other process: an instance is
 * running only when a process with that pid exists *and* started at that time (and is no zombie).
 * Stop signals the whole process group (the instance is its leader), then kills it after a grace.
 */
import { shellScript } from '../ssh/quote.js';
import type { RemoteHost } from '../ssh/transport.js';

export interface RemoteProcessSpec {
  /** Instance name: the pid file is `<runDir>/<name>.pid`. Letters, digits, `.`, `_`, `-`. */
  name: string;
  runDir: string;
  /** Working directory (the release). */
  cwd: string;
  /** Where stdout and stderr go (appended). */
  logFile: string;
  argv: string[];
  env?: Record<string, string>;
}

export type RemoteProcessState = { state: 'running'; pid: number } | { state: 'stopped' };

/** Reads "PID STARTTIME" from the pid file; prints "running PID" only if that very process lives. */
const STATUS_FN = `status() {
  [ -f "$1" ] || return 1
  read -r pid st < "$1" || return 1
  line=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || return 1
  set -- $line
  [ "$1" != Z ] || return 1
  shift 19
  [ "$1" = "$st" ] || return 1
  echo "$pid"
}`;

const START = `${STATUS_FN}
run=$1; name=$2; cwd=$3; log=$4; shift 4
mkdir -p "$run"
if pid=$(status "$run/$name.pid"); then echo "running $pid"; exit 0; fi
cd "$cwd" || exit 3
setsid "$@" </dev/null >>"$log" 2>&1 &
pid=$!
st=$(sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
printf '%s %s\\n' "$pid" "$st" > "$run/$name.pid.tmp" && mv -f "$run/$name.pid.tmp" "$run/$name.pid"
echo "started $pid"`;

const STATUS = `${STATUS_FN}
if pid=$(status "$1/$2.pid"); then echo "running $pid"; else echo stopped; fi`;

const STOP = `${STATUS_FN}
f="$1/$2.pid"; grace=$3
if pid=$(status "$f"); then
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  i=0
  while status "$f" >/dev/null && [ "$i" -lt "$grace" ]; do sleep 0.1; i=$((i + 1)); done
  if status "$f" >/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; echo killed; else echo stopped; fi
else echo "not running"; fi
rm -f "$f"`;

const NAME = /^[A-Za-z0-9._-]+$/;

function checkName(name: string): void {
  if (!NAME.test(name)) throw new Error(`instance name "${name}" must be letters, digits, ".", "_" and "-"`);
}

/** Starts the instance unless that very process already runs; returns its pid. */
export async function startRemoteProcess(host: RemoteHost, spec: RemoteProcessSpec): Promise<{ pid: number; started: boolean }> {
  checkName(spec.name);
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const argv = env.length ? ['env', ...env, ...spec.argv] : spec.argv;
  const out = (await host.run(shellScript(START, [spec.runDir, spec.name, spec.cwd, spec.logFile, ...argv]))).stdout.trim().split(' ');
  return { pid: Number(out[1]), started: out[0] === 'started' };
}

export async function remoteProcessState(host: RemoteHost, runDir: string, name: string): Promise<RemoteProcessState> {
  checkName(name);
  const out = (await host.run(shellScript(STATUS, [runDir, name]))).stdout.trim().split(' ');
  return out[0] === 'running' ? { state: 'running', pid: Number(out[1]) } : { state: 'stopped' };
}

/** TERM to the instance's process group, KILL after `graceMs`; says which it took. */
export async function stopRemoteProcess(
  host: RemoteHost,
  runDir: string,
  name: string,
  graceMs = 10_000,
): Promise<'stopped' | 'killed' | 'not running'> {
  checkName(name);
  const out = (
    await host.run(shellScript(STOP, [runDir, name, String(Math.ceil(graceMs / 100))]), { timeoutMs: graceMs + 30_000 })
  ).stdout.trim();
  return out as 'stopped' | 'killed' | 'not running';
}
