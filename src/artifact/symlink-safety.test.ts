import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLink } from './symlink-safety.js';

test('symlink safety: targets inside the tree pass, absolute and escaping ones do not', () => {
  const none = new Map<string, string>();
  assert.equal(checkLink('a/b/link', '../c', none), null);
  assert.equal(checkLink('a/link', './x/../y', none), null);
  assert.equal(checkLink('link', 'missing/file', none), null); // dangling but inside
  assert.equal(checkLink('link', '/etc/passwd', none), 'absolute');
  assert.equal(checkLink('link', '..', none), 'escapes');
  assert.equal(checkLink('a/b/link', '../../../x', none), 'escapes');
  assert.equal(checkLink('a/link', 'x/../../..', none), 'escapes');
});

test('symlink safety: ".." after a link applies to the link target, as the kernel resolves it', () => {
  // a/up -> .. is the root: harmless on its own. But a/t -> up/../x climbs above the root,
  // although the text "a/up/../x" looks like "a/x".
  const links = new Map([
    ['a/up', '..'],
    ['a/t', 'up/../x'],
  ]);
  assert.equal(checkLink('a/up', '..', links), null);
  assert.equal(checkLink('a/t', 'up/../x', links), 'escapes');
});

test('symlink safety: a link through a link with an absolute target is absolute; loops are refused', () => {
  assert.equal(checkLink('x', 'etc/passwd', new Map([['etc', '/etc']])), 'absolute');
  const loop = new Map([
    ['a', 'b'],
    ['b', 'a'],
  ]);
  assert.equal(checkLink('a', 'b', loop), 'too-deep');
});
