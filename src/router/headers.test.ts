import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientResponseHeaders, isRejection, MAX_REQUEST_HEADERS, upstreamRequestHeaders, type UpstreamHead } from './headers.js';

function accepted(raw: string[], newId = () => 'gen-1'): UpstreamHead {
  const h = upstreamRequestHeaders(raw, '192.0.2.7', 'http', newId);
  if (isRejection(h)) assert.fail(`rejected: ${h.status} ${h.reason}`);
  return h;
}

test('request headers: hop-by-hop dropped, forwarding headers set, request id generated', () => {
  const head = accepted([
    'Host',
    'example.test',
    'Connection',
    'keep-alive, X-Drop',
    'X-Drop',
    '1',
    'TE',
    'trailers',
    'X-Forwarded-For',
    '10.0.0.1',
    'X-Forwarded-Host',
    'spoofed',
    'Transfer-Encoding',
    'chunked',
    'Accept',
    '*/*',
  ]);
  assert.deepEqual(head.headers, [
    'Host',
    'example.test',
    'Accept',
    '*/*',
    'Transfer-Encoding',
    'chunked',
    'X-Forwarded-For',
    '10.0.0.1, 192.0.2.7',
    'X-Forwarded-Proto',
    'http',
    'X-Forwarded-Host',
    'example.test',
    'X-Request-Id',
    'gen-1',
  ]);
  assert.equal(head.hasBody, true);
  assert.equal(head.chunked, true);
  assert.equal(head.requestId, 'gen-1');
});

test('request headers: the client request id is kept; Content-Length 0 is no body but is forwarded', () => {
  const head = accepted(['x-request-id', 'abc', 'content-length', '0'], () => 'unused');
  assert.equal(head.requestId, 'abc');
  assert.equal(head.hasBody, false);
  assert.ok(head.headers.includes('Content-Length'));
});

test('request framing comes from the parsed message: a Connection header cannot remove it', () => {
  const head = accepted(['Host', 'x', 'Connection', 'Content-Length, Transfer-Encoding, Host, X-Request-Id', 'Content-Length', '40']);
  assert.deepEqual(head.headers.slice(0, 4), ['Host', 'x', 'Content-Length', '40']);
  assert.equal(head.hasBody, true);
  assert.equal(head.chunked, false);
});

test('request framing: a header value that mentions Transfer-Encoding does not chunk the body', () => {
  const head = accepted(['Host', 'x', 'X-Foo', 'Transfer-Encoding', 'Content-Length', '5']);
  assert.equal(head.chunked, false);
  assert.equal(head.headers.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'transfer-encoding').length, 0);
  assert.deepEqual(head.headers.slice(0, 6), ['Host', 'x', 'X-Foo', 'Transfer-Encoding', 'Content-Length', '5']);
});

test('requests refused before any backend: duplicate Host, foreign transfer-codings, too many fields', () => {
  const cases: Array<[string[], number]> = [
    [['Host', 'a', 'Host', 'b'], 400],
    [['Host', 'a', 'Transfer-Encoding', 'gzip, chunked'], 501],
    [['Host', 'a', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], 501],
    [['Host', 'a', 'Content-Length', '5', 'Content-Length', '5'], 400],
    [['Host', 'a', 'Content-Length', '5', 'Transfer-Encoding', 'chunked'], 400],
    [['Host', 'a', ...Array.from({ length: MAX_REQUEST_HEADERS }, (_, i) => [`X-${i}`, 'v']).flat()], 431],
  ];
  for (const [raw, status] of cases) {
    const h = upstreamRequestHeaders(raw, '::1', 'http', () => 'id');
    assert.ok(isRejection(h), `${raw.slice(0, 6).join(' ')} was accepted`);
    assert.equal(h.status, status, raw.slice(0, 6).join(' '));
  }
});

test('response headers: hop-by-hop, framing and upstream request id dropped; ours and the parsed length added', () => {
  assert.deepEqual(
    clientResponseHeaders(
      [
        'Content-Type',
        'text/plain',
        'Keep-Alive',
        'timeout=5',
        'Connection',
        'X-Secret, Content-Length',
        'X-Secret',
        's',
        'X-Request-Id',
        'other',
        'Transfer-Encoding',
        'chunked',
      ],
      'rid',
    ),
    ['Content-Type', 'text/plain', 'X-Request-Id', 'rid'],
  );
  assert.deepEqual(clientResponseHeaders(['Content-Length', '5'], 'rid', 5), ['Content-Length', '5', 'X-Request-Id', 'rid']);
  assert.deepEqual(clientResponseHeaders(['Content-Length', '0'], 'rid', 0, 204), ['X-Request-Id', 'rid']);
});
