import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, editDistance } from './suggest.js';

const KEYS = ['source', 'build', 'start', 'instances', 'port', 'host', 'env', 'health', 'strategy', 'stopTimeout'];

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.equal(editDistance('sorce', 'source'), 1);
  assert.equal(editDistance('soruce', 'source'), 1);
  assert.equal(editDistance('', 'env'), 3);
});

test('close typos find the intended key; unrelated words find nothing', () => {
  assert.equal(closest('sorce', KEYS), 'source');
  assert.equal(closest('Start', KEYS), 'start');
  assert.equal(closest('instnaces', KEYS), 'instances');
  assert.equal(closest('stoptimeout', KEYS), 'stopTimeout');
  assert.equal(closest('prot', KEYS), 'port');
  assert.equal(closest('colour', KEYS), undefined);
  assert.equal(closest('hose', ['port']), undefined, 'short words allow one edit only');
});
