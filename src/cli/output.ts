/**
 * Terminal output: colour only on a TTY and never with NO_COLOR; a progress line that is redrawn
 * in place on a terminal (cut to its width, so it never wraps and leaves stale copies behind) and
 * printed only when its text changes anywhere else (CI logs, pipes).
 */
export interface Output {
  color: boolean;
  tty: boolean;
  /** Progress is redrawn in place (stderr is a terminal); otherwise each change is a new line. */
  live: boolean;
  out(line?: string): void;
  err(line?: string): void;
  /** Shows a progress line: redrawn in place on a TTY, printed only when it changes otherwise. */
  progress(line: string): void;
  /** Ends the current progress line. */
  done(): void;
  paint(code: Colour, text: string): string;
}

export type Colour = 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan';

/** The part of a stream Output uses; tests pass a fake with `isTTY` and `columns`. */
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

export function colourWanted(tty: boolean, noColor: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return tty && !noColor && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
}

export function makeOutput(opts: { noColor?: boolean; stdout?: OutStream; stderr?: OutStream; env?: NodeJS.ProcessEnv } = {}): Output {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const tty = !!stdout.isTTY;
  const live = !!stderr.isTTY;
  const color = colourWanted(tty, opts.noColor, opts.env);
  let last = '';
  let open = false;
  const o: Output = {
    color,
    tty,
    live,
    out: (line = '') => {
      o.done();
      stdout.write(line + '\n');
    },
    err: (line = '') => {
      o.done();
      stderr.write(line + '\n');
    },
    progress: (line) => {
      if (live) {
        // One column less than the width: writing into the last column wraps on some terminals.
        const fitted = fitWidth(line, Math.max(10, (stderr.columns || 80) - 1));
        if (fitted === last) return;
        last = fitted;
        stderr.write(`\r\x1b[2K${fitted}`);
        open = true;
      } else {
        if (line === last) return;
        last = line;
        stderr.write(line + '\n');
      }
    },
    done: () => {
      if (open) {
        stderr.write('\n');
        open = false;
      }
      last = '';
    },
    paint: (code, text) => (color ? `\x1b[${CODES[code]}m${text}\x1b[0m` : text),
  };
  return o;
}

// eslint-disable-next-line no-control-regex -- matching terminal colour codes is the point
const SGR = /\x1b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex -- as above, anchored
const SGR_AT = /^\x1b\[[0-9;]*m/;

export function visibleLength(s: string): number {
  return [...s.replace(SGR, '')].length;
}

/** `line` cut to `width` visible characters, ending with "…" when cut; colour codes are kept and closed. */
export function fitWidth(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let n = 0;
  let coloured = false;
  for (let i = 0; i < line.length;) {
    const sgr = SGR_AT.exec(line.slice(i));
    if (sgr) {
      out += sgr[0];
      coloured = sgr[0] !== '\x1b[0m';
      i += sgr[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    if (n === width - 1) break;
    out += ch;
    n++;
    i += ch.length;
  }
  return `${out}…${coloured ? '\x1b[0m' : ''}`;
}

/** Left-aligned columns. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
