/**
 * Probes one instance once: HTTP GET, TCP connect or a shell command. Never throws: every outcome,
 * including a timeout or an abort, is a ProbeResult whose `detail` says what happened.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { HealthCheck, ProbeResult, ProbeTarget } from './health-check.js';

/** Bytes of an HTTP body or command output quoted in `detail`. Enough to read an error message. */
const EXCERPT_BYTES = 256;

/** Runs one probe of `check` against `target`. Aborting `signal` ends it early as a failure. */
export function probe(check: HealthCheck, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let cleanup = () => {};
    const finish = (ok: boolean, detail: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cleanup();
      resolve({ ok, detail, durationMs: elapsed() });
    };
    const timer = setTimeout(() => finish(false, `timed out after ${check.timeoutMs}ms`), check.timeoutMs);
    const onAbort = () => finish(false, 'aborted');
    if (signal?.aborted) return finish(false, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    const run = check.kind === 'http' ? probeHttp : check.kind === 'tcp' ? probeTcp : probeCommand;
    cleanup = run(check as never, target, finish, elapsed);
  });
}

type Finish = (ok: boolean, detail: string) => void;
/** Starts a probe; returns a function that releases whatever it holds (called once, on any outcome). */
type Runner<C> = (check: C, target: ProbeTarget, finish: Finish, elapsed: () => number) => () => void;

const probeHttp: Runner<{ path: string }> = (check, target, finish, elapsed) => {
  // agent: false and Connection: close: a probe must not keep a pooled socket open to an instance
  // that may be draining or about to stop.
  const req = request({
    host: target.host,
    port: target.port,
    path: check.path,
    method: 'GET',
    agent: false,
    headers: { connection: 'close' },
  });
  req.on('response', (res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      const status = res.statusCode ?? 0;
      const body = excerpt(Buffer.concat(chunks));
      const ok = status >= 200 && status < 300;
      finish(ok, `GET ${check.path} → ${status} in ${elapsed()}ms${body ? `: ${body}` : ''}`);
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      // Only an excerpt is reported, so stop reading rather than download a large page.
      if (size >= EXCERPT_BYTES) done();
    });
    res.on('end', done);
    res.on('error', done);
  });
  req.on('error', (err: NodeJS.ErrnoException) => finish(false, `GET ${check.path}: ${err.code ?? err.message}`));
  req.end();
  return () => req.destroy();
};

const probeTcp: Runner<unknown> = (_check, target, finish, elapsed) => {
  const socket = connect({ host: target.host, port: target.port });
  socket.on('connect', () => finish(true, `connected in ${elapsed()}ms`));
  socket.on('error', (err: NodeJS.ErrnoException) => finish(false, `connect ${err.code ?? err.message}`));
  return () => socket.destroy();
};

const probeCommand: Runner<{ command: string }> = (check, target, finish) => {
  // Own process group, so a timeout kills the shell and everything it started, not just /bin/sh.
  const child = spawn('/bin/sh', ['-c', check.command], {
    cwd: target.cwd,
    env: { ...process.env, ...target.env, PORT: String(target.port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: Buffer[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk);
    if (output.length > 64) output.splice(0, output.length - 64);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exitCode: number | null = null;
  let exitSignal: string | null = null;
  child.on('error', (err) => finish(false, `spawn failed: ${err.message}`));
  child.on('exit', (code, signal) => {
    exitCode = code;
    exitSignal = signal;
    // Background children of the command would hold the output pipes open and delay 'close'.
    killGroup(child.pid);
  });
  child.on('close', () => {
    const out = excerpt(Buffer.concat(output), true);
    if (exitCode === 0) finish(true, `exit 0${out ? `: ${out}` : ''}`);
    else finish(false, `${exitSignal ? `killed by ${exitSignal}` : `exit ${exitCode}`}${out ? `: ${out}` : ''}`);
  });
  return () => killGroup(child.pid);
};

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** A short, single-line excerpt: the start of a body, or the end of command output (where errors are). */
function excerpt(buf: Buffer, tail = false): string {
  const slice = tail ? buf.subarray(Math.max(0, buf.length - EXCERPT_BYTES)) : buf.subarray(0, EXCERPT_BYTES);
  return slice.toString('utf8').replace(/\s+/g, ' ').trim();
}
