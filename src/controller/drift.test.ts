import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Release, ReleaseOutcome } from '../store/types.js';
import { rolledBackMatch, sourceFingerprint } from './drift.js';

function rel(number: number, outcome: ReleaseOutcome, digest = 'sha256:b', configHash = 'c'): Release {
  return {
    environment: 'local',
    service: 'web',
    number,
    digest,
    configHash,
    spec: {} as Release['spec'],
    message: '',
    createdBy: 't',
    createdAt: number,
    outcome,
    prunedAt: null,
    rollbackOf: null,
  };
}

describe('drift', () => {
  it('a newer release with this build and config that failed or was rolled back is left alone; anything else is deployed', () => {
    assert.equal(rolledBackMatch([rel(4, 'failed'), rel(3, 'live')], 3, 'sha256:b', 'c')?.number, 4);
    assert.equal(rolledBackMatch([rel(4, 'superseded'), rel(3, 'live')], 3, 'sha256:b', 'c')?.number, 4, 'undone by slipway rollback');
    assert.equal(rolledBackMatch([rel(1, 'failed')], null, 'sha256:b', 'c')?.number, 1, 'a first deploy that failed');
    assert.equal(rolledBackMatch([rel(4, 'superseded'), rel(3, 'live')], 3, 'sha256:other', 'c'), undefined, 'the source changed since');
    assert.equal(rolledBackMatch([rel(4, 'superseded'), rel(3, 'live')], 3, 'sha256:b', 'other'), undefined, 'the config changed since');
    assert.equal(rolledBackMatch([rel(3, 'live'), rel(2, 'superseded')], 3, 'sha256:b', 'c'), undefined, 'the newest serves');
    assert.equal(
      rolledBackMatch([rel(3, 'superseded'), rel(4, 'live')], 4, 'sha256:b', 'c'),
      undefined,
      'an older release is not "rolled back"',
    );
    assert.equal(rolledBackMatch([], null, 'sha256:b', 'c'), undefined);
  });

  it('the source fingerprint follows what a build copies: a change counts, node_modules and .git do not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-fp-'));
    try {
      writeFileSync(join(dir, 'server.js'), 'v1');
      const first = await sourceFingerprint(dir, undefined);
      assert.equal(await sourceFingerprint(dir, undefined), first, 'stable');
      mkdirSync(join(dir, 'node_modules'));
      writeFileSync(join(dir, 'node_modules', 'x.js'), '');
      mkdirSync(join(dir, '.git'));
      writeFileSync(join(dir, '.git', 'HEAD'), '');
      assert.equal(await sourceFingerprint(dir, undefined), first, 'node_modules and .git are not in a build');
      assert.notEqual(await sourceFingerprint(dir, 'npm ci'), first, 'the build command is part of it');
      writeFileSync(join(dir, 'server.js'), 'v2 longer');
      assert.notEqual(await sourceFingerprint(dir, undefined), first, 'a changed file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
