/**
 * The one place remote command lines are made (ADR 0020). SSH sends a command as one string that
 * the remote login shell parses, so every argument is single-quoted here: inside single quotes a
 * POSIX shell gives no character a meaning (no `$`, backquote, `;`, newline or glob), and a single
 * quote itself is closed, escaped and reopened (`'\''`). Commands that need shell syntax (pipes,
 * redirections, `&`) are a constant script run as `sh -c SCRIPT sh ARG…`, which sees the values
 * only as its positional parameters "$1", "$2", …: config values never become shell text.
 */

/** One argument, quoted for a POSIX shell. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('a command argument cannot contain a NUL byte');
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The command line that runs exactly `argv` on the remote side (argv[0] is the program). */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(shellQuote).join(' ');
}

/** argv running a constant shell `script` with `args` as its "$1", "$2", … */
export function shellScript(script: string, args: readonly string[] = []): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
