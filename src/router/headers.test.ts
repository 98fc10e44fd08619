import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';

test('request headers: hop-by-hop dropped, forwarding headers set, request id generated', () => {
  const head = upstreamRequestHeaders(
    ['Host', 'example.test', 'Connection', 'keep-alive, X-Drop', 'X-Drop', '1', 'TE', 'trailers', 'X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Host', 'spoofed', 'Transfer-Encoding', 'chunked', 'Accept', '*/*'],
    '192.0.2.7', 'http', () => 'gen-1',
  );
  assert.deepEqual(head.headers, ['Host', 'example.test', 'Accept', '*/*', 'Transfer-Encoding', 'chunked', 'X-Forwarded-For', '10.0.0.1, 192.0.2.7', 'X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'example.test', 'X-Request-Id', 'gen-1']);
  assert.equal(head.hasBody, true);
  assert.equal(head.requestId, 'gen-1');
});

test('request headers: the client request id is kept; Content-Length 0 is no body', () => {
  const head = upstreamRequestHeaders(['x-request-id', 'abc', 'content-length', '0'], '::1', 'http', () => 'unused');
  assert.equal(head.requestId, 'abc');
  assert.equal(head.hasBody, false);
});

test('response headers: hop-by-hop and upstream request id dropped, ours added', () => {
  assert.deepEqual(
    clientResponseHeaders(['Content-Type', 'text/plain', 'Keep-Alive', 'timeout=5', 'Connection', 'X-Secret', 'X-Secret', 's', 'X-Request-Id', 'other', 'Transfer-Encoding', 'chunked'], 'rid'),
    ['Content-Type', 'text/plain', 'X-Request-Id', 'rid'],
  );
});
