/** Terminal output: colour only on a TTY and never with NO_COLOR; progress lines that redraw in place on a TTY. */
export interface Output {
  color: boolean;
  tty: boolean;
  out(line?: string): void;
  err(line?: string): void;
  /** Shows a progress line: redrawn in place on a TTY, printed only when it changes otherwise. */
  progress(line: string): void;
  /** Ends the current progress line. */
  done(): void;
  paint(code: 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan', text: string): string;
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;

export function makeOutput(opts: { noColor?: boolean } = {}): Output {
  const tty = !!process.stdout.isTTY;
  const color = tty && !opts.noColor && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '') && process.env.TERM !== 'dumb';
  let last = '';
  let open = false;
  const o: Output = {
    color,
    tty,
    out: (line = '') => { o.done(); process.stdout.write(line + '\n'); },
    err: (line = '') => { o.done(); process.stderr.write(line + '\n'); },
    progress: (line) => {
      if (line === last) return;
      last = line;
      if (tty) { process.stderr.write(`\r\x1b[2K${line}`); open = true; } else process.stderr.write(line + '\n');
    },
    done: () => { if (open) { process.stderr.write('\n'); open = false; } last = ''; },
    paint: (code, text) => (color ? `\x1b[${CODES[code]}m${text}\x1b[0m` : text),
  };
  return o;
}

/** Left-aligned columns. */
// eslint-disable-next-line no-control-regex -- matching terminal colour codes is the point
const ANSI = /\x1b\[[0-9;]*m/g;

export function table(rows: string[][], visibleLength: (s: string) => number = (s) => s.replace(ANSI, '').length): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell)); });
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell)))).join('  ').trimEnd()).join('\n');
}

/** The numbers behind a judgement, compactly: "rate=0.62 requests=120". */
export function formatNumbers(numbers: Record<string, number>): string {
  return Object.entries(numbers).map(([k, v]) => `${k}=${+v.toPrecision(4)}`).join(' ');
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
