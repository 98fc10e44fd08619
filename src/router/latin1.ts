/**
 * Copies a string's latin1 bytes into `buf` at `at` and returns the offset after them (a character
 * past U+00FF keeps its low byte, as Node's 'latin1' writes do). Heads are built this way, piece by
 * piece into the buffer that leaves in one write, instead of by concatenating strings that V8 must
 * then flatten: both cost an allocation per message on the proxy's hot path.
 */
export function latin1(buf: Buffer, at: number, s: string): number {
  const n = s.length;
  // A loop beats the call into C++ for the short strings heads are made of.
  if (n > 48) return at + buf.write(s, at, n, 'latin1');
  for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
  return at + n;
}

/** Writes `name: value` and CRLF into `buf` at `at`; returns the offset after them. */
export function headerLine(buf: Buffer, at: number, name: string, value: string): number {
  at = latin1(buf, at, name);
  buf[at++] = 0x3a; // ':'
  buf[at++] = 0x20;
  at = latin1(buf, at, value);
  buf[at++] = 0x0d;
  buf[at++] = 0x0a;
  return at;
}
