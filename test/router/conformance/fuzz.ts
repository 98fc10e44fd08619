/**
 * A seeded fuzzer over the conformance oracle. Request cases mutate a valid request (header order,
 * case, whitespace, duplicates, framing, line endings, Connection lists, upgrades) whose body
 * carries a would-be smuggled request; response cases mutate a backend's answer (framing,
 * trailers, extra bytes, interim answers). Oracle: the backend never receives framing a lenient
 * backend could read differently, never a request a strict reading of the client's bytes does not
 * contain, never other body bytes; and the next client always gets exactly its own answer.
 */
import { seededRandom } from '../../../src/core/seeded-random.js';
import { exchangeRaw } from './raw-client.js';
import { echo, parseRequest, type RecordingBackend } from './recording-backend.js';

export interface FuzzStats {
  cases: number;
  forwarded: number;
  rejected: number;
  failures: string[];
}

const SMUGGLE = 'GET /SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n';

type Header = [string, string];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomCase(r: () => number, name: string): string {
  return [...name].map((c) => (r() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
}

function chunk(body: string, r: () => number): string {
  let out = '';
  for (let i = 0; i < body.length;) {
    const n = Math.min(body.length - i, 1 + Math.floor(r() * 20));
    const size = pick(r, [n.toString(16), n.toString(16).toUpperCase(), `0${n.toString(16)}`, `${n.toString(16)};ext=1`]);
    out += `${size}\r\n${body.slice(i, i + n)}\r\n`;
    i += n;
  }
  return `${out}0\r\n\r\n`;
}

const FRAMING_MUTATIONS: Array<(h: Header[], body: string, r: () => number) => { headers: Header[]; body: string }> = [
  (h, body) => ({ headers: [...h, ['Content-Length', String(body.length)]], body }),
  (h, body, r) => ({ headers: [...h, ['Transfer-Encoding', 'chunked']], body: chunk(body, r) }),
  (h, body, r) => ({
    headers: [
      ...h,
      [
        'Transfer-Encoding',
        pick(r, [
          ' chunked',
          'chunked ',
          '\tchunked',
          'Chunked',
          'chunked, identity',
          'identity, chunked',
          'x-chunked',
          'chunked, chunked',
          'gzip, chunked',
        ]),
      ],
    ],
    body: chunk(body, r),
  }),
  (h, body, r) => ({
    headers: [...h, ['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']],
    body: r() < 0.5 ? body : chunk(body, r),
  }),
  (h, body, r) => ({
    headers: [...h, ['Transfer-Encoding', 'chunked'], ['Content-Length', String(body.length)]],
    body: r() < 0.5 ? body : chunk(body, r),
  }),
  (h, body, r) => ({
    headers: [...h, ['Content-Length', String(body.length)], ['Content-Length', String(pick(r, [body.length, body.length - 1, 0]))]],
    body,
  }),
  (h, body, r) => ({
    headers: [
      ...h,
      [
        'Content-Length',
        pick(r, [
          `0${body.length}`,
          `+${body.length}`,
          `${body.length} `,
          ` ${body.length}`,
          `${body.length}.0`,
          `0x${body.length.toString(16)}`,
          `${body.length}, ${body.length}`,
        ]),
      ],
    ],
    body,
  }),
  (h, body) => ({ headers: h, body }), // no framing: the body is the next request
  (h, body, r) => ({
    headers: [
      ...h,
      ['Content-Length', String(body.length)],
      ['Connection', pick(r, ['Content-Length', 'Transfer-Encoding', 'Host', 'Content-Length, X-A', 'close, Content-Length'])],
    ],
    body,
  }),
  (h, body, r) => ({
    headers: [...h, ['X-Foo', pick(r, ['Transfer-Encoding', 'chunked', 'Content-Length: 0'])], ['Content-Length', String(body.length)]],
    body,
  }),
  (h, body, r) => ({
    headers: [
      ...h,
      ['Connection', 'Upgrade'],
      ['Upgrade', pick(r, ['h2c', 'websocket', 'TLS/1.0'])],
      ['Content-Length', String(body.length)],
    ],
    body,
  }),
];

/** One mutated request as raw bytes, and whether its body holds the smuggle payload. */
export function fuzzRequest(r: () => number, n: number): string {
  const method = pick(r, ['POST', 'PUT', 'GET', 'DELETE', 'PATCH']);
  let headers: Header[] = [
    ['Host', 'x'],
    ['X-A', 'a'],
    ['Accept', '*/*'],
    ['User-Agent', 'fuzz'],
  ];
  const body = `${'b'.repeat(Math.floor(r() * 8))}${SMUGGLE}`;
  const framed = pick(r, FRAMING_MUTATIONS)(headers, body, r);
  headers = framed.headers;
  if (r() < 0.5) headers = headers.map(([k, v]) => [randomCase(r, k), v]);
  if (r() < 0.3) headers = headers.sort(() => r() - 0.5);
  if (r() < 0.2) headers.push(pick(r, headers));
  if (r() < 0.2) headers = headers.map(([k, v]) => [k, pick(r, [v, ` ${v}`, `${v} `, `\t${v}`])]);
  let head = `${method} /fuzz-${n} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  const lineMutation = r();
  if (lineMutation < 0.05) head = head.replace('\r\n', '\n');
  else if (lineMutation < 0.1) head = head.replace(/\r\n(?=[^\r\n]*\r\n\r\n$)/, '\r\n ');
  else if (lineMutation < 0.13) head = head.replace(': ', ' : ');
  return head + framed.body;
}

/** The requests a strict reading of `bytes` finds (as far as it can read them). */
function strictReading(bytes: Buffer): Array<{ target: string; body: string }> {
  const out: Array<{ target: string; body: string }> = [];
  let buf = bytes;
  for (;;) {
    const p = parseRequest(buf);
    if (typeof p === 'string') return out;
    out.push({ target: p.request.target, body: p.request.body.toString('latin1') });
    buf = buf.subarray(p.consumed);
  }
}

const RESPONSE_MUTATIONS: Array<(r: () => number) => { raw: string; body: string | null }> = [
  () => ({ raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', body: 'hello' }),
  (r) => ({
    raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('hello', r).replace(/0\r\n\r\n$/, '0\r\nSet-Cookie: sid=ATTACKER\r\n\r\n')}`,
    body: 'hello',
  }),
  () => ({ raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', body: null }),
  () => ({ raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', body: null }),
  () => ({ raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nATTACKER', body: 'hello' }),
  () => ({ raw: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', body: 'hello' }),
  (r) => ({
    raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: ${pick(r, ['gzip, chunked', 'chunked, gzip', 'identity'])}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    body: null,
  }),
  () => ({ raw: 'HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 5\r\n\r\nhello', body: null }),
  () => ({ raw: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nATTACKER', body: null }),
  () => ({ raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: Content-Length\r\n\r\nhelloATTACKER', body: 'hello' }),
];

async function victimOk(port: number, n: number): Promise<boolean> {
  const v = await exchangeRaw(port, [{ send: `GET /victim-f${n} HTTP/1.1\r\nHost: x\r\n\r\n` }], { wantResponses: 1, deadlineMs: 5000 });
  const res = v.responses[0];
  return (
    v.responses.length === 1 &&
    res!.status === 200 &&
    res!.body.toString() === `echo GET /victim-f${n} 0\n` &&
    !res!.raw.includes('ATTACKER')
  );
}

/** Runs `count` request cases and `count / 4` response cases through `port` to `backend`. */
export async function fuzz(port: number, backend: RecordingBackend, seed: number, count: number): Promise<FuzzStats> {
  const r = seededRandom(seed);
  const stats: FuzzStats = { cases: 0, forwarded: 0, rejected: 0, failures: [] };
  for (let n = 0; n < count; n++) {
    const bytes = Buffer.from(fuzzRequest(r, n), 'latin1');
    backend.reset(echo);
    const res = await exchangeRaw(port, [{ send: bytes }], { wantResponses: 1, deadlineMs: 3000 });
    const got = backend.requests.map((q) => ({ target: q.target, body: q.body.toString('latin1') }));
    const strict = strictReading(bytes);
    const problem =
      backend.violations.length > 0
        ? `ambiguous framing reached the backend: ${backend.violations[0]}`
        : got.length > strict.length
          ? `the backend received ${got.length} request(s), a strict reading finds ${strict.length}`
          : got.some((g, i) => g.target !== strict[i]!.target || g.body !== strict[i]!.body)
            ? `the backend received ${JSON.stringify(got)}, a strict reading finds ${JSON.stringify(strict)}`
            : !(await victimOk(port, n))
              ? 'the next client did not get exactly its own answer'
              : null;
    stats.cases++;
    if (got.length > 0) stats.forwarded++;
    else if (res.responses[0] !== undefined && res.responses[0].status >= 400) stats.rejected++;
    if (problem !== null) stats.failures.push(`seed ${seed} request case ${n}: ${problem}\n${JSON.stringify(bytes.toString('latin1'))}`);
  }
  for (let n = 0; n < Math.ceil(count / 4); n++) {
    const m = pick(r, RESPONSE_MUTATIONS)(r);
    backend.reset((q, s) => (q.target.startsWith('/victim') ? echo(q, s) : m.raw));
    const res = await exchangeRaw(port, [{ send: `GET /resp-${n} HTTP/1.1\r\nHost: x\r\n\r\n` }], { wantResponses: 1, deadlineMs: 3000 });
    const first = res.responses[0];
    const leaked = res.responses.some((x) => x.raw.includes('ATTACKER')) || res.rest.includes('ATTACKER');
    const problem = leaked
      ? 'the client received bytes the backend sent beyond its answer'
      : m.body === null
        ? first !== undefined && first.status !== 502
          ? `a malformed answer was relayed as ${first.status}`
          : null
        : first === undefined || first.status !== 200 || first.body.toString() !== m.body
          ? `expected 200 "${m.body}", got ${first?.status} ${JSON.stringify(first?.body.toString())}`
          : null;
    const finalProblem = problem ?? (!(await victimOk(port, 100_000 + n)) ? 'the next client did not get exactly its own answer' : null);
    stats.cases++;
    if (first?.status === 502) stats.rejected++;
    else stats.forwarded++;
    if (finalProblem !== null) stats.failures.push(`seed ${seed} response case ${n}: ${finalProblem}\n${JSON.stringify(m.raw)}`);
  }
  return stats;
}
