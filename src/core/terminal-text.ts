/**
 * Text that came from people or programs (release messages, names, log lines, error messages
 * quoting input) is printed to a terminal as text, never as commands to the terminal: an ESC
 * could start a CSI/OSC sequence that moves the cursor, retitles the window, writes a hyperlink
 * or (on some terminals) the clipboard. Every control character is shown as a visible escape
 * instead (`\x1b`, `\x07`, `\u009b`), and so are the bidirectional overrides that make a line
 * read differently from what it holds ("Trojan source").
 */

// C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate marks.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- same, with newline and tab included
const UNSAFE_IN_LINE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\t') return '\\t';
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/**
 * `value` as text safe to print: control characters shown as escapes, newlines and tabs kept.
 * Anything that is not a string (null, undefined, a number from a malformed record) becomes ''
 * or its plain string form, so a renderer never prints "undefined" because a field was missing.
 */
export function terminalText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(UNSAFE, visible);
}

/** Like terminalText, for one line of a table or a progress line: newlines and tabs are escaped too. */
export function terminalLine(value: unknown): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(UNSAFE_IN_LINE, visible);
}
