/**
 * A bounded run of the seeded HTTP fuzzer (conformance/fuzz.ts) through the router. A longer run:
 * `npm run fuzz -- --cases 5000 --seed N`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fuzz } from './conformance/fuzz.js';
import { RecordingBackend } from './conformance/recording-backend.js';
import { route, startRouter, type RouterFixture } from './helpers.js';

let backend: RecordingBackend;
let router: RouterFixture;
let port = 0;

before(async () => {
  backend = await new RecordingBackend().start();
  router = await startRouter(['--grace-ms', '1000', '--upstream-timeout-ms', '2000', '--body-timeout-ms', '1000']);
  port = (
    await router.router.applyRoute(
      route('fuzz', [{ release: 1, weight: 1, backends: [{ id: 'b1', host: '127.0.0.1', port: backend.port }] }]),
    )
  ).listen.port;
});

after(async () => {
  await router?.close();
  await backend?.close();
});

test('seeded fuzzing of requests and responses finds no smuggling and no cross-client bytes', async () => {
  const seed = 20261129;
  const stats = await fuzz(port, backend, seed, 240);
  console.log(
    `fuzz: seed ${seed}, ${stats.cases} cases, ${stats.forwarded} forwarded, ${stats.rejected} rejected, ${stats.failures.length} failures`,
  );
  assert.deepEqual(stats.failures, []);
  // The mutations must exercise both sides of the oracle.
  assert.ok(stats.forwarded > 20 && stats.rejected > 20, `forwarded ${stats.forwarded}, rejected ${stats.rejected}`);
});
