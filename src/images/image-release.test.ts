import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryFor, repositoryOf } from './image-release.js';

describe('image references', () => {
  it('the repository of a reference drops its tag and digest, not a registry port', () => {
    const d = 'sha256:' + 'b'.repeat(64);
    assert.equal(repositoryOf('registry.example.com/shop/web:1.4'), 'registry.example.com/shop/web');
    assert.equal(repositoryOf(`127.0.0.1:5000/shop/web@${d}`), '127.0.0.1:5000/shop/web');
    assert.equal(repositoryOf(`127.0.0.1:5000/shop/web:v2@${d}`), '127.0.0.1:5000/shop/web');
    assert.equal(repositoryOf('127.0.0.1:5000/web'), '127.0.0.1:5000/web');
    assert.equal(repositoryOf('web'), 'web');
  });

  it('a built image goes to <registry>/<app>/<service>, or stays local under localhost/slipway', () => {
    assert.equal(repositoryFor('shop', 'web', { url: '127.0.0.1:5000/team' }), '127.0.0.1:5000/team/shop/web');
    assert.equal(repositoryFor('shop', 'web'), 'localhost/slipway/shop-web');
  });
});
