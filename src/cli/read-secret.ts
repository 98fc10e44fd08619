/**
 * Reads a secret's value from standard input: never from an argument (shell history, `ps`).
 * Piped or redirected: everything up to end of input, with one trailing newline removed (what
 * `echo` and most editors add); a value that must end with a newline cannot be set this way.
 * From a terminal: one line, typed without echo.
 */
import { SlipwayError } from '../core/errors.js';
/** As secrets-commands.ts's MAX_SECRET_BYTES (not imported: that module loads age). */
const MAX_SECRET_BYTES = 64 * 1024;

export async function readSecretValue(
  name: string,
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  const text = stdin.isTTY ? await readHiddenLine(name, stdin, stderr) : await readAll(name, stdin);
  return text.replace(/\r?\n$/, '');
}

async function readAll(name: string, stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    // Bounded: a mistaken `< /dev/urandom` must not fill memory.
    if (size > MAX_SECRET_BYTES + 2) {
      stdin.destroy();
      throw SlipwayError.of(
        'SECRET_VALUE_INVALID',
        `the value given for ${name} is over ${MAX_SECRET_BYTES / 1024} KiB; nothing was changed`,
        {
          hint: 'Secrets are environment variables: keep large files in the release or elsewhere, and put a path or a key in the secret.',
        },
      );
    }
    chunks.push(b);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw SlipwayError.of('SECRET_VALUE_INVALID', `the value given for ${name} is not UTF-8 text; nothing was changed`, {
      hint: 'Environment variables hold text: encode binary values first (e.g. base64).',
    });
  }
}

function readHiddenLine(name: string, stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream): Promise<string> {
  stderr.write(`value of ${name} (not shown; Enter to finish): `);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (s: string) => {
      for (const ch of s) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(SlipwayError.of('SECRET_VALUE_INVALID', `cancelled; ${name} was not changed`));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
