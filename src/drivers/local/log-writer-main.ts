/**
 * The log writer process: one per instance process, started by the driver just before the
 * instance (docs/adr/0009-log-writer.md). It reads the instance's stdout on fd 0 and its stderr on
 * fd 3 (the other ends are the instance's fds 1 and 2), stamps each line with the time it was
 * read, appends whole lines to the stream's file and rotates the files by rename. It runs in a
 * session of its own, like the instance, so it outlives the controller; it ends when every
 * process holding the other ends (the instance and whatever it started) is gone, after writing
 * what they wrote last.
 *
 * Usage: node log-writer-main.js '{"stdout": PATH, "stderr": PATH, "maxBytes": N, "keep": N}'
 */
import { Socket } from 'node:net';
import { formatLogTime } from './log-line.js';
import { LineSplitter, RotatingLogFile, Stamper } from './log-writer.js';

interface WriterArgs {
  stdout: string;
  stderr: string;
  maxBytes: number;
  keep: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WriterArgs;
const stamper = new Stamper();
// Signals meant for a terminal or a session (the instance's group is another one) must not cut
// the log short: the writer ends when its input ends.
for (const sig of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'] as const) process.on(sig, () => undefined);

let open = 0;
function follow(fd: number, path: string): void {
  const file = new RotatingLogFile(path, args.maxBytes, args.keep);
  const lines = new LineSplitter();
  let lost = 0;
  const write = (batch: string[]) => {
    const at = stamper.next();
    try {
      if (lost > 0)
        file.writeLines([`slipway-log-writer: ${lost} line(s) lost before ${formatLogTime(at)} (the log file could not be written)`], at);
      lost = 0;
      file.writeLines(batch, at);
    } catch {
      // Disk full or the directory gone: drop the lines rather than block the instance, and say so once writing works again.
      lost += batch.length;
    }
  };
  const input = new Socket({ fd, readable: true, writable: false });
  open++;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const last = lines.end();
    if (last !== undefined) write([last]);
    file.close();
    if (--open === 0) process.exit(0);
  };
  input.on('data', (chunk: Buffer) => {
    const batch = lines.push(chunk);
    if (batch.length) write(batch);
  });
  input.on('end', end);
  input.on('close', end);
  input.on('error', () => input.destroy());
}

follow(0, args.stdout);
follow(3, args.stderr);
// Reading now: the instance's shell waits for this line before it runs the command (spawn-instance.ts).
try {
  new Socket({ fd: 4, readable: false, writable: true }).on('error', () => undefined).end('ready\n');
} catch {
  /* started without the gate: nothing waits */
}
